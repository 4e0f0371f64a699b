// SPDX-License-Identifier: Apache-2.0
// libFuzzer target for the GGUF reader: any input either opens (and then every value and every
// tensor byte it hands out must be readable) or throws model_error. Anything else — a crash, an
// out-of-bounds read (ASan), undefined behaviour (UBSan), another exception type, a huge
// allocation (-rss_limit_mb) — is a finding. Seeds: tests/fuzz/corpus/gguf/ (tiny files made by
// gguf::writer, see tests/fuzz/make_gguf_corpus.cpp).
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <edgecloud/model/gguf.hpp>
#include <vector>

namespace {

uint64_t touch(const edgecloud::gguf::metadata_value& v, int depth) {
  using edgecloud::gguf::value_type;
  uint64_t h = static_cast<uint64_t>(v.type);
  if (v.type == value_type::array) {
    for (const auto& e : v.elements()) h += touch(e, depth + 1);
  } else if (v.type == value_type::string) {
    auto s = v.as_string();
    for (char c : s) h += static_cast<unsigned char>(c);
  } else {
    h += static_cast<uint64_t>(v.as_int().value_or(0));
    h += v.as_uint().value_or(0);
    double d = v.as_double().value_or(0);
    uint64_t bits;
    std::memcpy(&bits, &d, 8);
    h += bits;
  }
  return h;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  namespace gguf = edgecloud::gguf;
  try {
    auto f = gguf::file::from_memory({reinterpret_cast<const std::byte*>(data), size});
    volatile uint64_t h = f.version() + f.alignment() + f.data_offset();
    for (const auto& e : f.metadata()) {
      h = h + e.key.size() + touch(e.value, 0);
      const auto& v = e.value;
      // Typed accessors: each either answers or throws model_error.
      try {
        h = h + f.get_uint(e.key).value_or(0);
      } catch (const edgecloud::model_error&) {
      }
      try {
        h = h + static_cast<uint64_t>(f.get_int(e.key).value_or(0));
      } catch (const edgecloud::model_error&) {
      }
      try {
        h = h + static_cast<uint64_t>(f.get_float(e.key).value_or(0));
      } catch (const edgecloud::model_error&) {
      }
      try {
        h = h + f.get_string(e.key).value_or("").size();
      } catch (const edgecloud::model_error&) {
      }
      try {
        h = h + f.get_bool(e.key).value_or(false);
      } catch (const edgecloud::model_error&) {
      }
      try {
        h = h + f.get_string_array(e.key).size();
      } catch (const edgecloud::model_error&) {
      }
      try {
        h = h + f.get_int_array(e.key).size();
      } catch (const edgecloud::model_error&) {
      }
      try {
        h = h + f.get_float_array(e.key).size();
      } catch (const edgecloud::model_error&) {
      }
      (void)v;
    }
    for (const auto& t : f.tensors()) {
      if (f.find_tensor(t.name) != &t) __builtin_trap();
      // First and last byte of every tensor must lie inside the input.
      h = h + static_cast<uint64_t>(t.data[0]) + static_cast<uint64_t>(t.data[t.n_bytes - 1]);
      try {
        f.require_tensor(t.name, {1, 2}, {gguf::type_q8_0});
      } catch (const edgecloud::model_error&) {
      }
    }
  } catch (const edgecloud::model_error&) {
  }
  return 0;
}
