// SPDX-License-Identifier: Apache-2.0
// Typed errors shared by every layer. Each layer throws a subclass so a host app can catch
// precisely (a bad model file, a tokenizer problem, a cloud failure) or everything at once.
// Messages name the thing at fault and what was expected, so a user can act on them.
#pragma once

#include <stdexcept>
#include <string>

namespace edgecloud {

class error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// A model file that is malformed, truncated, hostile or of an unsupported kind.
class model_error : public error {
 public:
  using error::error;
};

// Text that cannot be tokenized as asked, unknown token ids, unsupported templates.
class text_error : public error {
 public:
  using error::error;
};

// A request that cannot fit (prompt longer than the KV cache, budget exhausted).
class capacity_error : public error {
 public:
  using error::error;
};

// Invalid configuration or arguments given by the host app.
class config_error : public error {
 public:
  using error::error;
};

// The cloud could not be reached or answered wrongly (the assistant falls back on it).
class transport_error : public error {
 public:
  using error::error;
};

}  // namespace edgecloud
