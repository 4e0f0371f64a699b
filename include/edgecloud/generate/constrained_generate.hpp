// SPDX-License-Identifier: Apache-2.0
// Greedy constrained generation over any LogitsSource: forced tokens are emitted without
// reading logits, every other step takes the best allowed logit. The output always belongs to
// the constraint's language and ends within `budget` tokens (token_constraint.hpp says why).
#pragma once

#include <edgecloud/error.hpp>
#include <edgecloud/generate/concepts.hpp>
#include <edgecloud/generate/token_constraint.hpp>
#include <edgecloud/generate/token_mask.hpp>
#include <string>
#include <vector>

namespace edgecloud::generate {

struct generation_result {
  std::vector<int32_t> tokens;  // emitted tokens, end token excluded
  std::string bytes;            // their bytes: one member of the constraint's language
  bool ended_with_end_token = false;
  size_t model_steps = 0;    // tokens chosen from the model's logits
  size_t forced_tokens = 0;  // tokens emitted without reading logits
};

struct generate_options {
  bool advance_end_token = false;  // also append the end token to the source when it is chosen
};

// Runs until the output is complete. Throws capacity_error when `budget` cannot hold the
// shortest valid output. Allocations happen before the loop (and on mask-cache misses).
template <LogitsSource Source>
generation_result constrained_generate(Source& source, token_constraint& constraint, size_t budget,
                                       const generate_options& options = {}) {
  constrained_decoder decoder(constraint, budget);
  generation_result result;
  result.tokens.reserve(budget);
  while (!decoder.done()) {
    int32_t token = decoder.forced();
    if (token >= 0) {
      ++result.forced_tokens;
    } else {
      token = masked_argmax(source.logits(), decoder.mask());
      ++result.model_steps;
      if (token < 0)
        throw config_error("constrained_generate: the logits are shorter than the allowed ids");
    }
    decoder.accept(token);
    if (decoder.ended_with_end_token()) {
      result.ended_with_end_token = true;
      if (options.advance_end_token) source.advance(token);
      break;
    }
    source.advance(token);
    result.tokens.push_back(token);
  }
  for (int32_t t : result.tokens) result.bytes += constraint.vocabulary().bytes(t);
  return result;
}

}  // namespace edgecloud::generate
