// SPDX-License-Identifier: Apache-2.0
// Temperature / top-p (nucleus) sampling with a seed: the token chooser for requests that ask for
// sampling instead of greedy decoding (an OpenAI-compatible server's temperature, top_p, seed).
//
//   generate::sampler pick({.temperature = 0.7, .top_p = 0.9, .seed = 42});
//   session.generate_with(pick, prompt, 64, stops, on_token);    // or pick(logits, mask)
//
// The maths. With logits l_i over the allowed ids (all ids, or a token_mask's), temperature T > 0
// gives p_i = exp((l_i - max l) / T) / Z. top_p = q < 1 keeps the nucleus: the fewest ids of
// highest p (ties: lower id first) whose mass reaches q, renormalised; one id is drawn from what
// is left with a uniform u in [0, 1) (53 bits of a std::mt19937_64 draw). T = 0 is greedy: the
// highest logit, lowest id on ties, exactly session::argmax / masked_argmax, and no draw is made.
// -inf and NaN logits have probability 0; when every allowed logit is, the choice falls back to
// the greedy rule, so a constrained step always yields an allowed token.
//
// Reproducibility. The same seed, options and logits give the same tokens on every run: the
// generator is std::mt19937_64, whose sequence the standard fixes, and the draw's conversion to a
// double is written here (std::uniform_real_distribution's is implementation-defined). Without a
// seed one is taken from std::random_device; seed() tells which was used.
//
// Cost per token: one exp per allowed id (151,936 ids: ~0.3 ms, against ~20 ms a decode step of
// the 0.6B model); the nucleus is found by partial sorts of growing prefixes (top 64, 512, ...),
// so a peaked distribution never sorts the whole vocabulary. Scratch buffers are reused: no
// allocation per token once they have grown. Not thread-safe: one sampler per request.
#pragma once

#include <edgecloud/error.hpp>
#include <edgecloud/generate/token_mask.hpp>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <optional>
#include <random>
#include <span>
#include <string>
#include <vector>

namespace edgecloud::generate {

struct sampling_options {
  double temperature = 0;        // 0 = greedy; otherwise > 0 (OpenAI allows up to 2)
  double top_p = 1;              // in (0, 1]; 1 keeps every id
  std::optional<uint64_t> seed;  // unset: a random seed (see sampler::seed())
};

class sampler {
 public:
  explicit sampler(const sampling_options& o = {})
      : temperature_(o.temperature), top_p_(o.top_p),
        seed_(o.seed ? *o.seed : random_seed()), rng_(seed_) {
    if (!std::isfinite(o.temperature) || o.temperature < 0)
      throw config_error("sampling temperature must be a finite number >= 0");
    if (!(o.top_p > 0 && o.top_p <= 1)) throw config_error("sampling top_p must be in (0, 1]");
  }

  bool greedy() const noexcept { return temperature_ == 0; }
  uint64_t seed() const noexcept { return seed_; }

  // A token over every id of `logits`.
  int32_t operator()(std::span<const float> logits) {
    if (greedy()) return argmax(logits);
    cand_.clear();
    for (size_t i = 0; i < logits.size(); ++i) cand_.push_back({logits[i], static_cast<int32_t>(i)});
    return draw();
  }

  // A token among the ids `mask` allows (ids past the end of `logits` are not allowed). Throws
  // config_error for a mask that allows nothing within the logits.
  int32_t operator()(std::span<const float> logits, const token_mask& mask) {
    if (greedy()) {
      const int32_t t = masked_argmax(logits, mask);
      if (t < 0 || static_cast<size_t>(t) >= logits.size())
        throw config_error("sampler: the mask allows no id of the logits");
      return t;
    }
    cand_.clear();
    mask.for_each([&](int32_t id) {
      if (static_cast<size_t>(id) < logits.size()) cand_.push_back({logits[static_cast<size_t>(id)], id});
    });
    if (cand_.empty()) throw config_error("sampler: the mask allows no id of the logits");
    return draw();
  }

  // The uniform draw in [0, 1) the next sample uses (exposed for tests of the generator).
  double uniform() { return static_cast<double>(rng_() >> 11) * 0x1.0p-53; }

 private:
  struct candidate {
    float logit;  // then overwritten by its weight exp((l - max) / T)
    int32_t id;
  };

  static uint64_t random_seed() {
    std::random_device rd;
    return (static_cast<uint64_t>(rd()) << 32) ^ rd();
  }

  static int32_t argmax(std::span<const float> l) {
    if (l.empty()) throw config_error("sampler: no logits");
    return static_cast<int32_t>(std::max_element(l.begin(), l.end()) - l.begin());
  }

  // cand_ holds the allowed (logit, id) pairs in increasing id order.
  int32_t draw() {
    float top = -std::numeric_limits<float>::infinity();
    for (const candidate& c : cand_)
      if (c.logit > top) top = c.logit;  // NaN never compares greater
    if (top == std::numeric_limits<float>::infinity())  // certain: the first +inf id
      return std::find_if(cand_.begin(), cand_.end(), [&](const candidate& c) { return c.logit == top; })->id;
    if (!std::isfinite(top)) return cand_.front().id;  // all -inf / NaN: the lowest allowed id
    const double inv_t = 1.0 / temperature_;
    double total = 0;
    size_t n = 0;
    for (const candidate& c : cand_) {  // keep ids of non-zero weight, in id order
      const double w = c.logit == c.logit ? std::exp((static_cast<double>(c.logit) - top) * inv_t) : 0.0;
      if (w > 0) {
        cand_[n++] = {static_cast<float>(w), c.id};
        total += w;
      }
    }
    cand_.resize(n);  // n >= 1: the top logit has weight 1
    std::span<candidate> pool(cand_);
    if (top_p_ < 1) {
      const auto before = [](const candidate& a, const candidate& b) {
        return a.logit > b.logit || (a.logit == b.logit && a.id < b.id);
      };
      const double want = top_p_ * total;
      size_t k = std::min<size_t>(64, n);
      for (;;) {
        std::partial_sort(cand_.begin(), cand_.begin() + static_cast<std::ptrdiff_t>(k), cand_.end(), before);
        double mass = 0;
        size_t keep = 0;
        while (keep < k && mass < want) mass += cand_[keep++].logit;
        if (mass >= want || k == n) {
          pool = pool.first(keep);
          total = mass;
          break;
        }
        k = std::min(n, k * 8);
      }
    }
    const double u = uniform() * total;
    double acc = 0;
    for (const candidate& c : pool) {
      acc += c.logit;
      if (u < acc) return c.id;
    }
    return pool.back().id;  // rounding: u within the last ulp of the total
  }

  double temperature_, top_p_;
  uint64_t seed_;
  std::mt19937_64 rng_;
  std::vector<candidate> cand_;
};

}  // namespace edgecloud::generate
