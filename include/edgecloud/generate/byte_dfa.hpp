// SPDX-License-Identifier: Apache-2.0
// Deterministic byte automaton compiled from a constraint's NFA by subset construction.
//
// Representation: bytes are first split into classes (maximal byte intervals on which no NFA
// edge starts or ends), so the transition table is states x classes of int32 (-1 = dead) rather
// than states x 256. After construction the automaton is trimmed: a state from which no
// accepting state can be reached is dead, so "the next state is not dead" means "this prefix can
// still be completed" -- the property token masks rely on.
//
// Per state it also keeps `distance(s)`: the fewest bytes that lead from s to an accepting state
// (a breadth-first search on reversed edges). Budget enforcement is built on it.
//
// Ownership: plain value type, owns its tables.
#pragma once

#include <algorithm>
#include <array>
#include <cstdint>
#include <deque>
#include <edgecloud/error.hpp>
#include <edgecloud/generate/byte_nfa.hpp>
#include <limits>
#include <string>
#include <unordered_map>
#include <vector>

namespace edgecloud::generate {

namespace detail {
struct u32_vector_hash {
  size_t operator()(const std::vector<uint32_t>& v) const noexcept {
    uint64_t h = 1469598103934665603ull;
    for (uint32_t x : v) h = (h ^ x) * 1099511628211ull;
    return static_cast<size_t>(h ^ (h >> 29));
  }
};
}  // namespace detail

class byte_dfa {
 public:
  static constexpr int32_t dead = -1;
  static constexpr uint32_t unreachable = std::numeric_limits<uint32_t>::max();

  // Determinises `c`. Throws config_error when the language is empty or the automaton would
  // exceed `max_states` states.
  static byte_dfa compile(const constraint& c, size_t max_states = 1'000'000) {
    byte_dfa d;
    d.build_classes(c.nfa());
    d.determinise(c, max_states);
    d.trim();
    return d;
  }

  int32_t start() const { return start_; }
  size_t size() const { return accepting_.size(); }
  size_t class_count() const { return n_classes_; }
  uint8_t byte_class(uint8_t b) const { return class_of_[b]; }
  // The lowest byte of class `c` (any byte of the class behaves the same).
  uint8_t class_byte(size_t c) const { return class_first_byte_[c]; }

  int32_t next(int32_t s, uint8_t b) const { return table_[s * n_classes_ + class_of_[b]]; }
  int32_t next_class(int32_t s, size_t c) const { return table_[s * n_classes_ + c]; }
  // Runs `bytes` from s; dead as soon as a byte leaves the language.
  int32_t run(int32_t s, std::string_view bytes) const {
    for (char ch : bytes) {
      s = next(s, static_cast<uint8_t>(ch));
      if (s == dead) return dead;
    }
    return s;
  }
  bool accepts(std::string_view bytes) const {
    const int32_t s = run(start_, bytes);
    return s != dead && accepting_[s];
  }

  bool accepting(int32_t s) const { return accepting_[s] != 0; }
  // Accepting and nothing may follow: the output is complete.
  bool terminal(int32_t s) const { return accepting_[s] && out_degree_[s] == 0; }
  uint32_t distance(int32_t s) const { return distance_[s]; }
  // Number of bytes with a live transition out of s.
  uint32_t out_degree(int32_t s) const { return out_degree_[s]; }
  // The byte of the single live transition of s when exactly one byte leaves s, else -1.
  int single_byte(int32_t s) const { return single_byte_[s]; }

  // Partition of the states by their behaviour on strings of at most `k` bytes: two states in
  // one class accept the same such strings and keep the same such strings alive (Moore's
  // refinement stopped after k rounds). A token of at most k bytes is allowed in one state of a
  // class iff it is allowed in every other, so a class shares one mask.
  std::vector<uint32_t> lookahead_classes(size_t k, uint32_t* n_out = nullptr) const {
    const size_t n = size();
    std::vector<uint32_t> cls(n), next_cls(n);
    for (size_t s = 0; s < n; ++s) cls[s] = accepting_[s] ? 1u : 0u;
    uint32_t count = 2;
    // Signatures live in one flat table; a hash map from signature hash to the first state with
    // that signature (rows compared on a hit; a colliding different row probes the next hash).
    const size_t width = n_classes_ + 1;
    std::vector<uint32_t> sig(n * width);
    std::unordered_map<uint64_t, uint32_t> first_with;
    for (size_t round = 0; round < k; ++round) {
      first_with.clear();
      first_with.reserve(n * 2);
      uint32_t new_count = 0;
      for (size_t s = 0; s < n; ++s) {
        uint32_t* row = &sig[s * width];
        row[0] = cls[s];
        uint64_t h = 1469598103934665603ull ^ cls[s];
        for (size_t c = 0; c < n_classes_; ++c) {
          const int32_t t = table_[s * n_classes_ + c];
          row[c + 1] = t == dead ? 0xffffffffu : cls[t];
          h = (h ^ row[c + 1]) * 1099511628211ull;
        }
        for (;; h = h * 0x9e3779b97f4a7c15ull + 1) {
          auto [it, inserted] = first_with.try_emplace(h, static_cast<uint32_t>(s));
          if (inserted) {
            next_cls[s] = new_count++;
            break;
          }
          const uint32_t* other = &sig[it->second * width];
          if (std::equal(row, row + width, other)) {
            next_cls[s] = next_cls[it->second];
            break;
          }
        }
      }
      cls.swap(next_cls);
      if (new_count == count) break;  // stable: further rounds change nothing
      count = new_count;
    }
    // Renumber densely in order of first appearance.
    std::unordered_map<uint32_t, uint32_t> dense;
    for (auto& c : cls) c = dense.try_emplace(c, static_cast<uint32_t>(dense.size())).first->second;
    if (n_out) *n_out = static_cast<uint32_t>(dense.size());
    return cls;
  }

 private:
  void build_classes(const byte_nfa& nfa) {
    std::array<bool, 257> cut{};
    cut[0] = true;
    for (size_t s = 0; s < nfa.size(); ++s)
      for (const auto& e : nfa.ranges(static_cast<uint32_t>(s))) {
        cut[e.lo] = true;
        cut[static_cast<size_t>(e.hi) + 1] = true;
      }
    n_classes_ = 0;
    for (size_t b = 0; b < 256; ++b) {
      if (cut[b]) class_first_byte_[n_classes_++] = static_cast<uint8_t>(b);
      class_of_[b] = static_cast<uint8_t>(n_classes_ - 1);
    }
  }

  void determinise(const constraint& c, size_t max_states) {
    const byte_nfa& nfa = c.nfa();
    const uint32_t accept_nfa = c.root().out;
    std::vector<uint32_t> mark(nfa.size(), 0);
    uint32_t stamp = 0;
    std::vector<uint32_t> stack;
    auto closure = [&](std::vector<uint32_t>& set) {
      ++stamp;
      stack.assign(set.begin(), set.end());
      set.clear();
      while (!stack.empty()) {
        const uint32_t s = stack.back();
        stack.pop_back();
        if (mark[s] == stamp) continue;
        mark[s] = stamp;
        set.push_back(s);
        for (uint32_t t : nfa.epsilons(s))
          if (mark[t] != stamp) stack.push_back(t);
      }
      std::sort(set.begin(), set.end());
    };

    std::unordered_map<std::vector<uint32_t>, int32_t, detail::u32_vector_hash> ids;
    std::vector<std::vector<uint32_t>> sets;
    auto intern = [&](std::vector<uint32_t>&& set) -> int32_t {
      auto it = ids.find(set);
      if (it != ids.end()) return it->second;
      if (sets.size() >= max_states)
        throw config_error("constraint too large: more than " + std::to_string(max_states) +
                           " automaton states after determinisation; lower maxLength, maxItems "
                           "or simplify anyOf");
      const auto id = static_cast<int32_t>(sets.size());
      ids.emplace(set, id);
      sets.push_back(std::move(set));
      return id;
    };

    std::vector<uint32_t> init{c.root().in};
    closure(init);
    start_ = intern(std::move(init));
    std::vector<std::vector<uint32_t>> per_class(n_classes_);
    for (size_t cur = 0; cur < sets.size(); ++cur) {
      for (auto& v : per_class) v.clear();
      bool acc = false;
      for (uint32_t s : sets[cur]) {
        if (s == accept_nfa) acc = true;
        for (const auto& e : nfa.ranges(s))
          for (size_t k = class_of_[e.lo]; k <= class_of_[e.hi]; ++k) per_class[k].push_back(e.to);
      }
      accepting_.push_back(acc ? 1 : 0);
      table_.resize((cur + 1) * n_classes_, dead);
      for (size_t k = 0; k < n_classes_; ++k) {
        if (per_class[k].empty()) continue;
        std::vector<uint32_t> target = per_class[k];
        closure(target);
        const int32_t id = intern(std::move(target));
        table_[cur * n_classes_ + k] = id;  // re-index: table_ may not be reallocated above
      }
    }
  }

  // Removes states that cannot reach acceptance, renumbers the live reachable ones, and fills
  // distance / out-degree / single-byte tables.
  void trim() {
    const size_t n = accepting_.size();
    // Reverse BFS from accepting states: distance in bytes.
    std::vector<std::vector<int32_t>> preds(n);
    for (size_t s = 0; s < n; ++s)
      for (size_t c = 0; c < n_classes_; ++c) {
        const int32_t t = table_[s * n_classes_ + c];
        if (t != dead) preds[t].push_back(static_cast<int32_t>(s));
      }
    std::vector<uint32_t> dist(n, unreachable);
    std::deque<int32_t> queue;
    for (size_t s = 0; s < n; ++s)
      if (accepting_[s]) {
        dist[s] = 0;
        queue.push_back(static_cast<int32_t>(s));
      }
    while (!queue.empty()) {
      const int32_t s = queue.front();
      queue.pop_front();
      for (int32_t p : preds[s])
        if (dist[p] == unreachable) {
          dist[p] = dist[s] + 1;
          queue.push_back(p);
        }
    }
    if (dist[start_] == unreachable)
      throw config_error("constraint accepts no output at all (check enum, bounds and required)");
    // Forward BFS over live states from start, renumbering.
    std::vector<int32_t> new_id(n, dead);
    std::vector<int32_t> order{start_};
    new_id[start_] = 0;
    for (size_t i = 0; i < order.size(); ++i) {
      const int32_t s = order[i];
      for (size_t c = 0; c < n_classes_; ++c) {
        const int32_t t = table_[s * n_classes_ + c];
        if (t != dead && dist[t] != unreachable && new_id[t] == dead) {
          new_id[t] = static_cast<int32_t>(order.size());
          order.push_back(t);
        }
      }
    }
    const size_t m = order.size();
    std::vector<int32_t> table(m * n_classes_, dead);
    std::vector<uint8_t> acc(m);
    distance_.assign(m, 0);
    out_degree_.assign(m, 0);
    single_byte_.assign(m, -1);
    for (size_t i = 0; i < m; ++i) {
      const int32_t s = order[i];
      acc[i] = accepting_[s];
      distance_[i] = dist[s];
      uint32_t degree = 0;
      int last_class = -1;
      for (size_t c = 0; c < n_classes_; ++c) {
        const int32_t t = table_[s * n_classes_ + c];
        if (t == dead || dist[t] == unreachable) continue;
        table[i * n_classes_ + c] = new_id[t];
        degree += class_size(c);
        last_class = static_cast<int>(c);
      }
      out_degree_[i] = degree;
      if (degree == 1) single_byte_[i] = class_first_byte_[last_class];
    }
    table_.swap(table);
    accepting_.swap(acc);
    start_ = 0;
  }

  uint32_t class_size(size_t c) const {
    const uint32_t end = c + 1 < n_classes_ ? class_first_byte_[c + 1] : 256u;
    return end - class_first_byte_[c];
  }

  int32_t start_ = 0;
  size_t n_classes_ = 0;
  std::array<uint8_t, 256> class_of_{};
  std::array<uint8_t, 256> class_first_byte_{};
  std::vector<int32_t> table_;
  std::vector<uint8_t> accepting_;
  std::vector<uint32_t> distance_;
  std::vector<uint32_t> out_degree_;
  std::vector<int> single_byte_;
};

}  // namespace edgecloud::generate
