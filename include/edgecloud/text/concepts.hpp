// SPDX-License-Identifier: Apache-2.0
// The plug-point concepts of the text layer; re-exported by edgecloud/concepts.hpp.
//
// Tokenizer: what generation needs from a tokenizer. Text in (with an explicit trust mode, see
// encode_mode.hpp), ids out; ids back to text; the raw bytes of one token for streaming; the
// vocabulary size (ids >= size() are invalid) and the end-of-sequence id. text::tokenizer is the
// default implementation (static_assert in text.hpp).
#pragma once

#include <edgecloud/text/encode_mode.hpp>

#include <concepts>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace edgecloud::text {

template <class T>
concept Tokenizer = requires(const T& t, std::string_view s, std::span<const int32_t> ids,
                             int32_t id, std::vector<int32_t>& out) {
  { t.encode(s, encode_mode::trusted) } -> std::same_as<std::vector<int32_t>>;
  { t.encode(s, encode_mode::untrusted, out) } -> std::same_as<void>;
  { t.decode(ids) } -> std::convertible_to<std::string>;
  { t.token_bytes(id) } -> std::convertible_to<std::string_view>;
  { t.size() } -> std::convertible_to<size_t>;
  { t.eos_id() } -> std::convertible_to<int32_t>;
  { t.is_control(id) } -> std::convertible_to<bool>;
};

}  // namespace edgecloud::text
