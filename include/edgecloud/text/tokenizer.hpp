// SPDX-License-Identifier: Apache-2.0
// text::tokenizer — Qwen2/Qwen3 byte-level BPE, identical to Hugging Face tokenizers on the
// same tokenizer.json, built from a vocab_data (tokenizer.json or GGUF metadata).
//
// encode(text, mode):
//  1. invalid UTF-8 -> each maximal ill-formed subpart becomes U+FFFD (unicode.hpp);
//  2. added tokens are cut out of the raw text first (leftmost, longest match): in trusted mode
//     all of them, in untrusted mode only the non-special (user-defined) ones (encode_mode.hpp);
//  3. each stretch between them is NFC-normalized (unless the vocabulary turns NFC off), split
//     by the Qwen2 pre-tokenizer regex (pretokenizer.hpp), and each piece's bytes are merged by
//     BPE rank (bpe.hpp).
//  A per-thread cache maps recent pieces to their ids (bounded; cleared when full), since words
//  repeat: encoding is then mostly a hash lookup per piece.
// decode(ids): the tokens' bytes concatenated, then ill-formed UTF-8 replaced by U+FFFD (as
//  HF's byte-level decoder does), so decode(encode(x)) == NFC(x) (or x, NFC off) for
//  every valid x.
// Ids outside [0, size()) are rejected with text_error everywhere (Qwen3's logits are 151,936
// wide, its tokenizer 151,669 tokens).
//
// Ownership: a tokenizer owns copies of everything it needs (no reference to the vocab_data);
// it is immutable after construction and safe to use from many threads at once.
#pragma once

#include <edgecloud/error.hpp>
#include <edgecloud/text/bpe.hpp>
#include <edgecloud/text/byte_level.hpp>
#include <edgecloud/text/concepts.hpp>
#include <edgecloud/text/encode_mode.hpp>
#include <edgecloud/text/pretokenizer.hpp>
#include <edgecloud/text/unicode.hpp>
#include <edgecloud/text/vocab.hpp>

#include <algorithm>
#include <array>
#include <atomic>
#include <cstdint>
#include <cstring>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace edgecloud::text {

// A range [begin, end) of byte offsets in a text.
struct byte_range {
  size_t begin = 0, end = 0;
};

namespace detail {

inline uint64_t hash_bytes(std::string_view s) {
  uint64_t h = 0x9E3779B97F4A7C15ull ^ (s.size() * 0xC2B2AE3D27D4EB4Full);
  size_t i = 0;
  for (; i + 8 <= s.size(); i += 8) {
    uint64_t w;
    std::memcpy(&w, s.data() + i, 8);
    h = (h ^ w) * 0x9FB21C651E98DF25ull;
    h ^= h >> 29;
  }
  uint64_t w = 0;
  std::memcpy(&w, s.data() + i, s.size() - i);
  h = (h ^ w) * 0x9FB21C651E98DF25ull;
  h ^= h >> 32;
  h *= 0xD6E8FEB86659FD93ull;
  h ^= h >> 32;
  return h;
}

// string -> id over strings owned elsewhere (a byte arena + offsets). Open addressing, load
// <= 1/2; a slot keeps the hash, offset and length of its string, so a probe touches one slot
// and only a real candidate's bytes are compared (loading 151k tokens and 151k merges does
// ~450k lookups). The first id of a duplicated string wins.
class string_index {
 public:
  void build(const std::string& arena, const std::vector<uint32_t>& offsets) {
    const size_t n = offsets.size() - 1;
    size_t cap = 16;
    while (cap < n * 2) cap <<= 1;
    slots_.assign(cap, slot{});
    mask_ = cap - 1;
    const char* bytes = arena.data();
    // In batches: hash and prefetch the slots of 32 keys, then insert them (random slot
    // accesses into a table of megabytes overlap instead of waiting one by one).
    constexpr size_t batch = 32;
    uint64_t hashes[batch];
    for (size_t start = 0; start < n; start += batch) {
      const size_t end = std::min(n, start + batch);
      for (size_t id = start; id < end; ++id) {
        hashes[id - start] =
            hash_bytes(std::string_view(bytes + offsets[id], offsets[id + 1] - offsets[id]));
        prefetch(hashes[id - start]);
      }
      for (size_t id = start; id < end; ++id)
        insert(std::string_view(bytes + offsets[id], offsets[id + 1] - offsets[id]),
               hashes[id - start], static_cast<int32_t>(id), offsets[id], bytes);
    }
  }
  void prefetch(uint64_t h) const { __builtin_prefetch(&slots_[h & mask_]); }
  int32_t find(std::string_view s, const std::string& arena) const {
    return find_hashed(s, hash_bytes(s), arena);
  }
  // `arena`: the same strings as given to build (possibly at a new address after a copy).
  int32_t find_hashed(std::string_view s, uint64_t h, const std::string& arena) const {
    if (slots_.empty()) return -1;
    for (size_t i = h & mask_;; i = (i + 1) & mask_) {
      const slot& sl = slots_[i];
      if (sl.id < 0) return -1;
      if (matches(sl, h, s, arena.data())) return sl.id;
    }
  }

 private:
  void insert(std::string_view k, uint64_t h, int32_t id, uint32_t offset, const char* bytes) {
    {
      size_t i = h & mask_;
      for (;; i = (i + 1) & mask_) {
        const slot& sl = slots_[i];
        if (sl.id < 0) break;
        if (matches(sl, h, k, bytes)) break;
      }
      if (slots_[i].id < 0)
        slots_[i] = {static_cast<uint32_t>(h >> 32), id, offset, static_cast<uint32_t>(k.size())};
    }
  }
  struct slot {
    uint32_t tag = 0;  // high half of the hash
    int32_t id = -1;
    uint32_t offset = 0, length = 0;
  };
  static bool matches(const slot& sl, uint64_t h, std::string_view s, const char* arena) {
    return sl.tag == static_cast<uint32_t>(h >> 32) && sl.length == s.size() &&
           std::memcmp(arena + sl.offset, s.data(), s.size()) == 0;
  }
  std::vector<slot> slots_;
  size_t mask_ = 0;
};

// Per-thread piece -> ids cache of one tokenizer instance (bounded, cleared when full).
class piece_cache {
 public:
  // Slots grow from 4 Ki to 256 Ki (at most half used; then everything is dropped), so the
  // table stays as small as the text's vocabulary and in the CPU caches.
  static constexpr size_t min_capacity = size_t{1} << 12, max_capacity = size_t{1} << 18;
  static constexpr size_t max_piece = 128;  // longer pieces are not cached

  void reset(uint64_t owner) {
    owner_ = owner;
    clear();
  }
  uint64_t owner() const { return owner_; }

  // Returns the cached ids of `piece` or an empty span.
  std::span<const int32_t> find(std::string_view piece, uint64_t h) const {
    if (slots_.empty()) return {};
    const size_t mask = slots_.size() - 1;
    for (size_t i = h & mask;; i = (i + 1) & mask) {
      const slot& s = slots_[i];
      if (s.key_len == 0) return {};
      if (s.hash == h && s.key_len == piece.size() && equal_bytes(keys_.data() + s.key_off, piece))
        return {ids_.data() + s.ids_off, s.ids_len};
    }
  }
  void insert(std::string_view piece, uint64_t h, std::span<const int32_t> ids) {
    if (piece.empty() || piece.size() > max_piece) return;
    if (!slots_.empty() && used_ >= slots_.size() / 2) {
      if (slots_.size() < max_capacity) grow();
      else clear();  // leaves no slots: sized again below (found by fuzz_tokenizer)
    }
    if (slots_.empty()) slots_.resize(min_capacity);
    place({h, static_cast<uint32_t>(keys_.size()), static_cast<uint32_t>(piece.size()),
           static_cast<uint32_t>(ids_.size()), static_cast<uint32_t>(ids.size())});
    keys_.append(piece);
    ids_.insert(ids_.end(), ids.begin(), ids.end());
    ++used_;
  }

 private:
  // memcmp without the call for the short strings pieces are.
  static bool equal_bytes(const char* a, std::string_view b) {
    size_t i = 0;
    for (; i + 8 <= b.size(); i += 8) {
      uint64_t x, y;
      std::memcpy(&x, a + i, 8);
      std::memcpy(&y, b.data() + i, 8);
      if (x != y) return false;
    }
    for (; i < b.size(); ++i)
      if (a[i] != b[i]) return false;
    return true;
  }
  struct slot {
    uint64_t hash = 0;
    uint32_t key_off = 0, key_len = 0, ids_off = 0, ids_len = 0;
  };
  void place(const slot& entry) {
    const size_t mask = slots_.size() - 1;
    size_t i = entry.hash & mask;
    while (slots_[i].key_len != 0) i = (i + 1) & mask;
    slots_[i] = entry;
  }
  void grow() {
    std::vector<slot> old(slots_.size() * 2);
    old.swap(slots_);
    for (const slot& e : old)
      if (e.key_len != 0) place(e);
  }
  void clear() {
    slots_.clear();
    keys_.clear();
    ids_.clear();
    used_ = 0;
  }
  uint64_t owner_ = 0;
  std::vector<slot> slots_;
  std::string keys_;
  std::vector<int32_t> ids_;
  size_t used_ = 0;
};

// Reusable per-thread buffers of encode().
struct encode_scratch {
  std::string sanitized, normalized;
  std::vector<byte_range> ranges;
  std::vector<int32_t> symbols;
  bpe_merger merger;
  piece_cache cache;
};

inline encode_scratch& thread_encode_scratch() {
  static thread_local encode_scratch scratch;
  return scratch;
}

inline uint64_t next_tokenizer_instance() {
  static std::atomic<uint64_t> counter{0};
  return ++counter;
}

}  // namespace detail

struct tokenizer_options {
  // Remember recent pieces' ids per thread (bounded). Off only to measure the merge algorithm.
  bool piece_cache = true;
};

class tokenizer {
 public:
  // Throws text_error when the vocabulary is not a usable byte-level BPE vocabulary.
  explicit tokenizer(const vocab_data& v, tokenizer_options options = {})
      : instance_(detail::next_tokenizer_instance()), piece_cache_(options.piece_cache) {
    const size_t n = v.tokens.size();
    if (n == 0) throw text_error("tokenizer: empty vocabulary");
    if (n > static_cast<size_t>(detail::merge_table::max_id) ||
        v.merges.size() > static_cast<size_t>(detail::merge_table::max_rank))
      throw text_error("tokenizer: vocabulary too large (at most 2,097,150 tokens and 4,194,302 "
                       "merges)");
    if (v.pre != "qwen2" && v.pre != "qwen3" && !v.pre.empty())
      throw text_error("tokenizer: pre-tokenizer '" + v.pre +
                       "' is not supported (only the Qwen2/Qwen3 byte-level BPE family)");
    if (!v.token_types.empty() && v.token_types.size() != n)
      throw text_error("tokenizer: " + std::to_string(v.token_types.size()) + " token types for " +
                       std::to_string(n) + " tokens");
    n_ = n;
    nfc_ = v.nfc;
    types_.resize(n);
    string_offsets_.resize(n + 1);
    offsets_.resize(n + 1);
    size_t total = 0;
    for (const auto& t : v.tokens) total += t.size();
    if (total >= (size_t{1} << 31)) throw text_error("tokenizer: vocabulary too large");
    strings_.reserve(total);
    bytes_.reserve(total);
    for (size_t id = 0; id < n; ++id) {
      const std::string& str = v.tokens[id];
      string_offsets_[id] = static_cast<uint32_t>(strings_.size());
      strings_ += str;
      types_[id] = v.token_types.empty() ? 1 : v.token_types[id];
      offsets_[id] = static_cast<uint32_t>(bytes_.size());
      const bool added = types_[id] == static_cast<int32_t>(token_type::control) ||
                         types_[id] == static_cast<int32_t>(token_type::user_defined);
      if (added) {
        if (str.empty()) throw text_error("tokenizer: added token " + std::to_string(id) + " is empty");
        bytes_ += str;
        added_.push_back({str, static_cast<int32_t>(id),
                          types_[id] == static_cast<int32_t>(token_type::control) ||
                              is_control_like(str)});
      } else if (!byte_level::append_decoded(bytes_, str)) {
        throw text_error("tokenizer: token " + std::to_string(id) + " '" + str +
                         "' is not a byte-level string");
      }
    }
    offsets_[n] = static_cast<uint32_t>(bytes_.size());
    string_offsets_[n] = static_cast<uint32_t>(strings_.size());
    index_.build(strings_, string_offsets_);
    for (unsigned b = 0; b < 256; ++b) {
      const int32_t id = index_.find(byte_level::encode(std::string(1, char(b))), strings_);
      if (id < 0 || types_[id] != static_cast<int32_t>(token_type::normal))
        throw text_error("tokenizer: the vocabulary lacks the byte-level symbol of byte " +
                         std::to_string(b) + "; it cannot encode every text");
      byte_ids_[b] = id;
    }
    merges_.reserve(v.merges.size());
    // Batched like string_index::build: parse and hash 32 merges, prefetch, then resolve.
    constexpr size_t batch = 32;
    struct pending_merge {
      std::string_view a, b;
      uint64_t ha, hb, hj;
      size_t joined_at;
    };
    pending_merge pending[batch];
    std::string joined;
    for (size_t start = 0; start < v.merges.size(); start += batch) {
      const size_t end = std::min(v.merges.size(), start + batch);
      joined.clear();
      for (size_t rank = start; rank < end; ++rank) {
        const std::string& m = v.merges[rank];
        const size_t sp = m.find(' ');
        if (sp == std::string::npos || sp == 0 || sp + 1 >= m.size())
          throw text_error("tokenizer: merge " + std::to_string(rank) + " '" + m + "' is not 'a b'");
        auto& p = pending[rank - start];
        p.a = std::string_view(m.data(), sp);
        p.b = std::string_view(m.data() + sp + 1, m.size() - sp - 1);
        p.joined_at = joined.size();
        joined += p.a;
        joined += p.b;
        p.ha = detail::hash_bytes(p.a);
        p.hb = detail::hash_bytes(p.b);
        index_.prefetch(p.ha);
        index_.prefetch(p.hb);
      }
      for (size_t rank = start; rank < end; ++rank) {
        auto& p = pending[rank - start];
        p.hj = detail::hash_bytes(std::string_view(joined).substr(p.joined_at, p.a.size() + p.b.size()));
        index_.prefetch(p.hj);
      }
      int32_t resolved[batch][3];
      for (size_t rank = start; rank < end; ++rank) {
        const auto& p = pending[rank - start];
        const std::string_view j = std::string_view(joined).substr(p.joined_at, p.a.size() + p.b.size());
        int32_t* r = resolved[rank - start];
        r[0] = index_.find_hashed(p.a, p.ha, strings_);
        r[1] = index_.find_hashed(p.b, p.hb, strings_);
        r[2] = index_.find_hashed(j, p.hj, strings_);
        if (r[0] < 0 || r[1] < 0 || r[2] < 0)
          throw text_error("tokenizer: merge " + std::to_string(rank) + " '" + v.merges[rank] +
                           "' names a token that is not in the vocabulary");
        merges_.prefetch(r[0], r[1]);
      }
      for (size_t rank = start; rank < end; ++rank) {
        const int32_t* r = resolved[rank - start];
        merges_.insert(r[0], r[1], static_cast<int32_t>(rank), r[2]);
      }
    }
    merges_.index_byte_pairs(byte_ids_.data());
    // Longest first, so the first match at a position is the longest.
    std::stable_sort(added_.begin(), added_.end(),
                     [](const added& x, const added& y) { return x.content.size() > y.content.size(); });
    for (const auto& a : added_) {
      const auto b = static_cast<unsigned char>(a.content[0]);
      first_byte_[b] |= a.special ? 2 : 1;
      if (!a.special) has_user_added_ = true;
      single_first_byte_ = (&a == &added_.front() || single_first_byte_ == b) ? b : -2;
    }
    if (single_first_byte_ < 0) single_first_byte_ = -1;
    auto valid_or_none = [n](int32_t id) { return id >= 0 && static_cast<size_t>(id) < n ? id : -1; };
    bos_ = valid_or_none(v.bos_id);
    eos_ = valid_or_none(v.eos_id);
    pad_ = valid_or_none(v.pad_id);
    chat_template_ = v.chat_template;
  }

  // Number of tokens; valid ids are [0, size()).
  size_t size() const { return n_; }
  // Whether text is NFC-normalised before pre-tokenization (vocab_data::nfc).
  bool normalizes_nfc() const { return nfc_; }
  int32_t bos_id() const { return bos_; }
  int32_t eos_id() const { return eos_; }
  int32_t pad_id() const { return pad_; }
  const std::string& chat_template() const { return chat_template_; }

  // Id of the token whose vocabulary string is `s` ("<|im_end|>", "Ġthe"), or nullopt.
  std::optional<int32_t> find_token(std::string_view s) const {
    const int32_t id = index_.find(s, strings_);
    return id < 0 ? std::nullopt : std::optional<int32_t>(id);
  }
  // The vocabulary string of a token ("Ġthe"); throws text_error for an invalid id.
  std::string_view token_string(int32_t id) const { return string_at(checked(id)); }
  // The raw bytes a token stands for (" the"); may be part of a UTF-8 character.
  std::string_view token_bytes(int32_t id) const {
    const size_t k = checked(id);
    return std::string_view(bytes_).substr(offsets_[k], offsets_[k + 1] - offsets_[k]);
  }
  bool is_control(int32_t id) const {
    return types_[checked(id)] == static_cast<int32_t>(token_type::control);
  }
  bool is_added(int32_t id) const {
    const int32_t t = types_[checked(id)];
    return t == static_cast<int32_t>(token_type::control) ||
           t == static_cast<int32_t>(token_type::user_defined);
  }

  std::vector<int32_t> encode(std::string_view text, encode_mode mode) const {
    std::vector<int32_t> out;
    out.reserve(text.size() / 3 + 4);
    encode(text, mode, out);
    return out;
  }

  // Appends the ids of `text` to `out`.
  void encode(std::string_view text, encode_mode mode, std::vector<int32_t>& out) const {
    const byte_range whole{0, text.size()};
    encode_with_trusted_ranges(
        text, mode == encode_mode::trusted ? std::span<const byte_range>(&whole, 1)
                                           : std::span<const byte_range>(),
        out);
  }

  // Encodes `text` as one string (pre-tokenization and BPE run across range boundaries, so ids
  // equal those of the whole text) but recognises control tokens only where they lie entirely
  // inside one of the `trusted` byte ranges (sorted, non-overlapping): a rendered chat prompt
  // whose template text is trusted and whose message contents are not (chat_template.hpp).
  void encode_with_trusted_ranges(std::string_view text, std::span<const byte_range> trusted,
                                  std::vector<int32_t>& out) const {
    for (size_t k = 0; k < trusted.size(); ++k)
      if (trusted[k].end < trusted[k].begin || trusted[k].end > text.size() ||
          (k > 0 && trusted[k].begin < trusted[k - 1].end))
        throw text_error("encode: trusted ranges must be sorted, disjoint and inside the text");
    auto& scratch = detail::thread_encode_scratch();
    if (scratch.cache.owner() != instance_) scratch.cache.reset(instance_);
    std::string_view valid = text;
    if (unicode::first_invalid_utf8(text) != text.size()) {
      // Replace ill-formed bytes range by range, so the ranges can be mapped to the new text.
      scratch.sanitized.clear();
      scratch.ranges.clear();
      size_t at = 0;
      for (const auto& r : trusted) {
        unicode::append_sanitized_utf8(scratch.sanitized, text.substr(at, r.begin - at));
        const size_t b = scratch.sanitized.size();
        unicode::append_sanitized_utf8(scratch.sanitized, text.substr(r.begin, r.end - r.begin));
        scratch.ranges.push_back({b, scratch.sanitized.size()});
        at = r.end;
      }
      unicode::append_sanitized_utf8(scratch.sanitized, text.substr(at));
      valid = scratch.sanitized;
      trusted = scratch.ranges;
    }
    size_t next_range = 0;  // ranges ending before the scan position are passed
    auto inside_trusted = [&](size_t b, size_t e) {
      while (next_range < trusted.size() && trusted[next_range].end < e) ++next_range;
      return next_range < trusted.size() && trusted[next_range].begin <= b &&
             e <= trusted[next_range].end;
    };
    const uint8_t wanted = trusted.empty() ? 1 : 3;
    const bool scan = !added_.empty() && (!trusted.empty() || has_user_added_);
    size_t pos = 0;
    while (pos < valid.size()) {
      size_t match_at = valid.size();
      const added* match = nullptr;
      for (size_t i = pos; scan && i < valid.size(); ++i) {
        if (single_first_byte_ >= 0) {  // memchr to the next candidate (Qwen: every one is '<')
          const void* hit = std::memchr(valid.data() + i, single_first_byte_, valid.size() - i);
          if (!hit) break;
          i = static_cast<size_t>(static_cast<const char*>(hit) - valid.data());
        }
        if (!(first_byte_[static_cast<unsigned char>(valid[i])] & wanted)) continue;
        for (const auto& a : added_) {  // longest first
          if (valid.compare(i, a.content.size(), a.content) != 0) continue;
          if (a.special && !inside_trusted(i, i + a.content.size())) continue;
          match = &a;
          break;
        }
        if (match) {
          match_at = i;
          break;
        }
      }
      encode_segment(valid.substr(pos, match_at - pos), scratch, out);
      if (!match) break;
      out.push_back(match->id);
      pos = match_at + match->content.size();
    }
  }

  // The text of `ids`: their bytes, with ill-formed UTF-8 replaced by U+FFFD. Control tokens
  // are written as their text unless skip_control. Throws text_error for an id >= size().
  std::string decode(std::span<const int32_t> ids, bool skip_control = false) const {
    std::string raw;
    for (int32_t id : ids) {
      if (skip_control && is_control(id)) continue;
      raw += token_bytes(id);
    }
    if (unicode::first_invalid_utf8(raw) == raw.size()) return raw;
    std::string out;
    unicode::append_sanitized_utf8(out, raw);
    return out;
  }

 private:
  struct added {
    std::string content;
    int32_t id;
    bool special;
  };

  // Added tokens that llama.cpp forces to control type by name (FIM and repository markers,
  // user-defined in Qwen's files): untrusted text never produces them either, as in both
  // references of cases.jsonl.
  static bool is_control_like(std::string_view s) {
    for (std::string_view name : {"<|fim_prefix|>", "<|fim_middle|>", "<|fim_suffix|>",
                                  "<|fim_pad|>", "<|repo_name|>", "<|file_sep|>"})
      if (s == name) return true;
    return false;
  }

  size_t checked(int32_t id) const {
    if (id < 0 || static_cast<size_t>(id) >= n_)
      throw text_error("token id " + std::to_string(id) + " is outside the tokenizer's " +
                       std::to_string(n_) + " tokens (valid ids are 0.." + std::to_string(n_ - 1) +
                       ")");
    return static_cast<size_t>(id);
  }
  std::string_view string_at(size_t id) const {
    return std::string_view(strings_).substr(string_offsets_[id],
                                             string_offsets_[id + 1] - string_offsets_[id]);
  }


  void encode_segment(std::string_view segment, detail::encode_scratch& scratch,
                      std::vector<int32_t>& out) const {
    if (segment.empty()) return;
    const std::string_view text = nfc_ ? unicode::nfc(segment, scratch.normalized) : segment;
    split_qwen2(text, [&](size_t begin, size_t end) {
      encode_piece(text.substr(begin, end - begin), scratch, out);
    });
  }

  void encode_piece(std::string_view piece, detail::encode_scratch& scratch,
                    std::vector<int32_t>& out) const {
    if (piece.size() == 1) {
      out.push_back(byte_ids_[static_cast<unsigned char>(piece[0])]);
      return;
    }
    const bool cacheable = piece_cache_ && piece.size() <= detail::piece_cache::max_piece;
    uint64_t h = 0;
    if (cacheable) {
      h = detail::hash_bytes(piece);
      const auto hit = scratch.cache.find(piece, h);
      if (!hit.empty()) {
        out.insert(out.end(), hit.begin(), hit.end());
        return;
      }
    }
    auto& sym = scratch.symbols;
    sym.resize(piece.size());
    for (size_t k = 0; k < piece.size(); ++k) sym[k] = byte_ids_[static_cast<unsigned char>(piece[k])];
    const size_t m = scratch.merger.merge(
        merges_, reinterpret_cast<const unsigned char*>(piece.data()), sym.data(), sym.size());
    out.insert(out.end(), sym.begin(), sym.begin() + static_cast<std::ptrdiff_t>(m));
    if (cacheable) scratch.cache.insert(piece, h, std::span<const int32_t>(sym.data(), m));
  }

  uint64_t instance_;
  bool piece_cache_ = true;
  bool nfc_ = true;
  size_t n_ = 0;
  std::string strings_;  // vocabulary strings of all tokens, back to back
  std::vector<uint32_t> string_offsets_;
  std::vector<int32_t> types_;
  std::string bytes_;
  std::vector<uint32_t> offsets_;
  detail::string_index index_;
  detail::merge_table merges_;
  std::array<int32_t, 256> byte_ids_{};
  std::vector<added> added_;
  std::array<uint8_t, 256> first_byte_{};  // bit 0: a user-defined token starts so, bit 1: control
  bool has_user_added_ = false;
  int single_first_byte_ = -1;  // the first byte of every added token when they share it
  int32_t bos_ = -1, eos_ = -1, pad_ = -1;
  std::string chat_template_;
};

static_assert(Tokenizer<tokenizer>);

}  // namespace edgecloud::text
