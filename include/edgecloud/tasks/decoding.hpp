// SPDX-License-Identifier: Apache-2.0
// The decoding pieces the tasks share, on top of the generate layer:
//
//  * text_constraint: "one or more whole UTF-8 characters" (optionally without line breaks),
//    ended by <|im_end|>. Free-text tasks (rewrite, summary) decode under it, so the output is
//    valid UTF-8 whatever the weights -- a character is never cut by the budget -- and the
//    token_constraint's budget rule ends it within max_tokens.
//  * run_constrained: constrained_generate (generate/constrained_generate.hpp) over a
//    model_runner that computes only the allowed ids' logits when the mask is small (the
//    restricted head), and skips the model for forced tokens. It picks the same token as
//    masked_argmax over the full logits would (ties to the lowest id, NaN never wins).
//  * score_label_choice: label confidences, exact (generate::score_labels) or restricted.
#pragma once

#include <cmath>
#include <functional>
#include <string_view>
#include <edgecloud/error.hpp>
#include <edgecloud/generate/byte_nfa.hpp>
#include <edgecloud/generate/constrained_generate.hpp>
#include <edgecloud/generate/label_scoring.hpp>
#include <edgecloud/generate/token_constraint.hpp>
#include <edgecloud/tasks/config.hpp>
#include <edgecloud/tasks/model_runner.hpp>
#include <limits>
#include <map>
#include <memory>
#include <vector>

namespace edgecloud::tasks {

// One or more UTF-8 characters (no C0 controls or DEL except '\n' and '\t' when multi-line;
// no overlongs or surrogates).
inline generate::constraint text_constraint(bool multi_line) {
  generate::byte_nfa nfa;
  generate::nfa_builder b(nfa);
  auto r = [&](uint8_t lo, uint8_t hi) { return b.range(lo, hi); };
  auto character = [&] {
    std::vector<generate::fragment> alts = {
        r(0x20, 0x7E),
        b.seq(r(0xC2, 0xDF), r(0x80, 0xBF)),
        b.seq({r(0xE0, 0xE0), r(0xA0, 0xBF), r(0x80, 0xBF)}),
        b.seq({r(0xE1, 0xEC), r(0x80, 0xBF), r(0x80, 0xBF)}),
        b.seq({r(0xED, 0xED), r(0x80, 0x9F), r(0x80, 0xBF)}),
        b.seq({r(0xEE, 0xEF), r(0x80, 0xBF), r(0x80, 0xBF)}),
        b.seq({r(0xF0, 0xF0), r(0x90, 0xBF), r(0x80, 0xBF), r(0x80, 0xBF)}),
        b.seq({r(0xF1, 0xF3), r(0x80, 0xBF), r(0x80, 0xBF), r(0x80, 0xBF)}),
        b.seq({r(0xF4, 0xF4), r(0x80, 0x8F), r(0x80, 0xBF), r(0x80, 0xBF)}),
    };
    if (multi_line) {
      alts.push_back(r('\n', '\n'));
      alts.push_back(r('\t', '\t'));
    }
    return b.alt(alts);
  };
  const generate::fragment first = character();
  const uint32_t loop = nfa.add_state();
  const generate::fragment more = character();
  nfa.add_epsilon(first.out, loop);
  nfa.add_epsilon(loop, more.in);
  nfa.add_epsilon(more.out, loop);
  return generate::constraint(std::move(nfa), {first.in, loop});
}

struct decode_options {
  size_t restricted_max = 64;  // masks with at most this many ids use the restricted head
};

// Receives the output text as it is decoded (whole UTF-8 characters, in order); false stops.
using text_stream = std::function<bool(std::string_view)>;

namespace detail {
// Length of the longest prefix of `s` that ends on a UTF-8 character boundary: the tail held
// back is the start of a character whose continuation bytes have not come yet (at most 3).
inline size_t complete_utf8_prefix(std::string_view s) noexcept {
  size_t back = 0;
  while (back < s.size() && back < 4 &&
         (static_cast<unsigned char>(s[s.size() - 1 - back]) & 0xC0) == 0x80)
    ++back;
  if (back == s.size()) return s.size();  // no lead byte in reach: nothing to wait for
  const auto lead = static_cast<unsigned char>(s[s.size() - 1 - back]);
  const size_t need = lead >= 0xF0 ? 4 : lead >= 0xE0 ? 3 : lead >= 0xC0 ? 2 : 1;
  return need > back + 1 ? s.size() - 1 - back : s.size();
}
}  // namespace detail

// Greedy constrained decoding after the runner's current tokens. Same result as
// generate::constrained_generate(runner, constraint, budget).
// With `on_text`, the output's bytes are handed over as they are decided, cut only at character
// boundaries; when it returns false decoding stops there and the result holds exactly the text
// handed over (tokens up to that point, a character split by the stop dropped).
inline generate::generation_result run_constrained(model_runner& runner,
                                                   generate::token_constraint& constraint,
                                                   size_t budget, const decode_options& o = {},
                                                   const text_stream& on_text = {}) {
  generate::constrained_decoder decoder(constraint, budget);
  generate::generation_result result;
  result.tokens.reserve(budget);
  size_t streamed = 0;  // bytes of result.bytes handed to on_text
  std::vector<int32_t> ids;
  std::vector<float> z;
  ids.reserve(o.restricted_max);
  z.reserve(o.restricted_max);
  while (!decoder.done()) {
    int32_t token = decoder.forced();
    if (token >= 0) {
      ++result.forced_tokens;
    } else {
      const generate::token_mask& mask = decoder.mask();
      ++result.model_steps;
      if (mask.count <= o.restricted_max) {
        ids.clear();
        mask.for_each([&](int32_t id) {
          if (static_cast<size_t>(id) < runner.n_vocab()) ids.push_back(id);
        });
        if (ids.empty()) throw config_error("run_constrained: no allowed id inside the logits");
        z.resize(ids.size());
        runner.candidate_logits(ids, z);
        float best = -std::numeric_limits<float>::infinity();
        token = -1;
        for (size_t k = 0; k < ids.size(); ++k)
          if (z[k] > best) {
            best = z[k];
            token = ids[k];
          }
        if (token < 0) token = ids.front();
      } else {
        token = generate::masked_argmax(runner.logits(), mask);
        if (token < 0) throw config_error("run_constrained: no allowed id inside the logits");
      }
    }
    decoder.accept(token);
    if (decoder.ended_with_end_token()) {
      result.ended_with_end_token = true;
      break;
    }
    runner.advance(token);
    result.tokens.push_back(token);
    if (on_text) {
      result.bytes += constraint.vocabulary().bytes(token);
      const size_t ready = detail::complete_utf8_prefix(result.bytes);
      if (ready > streamed) {
        const bool more = on_text(std::string_view(result.bytes).substr(streamed, ready - streamed));
        streamed = ready;
        if (!more) {
          result.bytes.resize(streamed);
          return result;
        }
      }
    }
  }
  if (on_text) {
    if (streamed < result.bytes.size())
      on_text(std::string_view(result.bytes).substr(streamed));
    return result;
  }
  for (int32_t t : result.tokens) result.bytes += constraint.vocabulary().bytes(t);
  return result;
}

namespace detail {
// Deeper steps of restricted scoring: logits of the node's continuations only, softmax among
// them (a single continuation has probability 1 and costs no model step).
inline void restricted_node(model_runner& r, const generate::detail::label_trie_node& node,
                            double logp, generate::label_scores& out, std::vector<int32_t>& ids,
                            std::vector<float>& z) {
  const size_t position = r.position();
  if (node.children.size() == 1) {
    const auto& [token, child] = *node.children.begin();
    if (child->label >= 0) {
      out.log_probs[static_cast<size_t>(child->label)] = logp;
      return;
    }
    r.advance(token);
    restricted_node(r, *child, logp, out, ids, z);
    r.truncate(position);
    return;
  }
  ids.clear();
  for (const auto& kv : node.children) ids.push_back(kv.first);
  z.resize(ids.size());
  r.candidate_logits(ids, z);
  ++out.model_steps;
  const double lse = generate::log_sum_exp(z);
  size_t k = 0;
  for (const auto& [token, child] : node.children) {
    const double l = logp + (static_cast<double>(z[k++]) - lse);
    if (child->label >= 0) {
      out.log_probs[static_cast<size_t>(child->label)] = l;
      continue;
    }
    r.advance(token);
    restricted_node(r, *child, l, out, ids, z);
    r.truncate(position);
  }
}
}  // namespace detail

// Restricted label scoring. log P(label) = log softmax_full(z_1)[t_1]
//   + sum over deeper steps of log softmax over the labels' continuations at that node;
// outside_mass = the first step's mass on tokens that start no label. Labels must be
// prefix-free token sequences (as for generate::score_labels).
inline generate::label_scores score_labels_restricted(
    model_runner& r, const std::vector<std::vector<int32_t>>& labels,
    const generate::label_score_options& options = {}) {
  const auto root = generate::detail::build_label_trie(labels, options);
  generate::label_scores out;
  out.log_probs.assign(labels.size(), 0.0);
  // First step: full logits (the prefill produces them anyway) -> exact probabilities.
  ++out.model_steps;
  std::vector<double> first;
  const double mass = generate::detail::child_log_probs(r.logits(), root, 0.0, first);
  out.first_step_outside_mass = std::clamp(1.0 - mass, 0.0, 1.0);
  out.outside_mass = out.first_step_outside_mass;
  const size_t position = r.position();
  std::vector<int32_t> ids;
  std::vector<float> z;
  size_t i = 0;
  for (const auto& [token, child] : root.children) {
    const double lp = first[i++];
    if (child->label >= 0) {
      out.log_probs[static_cast<size_t>(child->label)] = lp;
      continue;
    }
    r.advance(token);
    detail::restricted_node(r, *child, lp, out, ids, z);
    r.truncate(position);
  }
  generate::detail::normalise_label_scores(out, options.temperature);
  return out;
}

// Label confidences with the chosen head (config.hpp: label_head).
inline generate::label_scores score_label_choice(model_runner& r,
                                                 const std::vector<std::vector<int32_t>>& labels,
                                                 label_head head, double temperature) {
  generate::label_score_options o;
  o.temperature = temperature;
  return head == label_head::full ? generate::score_labels(r, labels, o)
                                  : score_labels_restricted(r, labels, o);
}

}  // namespace edgecloud::tasks
