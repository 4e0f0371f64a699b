// SPDX-License-Identifier: Apache-2.0
// Byte-level nondeterministic automata: the common form every constraint (label choice, JSON
// Schema, tool call) is written in before it is determinised (byte_dfa.hpp) and bound to a
// vocabulary (token_constraint.hpp).
//
// Why bytes: tokens of a byte-level BPE vocabulary are arbitrary byte strings (a Qwen token may
// be `":"`, `"},` or half of a UTF-8 character), so the only alphabet on which a constraint and
// every token agree is the byte. A token is allowed in a state iff reading its bytes from that
// state stays inside the automaton.
//
// Ownership: a `constraint` owns its `byte_nfa` by value; fragments are indices into it.
#pragma once

#include <cstddef>
#include <cstdint>
#include <edgecloud/error.hpp>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace edgecloud::generate {

// Edge reading one byte in [lo, hi].
struct nfa_edge {
  uint8_t lo = 0, hi = 0;
  uint32_t to = 0;
};

// Thompson-style NFA: byte-range edges and epsilon edges, one start and one accepting state.
class byte_nfa {
 public:
  // Builders refuse to grow past this many states (a schema with huge unrolled bounds).
  static constexpr size_t max_states = 2'000'000;

  uint32_t add_state() {
    if (ranges_.size() >= max_states)
      throw config_error(
          "constraint too large: more than 2,000,000 automaton states; lower maxLength, "
          "maxItems or the json_options defaults");
    ranges_.emplace_back();
    epsilons_.emplace_back();
    return static_cast<uint32_t>(ranges_.size() - 1);
  }
  void add_range(uint32_t from, uint8_t lo, uint8_t hi, uint32_t to) {
    ranges_[from].push_back({lo, hi, to});
  }
  void add_byte(uint32_t from, uint8_t b, uint32_t to) { add_range(from, b, b, to); }
  void add_epsilon(uint32_t from, uint32_t to) { epsilons_[from].push_back(to); }

  size_t size() const { return ranges_.size(); }
  const std::vector<nfa_edge>& ranges(uint32_t s) const { return ranges_[s]; }
  const std::vector<uint32_t>& epsilons(uint32_t s) const { return epsilons_[s]; }

  // Appends all of `other`'s states; returns the offset added to its state ids.
  uint32_t absorb(const byte_nfa& other) {
    const auto offset = static_cast<uint32_t>(size());
    if (size() + other.size() > max_states) add_state();  // throws with the message above
    for (size_t s = 0; s < other.size(); ++s) {
      auto r = other.ranges_[s];
      for (auto& e : r) e.to += offset;
      auto eps = other.epsilons_[s];
      for (auto& t : eps) t += offset;
      ranges_.push_back(std::move(r));
      epsilons_.push_back(std::move(eps));
    }
    return offset;
  }

 private:
  std::vector<std::vector<nfa_edge>> ranges_;
  std::vector<std::vector<uint32_t>> epsilons_;
};

// A piece of automaton with one entry and one exit; its language is the set of byte strings
// leading from `in` to `out`. `out` has no outgoing edges until the fragment is composed.
struct fragment {
  uint32_t in = 0, out = 0;
};

// Composition helpers (concatenation, union, literals) over one NFA.
class nfa_builder {
 public:
  explicit nfa_builder(byte_nfa& nfa) : nfa_(nfa) {}
  byte_nfa& nfa() { return nfa_; }

  fragment epsilon() {
    const uint32_t a = nfa_.add_state(), b = nfa_.add_state();
    nfa_.add_epsilon(a, b);
    return {a, b};
  }
  fragment literal(std::string_view bytes) {
    const uint32_t in = nfa_.add_state();
    uint32_t cur = in;
    for (char c : bytes) {
      const uint32_t next = nfa_.add_state();
      nfa_.add_byte(cur, static_cast<uint8_t>(c), next);
      cur = next;
    }
    if (cur == in) {
      const uint32_t out = nfa_.add_state();
      nfa_.add_epsilon(in, out);
      return {in, out};
    }
    return {in, cur};
  }
  fragment range(uint8_t lo, uint8_t hi) {
    const uint32_t a = nfa_.add_state(), b = nfa_.add_state();
    nfa_.add_range(a, lo, hi, b);
    return {a, b};
  }
  fragment seq(fragment a, fragment b) {
    nfa_.add_epsilon(a.out, b.in);
    return {a.in, b.out};
  }
  fragment seq(std::initializer_list<fragment> parts) {
    fragment acc = *parts.begin();
    for (auto it = parts.begin() + 1; it != parts.end(); ++it) acc = seq(acc, *it);
    return acc;
  }
  fragment alt(const std::vector<fragment>& options) {
    const uint32_t in = nfa_.add_state(), out = nfa_.add_state();
    for (const auto& f : options) {
      nfa_.add_epsilon(in, f.in);
      nfa_.add_epsilon(f.out, out);
    }
    return {in, out};
  }
  fragment optional(fragment f) {
    nfa_.add_epsilon(f.in, f.out);
    return f;
  }

 private:
  byte_nfa& nfa_;
};

// A constraint: a byte language given as an NFA with start `root.in` and accepting `root.out`.
// Build one with the factories here (choice) or in json_schema.hpp (json_schema, tool_call),
// then compile it with byte_dfa::compile.
class constraint {
 public:
  constraint() = default;
  constraint(byte_nfa nfa, fragment root) : nfa_(std::move(nfa)), root_(root) {}

  const byte_nfa& nfa() const { return nfa_; }
  fragment root() const { return root_; }

  // Exactly one of the given strings (raw bytes, e.g. UTF-8 labels). Throws config_error for an
  // empty list or an empty label (an empty output cannot be told from "no output").
  static constraint choice(const std::vector<std::string>& labels) {
    if (labels.empty()) throw config_error("choice constraint: the label list is empty");
    byte_nfa nfa;
    nfa_builder b(nfa);
    std::vector<fragment> options;
    for (const auto& l : labels) {
      if (l.empty()) throw config_error("choice constraint: a label is empty");
      options.push_back(b.literal(l));
    }
    const fragment root = b.alt(options);
    return constraint(std::move(nfa), root);
  }

  // Any one of several constraints.
  static constraint any_of(const std::vector<constraint>& parts) {
    if (parts.empty()) throw config_error("any_of constraint: no alternatives");
    byte_nfa nfa;
    const uint32_t in = nfa.add_state(), out = nfa.add_state();
    for (const auto& p : parts) {
      const uint32_t off = nfa.absorb(p.nfa_);
      nfa.add_epsilon(in, p.root_.in + off);
      nfa.add_epsilon(p.root_.out + off, out);
    }
    return constraint(std::move(nfa), {in, out});
  }

  // A fixed byte prefix followed by `rest` (e.g. an opening the prompt already wrote).
  static constraint sequence(const std::vector<constraint>& parts) {
    if (parts.empty()) throw config_error("sequence constraint: no parts");
    byte_nfa nfa;
    fragment acc{};
    for (size_t i = 0; i < parts.size(); ++i) {
      const uint32_t off = nfa.absorb(parts[i].nfa_);
      const fragment f{parts[i].root_.in + off, parts[i].root_.out + off};
      if (i == 0) {
        acc = f;
      } else {
        nfa.add_epsilon(acc.out, f.in);
        acc.out = f.out;
      }
    }
    return constraint(std::move(nfa), acc);
  }

 private:
  byte_nfa nfa_;
  fragment root_{};
};

}  // namespace edgecloud::generate
