// SPDX-License-Identifier: Apache-2.0
// Confidence for a choice among labels, from the model's probabilities BEFORE any masking.
//
// For labels l_1..l_K given as token sequences (multi-token labels included) after a shared
// prompt prefix:
//   log P(l) = sum_i log softmax(z_i)[t_i],   z_i = logits after prefix + t_1..t_{i-1}
// with the softmax over the FULL vocabulary (a masked softmax would renormalise away exactly the
// mass that says "the model wanted something else", vLLM #4149). Then
//   p_T(l) = exp(log P(l) / T) / sum_k exp(log P(l_k) / T)
// with T the task's calibration temperature (fitted by the routing calibration tool; 1 = raw).
// Two further signals: the mass the first step put on tokens that start no label, and the
// total mass of all sequences that are no label, 1 - sum_k P(l_k) (labels must be prefix-free,
// e.g. end each with the closing quote or the end token, so those events are disjoint).
//
// Evaluation walks the trie of the label sequences depth-first, appending a branch's token and
// truncating back to the branch point afterwards, so a shared prefix (prompt, common first
// tokens of labels) is computed once: the cost is one logits() call per internal trie node.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <edgecloud/error.hpp>
#include <edgecloud/generate/concepts.hpp>
#include <limits>
#include <map>
#include <memory>
#include <span>
#include <string>
#include <vector>

namespace edgecloud::generate {

struct label_score_options {
  double temperature = 1.0;  // calibration temperature, > 0
};

struct label_scores {
  std::vector<double> log_probs;       // log P(label | prefix), full-vocabulary softmax
  std::vector<double> probabilities;   // normalised over the labels at the temperature
  size_t best = 0;                     // argmax of probabilities (lowest index on ties)
  double first_step_outside_mass = 0;  // P(first token starts no label)
  double outside_mass = 0;             // 1 - sum of P(label): mass on anything but a label
  size_t model_steps = 0;              // logits() evaluations
};

// log sum exp over a logit vector, in double.
inline double log_sum_exp(std::span<const float> z) {
  double m = -std::numeric_limits<double>::infinity();
  for (float v : z) m = std::max(m, static_cast<double>(v));
  if (!std::isfinite(m)) return m;
  double s = 0;
  for (float v : z) s += std::exp(static_cast<double>(v) - m);
  return m + std::log(s);
}

namespace detail {
// The labels as a trie of token ids; a node with label >= 0 ends that label (labels are
// prefix-free, so such a node has no children).
struct label_trie_node {
  std::map<int32_t, std::unique_ptr<label_trie_node>> children;
  int label = -1;
};

// Builds the trie. Throws config_error for an empty list, an empty or duplicate label, a label
// that is a prefix of another, or a non-positive temperature.
inline label_trie_node build_label_trie(const std::vector<std::vector<int32_t>>& labels,
                                        const label_score_options& options) {
  if (labels.empty()) throw config_error("score_labels: no labels");
  if (!(options.temperature > 0)) throw config_error("score_labels: temperature must be > 0");
  label_trie_node root;
  for (size_t k = 0; k < labels.size(); ++k) {
    if (labels[k].empty())
      throw config_error("score_labels: label " + std::to_string(k) + " is empty");
    label_trie_node* node = &root;
    for (int32_t t : labels[k]) {
      if (node->label >= 0)
        throw config_error("score_labels: label " + std::to_string(node->label) +
                           " is a prefix of label " + std::to_string(k) +
                           " (end labels with a closing token)");
      auto& child = node->children[t];
      if (!child) child = std::make_unique<label_trie_node>();
      node = child.get();
    }
    if (node->label >= 0 || !node->children.empty())
      throw config_error("score_labels: label " + std::to_string(k) +
                         " duplicates or prefixes another label");
    node->label = static_cast<int>(k);
  }
  return root;
}

// log P(child token) = logp + log softmax(z)[token] over the full logits z, for each child of
// `node` in order, into `lp`; returns the children's total probability mass (at this step).
inline double child_log_probs(std::span<const float> z, const label_trie_node& node, double logp,
                              std::vector<double>& lp) {
  const double lse = log_sum_exp(z);
  double mass = 0;
  lp.clear();
  for (const auto& [token, child] : node.children) {
    if (token < 0 || static_cast<size_t>(token) >= z.size())
      throw config_error("score_labels: token id " + std::to_string(token) +
                         " outside the logits (" + std::to_string(z.size()) + ")");
    const double l = static_cast<double>(z[static_cast<size_t>(token)]) - lse;
    mass += std::exp(l);
    lp.push_back(logp + l);
  }
  return mass;
}

// probabilities (normalised over the labels at `temperature`, uniform when every label is
// impossible) and best, from log_probs.
inline void normalise_label_scores(label_scores& out, double temperature) {
  const size_t n = out.log_probs.size();
  double m = -std::numeric_limits<double>::infinity();
  for (double lp : out.log_probs) m = std::max(m, lp / temperature);
  out.probabilities.resize(n);
  if (!std::isfinite(m)) {
    std::fill(out.probabilities.begin(), out.probabilities.end(), 1.0 / static_cast<double>(n));
  } else {
    double s = 0;
    for (size_t k = 0; k < n; ++k)
      s += out.probabilities[k] = std::exp(out.log_probs[k] / temperature - m);
    for (auto& p : out.probabilities) p /= s;
  }
  out.best =
      static_cast<size_t>(std::max_element(out.probabilities.begin(), out.probabilities.end()) -
                          out.probabilities.begin());
}

template <class Source>
void score_node(Source& source, const label_trie_node& node, size_t position, double logp,
                bool first, label_scores& out) {
  const std::span<const float> z = source.logits();
  ++out.model_steps;
  std::vector<double> branch;
  const double mass = child_log_probs(z, node, logp, branch);
  if (first) out.first_step_outside_mass = std::clamp(1.0 - mass, 0.0, 1.0);
  size_t i = 0;
  for (const auto& [token, child] : node.children) {
    const double lp = branch[i++];
    if (child->label >= 0) {
      out.log_probs[static_cast<size_t>(child->label)] = lp;
      continue;
    }
    source.advance(token);
    try {
      score_node(source, *child, position + 1, lp, false, out);
    } catch (...) {
      source.truncate(position);  // leave the source at the prefix even on error
      throw;
    }
    source.truncate(position);
  }
}
}  // namespace detail

// Scores every label sequence after the source's current position and leaves the source there.
// Throws config_error for an empty list, an empty or duplicate label, a label that is a prefix
// of another, or a non-positive temperature.
template <RewindableLogitsSource Source>
label_scores score_labels(Source& source, const std::vector<std::vector<int32_t>>& labels,
                          const label_score_options& options = {}) {
  const detail::label_trie_node root = detail::build_label_trie(labels, options);
  label_scores out;
  out.log_probs.assign(labels.size(), 0.0);
  detail::score_node(source, root, source.position(), 0.0, true, out);
  double total = 0;
  for (double lp : out.log_probs) total += std::exp(lp);
  out.outside_mass = std::clamp(1.0 - total, 0.0, 1.0);
  detail::normalise_label_scores(out, options.temperature);
  return out;
}

}  // namespace edgecloud::generate
