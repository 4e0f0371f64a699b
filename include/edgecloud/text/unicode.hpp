// SPDX-License-Identifier: Apache-2.0
// Unicode services of the tokenizer, all backed by utf8proc (Unicode 15 tables):
//  * UTF-8 validation with the defined replacement of invalid input: every maximal subpart of an
//    ill-formed sequence becomes one U+FFFD (Unicode §3.9 "substitution of maximal subparts", the
//    rule of WHATWG, Python's errors="replace" and Rust's from_utf8_lossy).
//  * Character classes of the Qwen2 pre-tokenizer regex: \p{L} (Lu Ll Lt Lm Lo), \p{N} (Nd Nl
//    No) and \s (the Unicode White_Space property, which is what Oniguruma, the regex engine of
//    Hugging Face tokenizers, uses; PCRE2 differs only on U+180E, see docs/tokenizer.md).
//  * NFC with a fast path. A code point is "NFC-stable" when it is unchanged by NFC alone, has
//    canonical combining class 0 and is never the second element of a canonical composition.
//    Nothing before a stable character can interact with it or anything after it, so NFC(text)
//    is the concatenation of NFC over regions that each start at a stable character; only regions
//    holding an unstable character (combining marks, Hangul jamo, singletons) go through
//    utf8proc. Text made only of stable characters (ASCII, CJK ideographs, precomposed letters,
//    most of real text) is returned as is, without copying.
// Tables are built once per process on first use (thread-safe static init, a few milliseconds)
// and owned by function-local statics; every function returns values or views into its input or
// a caller-owned buffer.
#pragma once

#include <utf8proc.h>

#include <array>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace edgecloud::text::unicode {

inline constexpr char32_t replacement_character = 0xFFFD;

// ---------------------------------------------------------------------------------------------
// UTF-8

// Length of the well-formed UTF-8 sequence at s[0..n) (1..4), or 0 when it is ill-formed or
// truncated; then `*maximal_subpart` is the number of bytes the replacement covers (>= 1).
inline size_t utf8_sequence_length(const unsigned char* s, size_t n, size_t* maximal_subpart) {
  const unsigned c = s[0];
  size_t len;
  unsigned lo = 0x80, hi = 0xBF;  // allowed range of the second byte (Unicode Table 3-7)
  if (c < 0x80) return 1;
  if (c >= 0xC2 && c <= 0xDF) len = 2;
  else if (c >= 0xE0 && c <= 0xEF) len = 3, lo = (c == 0xE0 ? 0xA0 : 0x80), hi = (c == 0xED ? 0x9F : 0xBF);
  else if (c >= 0xF0 && c <= 0xF4) len = 4, lo = (c == 0xF0 ? 0x90 : 0x80), hi = (c == 0xF4 ? 0x8F : 0xBF);
  else {
    *maximal_subpart = 1;
    return 0;
  }
  size_t k = 1;
  for (; k < len && k < n; ++k) {
    const unsigned b = s[k];
    if (k == 1 ? (b < lo || b > hi) : (b < 0x80 || b > 0xBF)) break;
  }
  if (k == len) return len;
  *maximal_subpart = k;
  return 0;
}

// Decodes the code point of a well-formed sequence of `len` bytes.
inline char32_t utf8_decode(const unsigned char* s, size_t len) {
  switch (len) {
    case 1: return s[0];
    case 2: return (char32_t(s[0] & 0x1F) << 6) | (s[1] & 0x3F);
    case 3: return (char32_t(s[0] & 0x0F) << 12) | (char32_t(s[1] & 0x3F) << 6) | (s[2] & 0x3F);
    default:
      return (char32_t(s[0] & 0x07) << 18) | (char32_t(s[1] & 0x3F) << 12) |
             (char32_t(s[2] & 0x3F) << 6) | (s[3] & 0x3F);
  }
}

// Length of the sequence starting with this lead byte in *valid* UTF-8.
inline size_t utf8_length_from_lead(unsigned char c) {
  return c < 0x80 ? 1 : c < 0xE0 ? 2 : c < 0xF0 ? 3 : 4;
}

inline void append_utf8(std::string& out, char32_t cp) {
  char buf[4];
  size_t n;
  if (cp < 0x80) buf[0] = char(cp), n = 1;
  else if (cp < 0x800) buf[0] = char(0xC0 | (cp >> 6)), buf[1] = char(0x80 | (cp & 0x3F)), n = 2;
  else if (cp < 0x10000)
    buf[0] = char(0xE0 | (cp >> 12)), buf[1] = char(0x80 | ((cp >> 6) & 0x3F)),
    buf[2] = char(0x80 | (cp & 0x3F)), n = 3;
  else
    buf[0] = char(0xF0 | (cp >> 18)), buf[1] = char(0x80 | ((cp >> 12) & 0x3F)),
    buf[2] = char(0x80 | ((cp >> 6) & 0x3F)), buf[3] = char(0x80 | (cp & 0x3F)), n = 4;
  out.append(buf, n);
}

// Index of the first byte that is not part of well-formed UTF-8 (text.size() if none).
inline size_t first_invalid_utf8(std::string_view text) {
  const auto* s = reinterpret_cast<const unsigned char*>(text.data());
  const size_t n = text.size();
  size_t i = 0;
  while (i < n) {
    // ASCII fast path: 8 bytes at a time.
    while (i + 8 <= n) {
      uint64_t w;
      std::memcpy(&w, s + i, 8);
      if (w & 0x8080808080808080ull) break;
      i += 8;
    }
    if (i >= n) break;
    if (s[i] < 0x80) {
      ++i;
      continue;
    }
    size_t bad;
    const size_t len = utf8_sequence_length(s + i, n - i, &bad);
    if (len == 0) return i;
    i += len;
  }
  return n;
}

// Appends `text` to `out` with every maximal ill-formed subpart replaced by U+FFFD.
inline void append_sanitized_utf8(std::string& out, std::string_view text) {
  const auto* s = reinterpret_cast<const unsigned char*>(text.data());
  const size_t n = text.size();
  size_t i = 0;
  while (i < n) {
    const size_t bad_at = i + first_invalid_utf8(text.substr(i));
    out.append(text.data() + i, bad_at - i);
    if (bad_at >= n) break;
    size_t skip = 1;
    utf8_sequence_length(s + bad_at, n - bad_at, &skip);
    append_utf8(out, replacement_character);
    i = bad_at + skip;
  }
}

// The text itself when it is valid UTF-8, else a sanitized copy in `scratch`.
inline std::string_view sanitize_utf8(std::string_view text, std::string& scratch) {
  if (first_invalid_utf8(text) == text.size()) return text;
  scratch.clear();
  append_sanitized_utf8(scratch, text);
  return scratch;
}

// ---------------------------------------------------------------------------------------------
// Character classes

enum char_class : uint8_t {
  class_letter = 1,      // \p{L}
  class_number = 2,      // \p{N}
  class_space = 4,       // \s (White_Space)
  class_newline = 8,     // \r or \n
  class_nfc_stable = 16  // see the file comment
};

namespace detail {

inline bool is_white_space(char32_t c) {
  return (c >= 0x09 && c <= 0x0D) || c == 0x20 || c == 0x85 || c == 0xA0 || c == 0x1680 ||
         (c >= 0x2000 && c <= 0x200A) || c == 0x2028 || c == 0x2029 || c == 0x202F ||
         c == 0x205F || c == 0x3000;
}

inline uint8_t category_bits(char32_t c) {
  const auto cat = utf8proc_category(static_cast<utf8proc_int32_t>(c));
  uint8_t bits = 0;
  if (cat >= UTF8PROC_CATEGORY_LU && cat <= UTF8PROC_CATEGORY_LO) bits |= class_letter;
  if (cat >= UTF8PROC_CATEGORY_ND && cat <= UTF8PROC_CATEGORY_NO) bits |= class_number;
  if (is_white_space(c)) bits |= class_space;
  if (c == '\r' || c == '\n') bits |= class_newline;
  return bits;
}

// One bit per code point: NFC-stable (see the file comment).
class nfc_stable_set {
 public:
  nfc_stable_set() : bits_(new uint64_t[words]()) {
    std::vector<uint8_t> unstable(0x110000, 0);
    for (char32_t c = 0x1161; c <= 0x1175; ++c) unstable[c] = 1;  // Hangul V jamo
    for (char32_t c = 0x11A8; c <= 0x11C2; ++c) unstable[c] = 1;  // Hangul T jamo
    for (char32_t c = 0; c < 0x110000; ++c) {
      if (c >= 0xD800 && c <= 0xDFFF) continue;
      const auto* p = utf8proc_get_property(static_cast<utf8proc_int32_t>(c));
      if (p->combining_class != 0) unstable[c] = 1;
      if (p->decomp_seqindex == UINT16_MAX || p->decomp_type != 0) continue;
      if (c >= 0xAC00 && c <= 0xD7A3) continue;  // Hangul syllables: NFC-stable themselves
      // Canonical decomposition: every element after the first may compose with what precedes.
      utf8proc_int32_t buf[8];
      int boundclass = 0;
      const auto n = utf8proc_decompose_char(static_cast<utf8proc_int32_t>(c), buf, 8,
                                             UTF8PROC_DECOMPOSE, &boundclass);
      for (utf8proc_ssize_t k = 1; k < n && k < 8; ++k) unstable[buf[k]] = 1;
      // Singletons and composition exclusions change under NFC.
      utf8proc_int32_t one[8] = {static_cast<utf8proc_int32_t>(c)};
      const auto m = utf8proc_decompose_char(one[0], one, 8,
                                             static_cast<utf8proc_option_t>(UTF8PROC_DECOMPOSE | UTF8PROC_STABLE), &boundclass);
      if (m > 0 && m <= 8) {
        const auto r = utf8proc_normalize_utf32(
            one, m, static_cast<utf8proc_option_t>(UTF8PROC_COMPOSE | UTF8PROC_STABLE));
        if (r != 1 || one[0] != static_cast<utf8proc_int32_t>(c)) unstable[c] = 1;
      } else {
        unstable[c] = 1;
      }
    }
    for (char32_t c = 0; c < 0x110000; ++c)
      if (!unstable[c]) bits_[c >> 6] |= uint64_t{1} << (c & 63);
  }
  bool contains(char32_t c) const { return c < 0x110000 && ((bits_[c >> 6] >> (c & 63)) & 1); }

 private:
  static constexpr size_t words = 0x110000 / 64;
  std::unique_ptr<uint64_t[]> bits_;
};

inline const nfc_stable_set& nfc_stable() {
  static const nfc_stable_set set;
  return set;
}

// char_class bits of every BMP code point (64 KiB).
inline const std::array<uint8_t, 0x10000>& bmp_classes() {
  static const auto table = [] {
    auto t = std::make_unique<std::array<uint8_t, 0x10000>>();
    const auto& stable = nfc_stable();
    for (char32_t c = 0; c < 0x10000; ++c)
      (*t)[c] = category_bits(c) | (stable.contains(c) ? class_nfc_stable : 0);
    return t;
  }();
  return *table;
}

}  // namespace detail

// char_class bits of a code point.
inline uint8_t classify(char32_t c) {
  if (c < 0x10000) return detail::bmp_classes()[c];
  if (c >= 0x110000) return 0;
  return detail::category_bits(c) | (detail::nfc_stable().contains(c) ? class_nfc_stable : 0);
}

// ---------------------------------------------------------------------------------------------
// NFC

namespace detail {
// Appends NFC(region) computed by utf8proc; region is valid UTF-8.
inline void append_nfc_by_utf8proc(std::string& out, std::string_view region) {
  utf8proc_uint8_t* mapped = nullptr;
  const auto n = utf8proc_map(reinterpret_cast<const utf8proc_uint8_t*>(region.data()),
                              static_cast<utf8proc_ssize_t>(region.size()), &mapped,
                              static_cast<utf8proc_option_t>(UTF8PROC_STABLE | UTF8PROC_COMPOSE));
  if (n < 0) {  // cannot happen for valid UTF-8; keep the text rather than lose it
    out.append(region);
  } else {
    out.append(reinterpret_cast<const char*>(mapped), static_cast<size_t>(n));
  }
  std::free(mapped);
}
}  // namespace detail

// NFC of valid UTF-8 `text`: `text` itself when it is already NFC by the fast test, else the
// normalized text written to `scratch`.
inline std::string_view nfc(std::string_view text, std::string& scratch) {
  const auto* s = reinterpret_cast<const unsigned char*>(text.data());
  const size_t n = text.size();
  const auto& table = detail::bmp_classes();
  size_t copied = 0;           // text[0..copied) is already in scratch (when writing)
  size_t last_stable = 0;      // start of the last stable character seen
  bool writing = false;
  size_t i = 0;
  while (i < n) {
    const unsigned c0 = s[i];
    if (c0 < 0x80) {  // ASCII is stable; skip 8 bytes at a time
      size_t j = i + 1;
      while (j + 8 <= n) {
        uint64_t w;
        std::memcpy(&w, s + j, 8);
        if (w & 0x8080808080808080ull) break;
        j += 8;
      }
      while (j < n && s[j] < 0x80) ++j;
      last_stable = j - 1;
      i = j;
      continue;
    }
    const size_t len = unicode::utf8_length_from_lead(static_cast<unsigned char>(c0));
    const char32_t cp = utf8_decode(s + i, len);
    const bool stable =
        cp < 0x10000 ? (table[cp] & class_nfc_stable) != 0 : detail::nfc_stable().contains(cp);
    if (stable) {
      last_stable = i;
      i += len;
      continue;
    }
    // Unstable: normalize [last stable character, next stable character).
    const size_t region_start = last_stable >= copied ? last_stable : copied;
    size_t j = i + len;
    while (j < n) {
      const size_t l = utf8_length_from_lead(s[j]);
      const char32_t c = utf8_decode(s + j, l);
      if (c < 0x80 || (c < 0x10000 ? (table[c] & class_nfc_stable) != 0
                                    : detail::nfc_stable().contains(c)))
        break;
      j += l;
    }
    if (!writing) {
      scratch.clear();
      scratch.reserve(n + 16);
      writing = true;
    }
    scratch.append(text.data() + copied, region_start - copied);
    detail::append_nfc_by_utf8proc(scratch, text.substr(region_start, j - region_start));
    copied = j;
    i = j;
    last_stable = j;  // the next character (if any) is stable
  }
  if (!writing) return text;
  scratch.append(text.data() + copied, n - copied);
  return scratch;
}

// Convenience: NFC of any bytes (invalid UTF-8 replaced first), as a new string.
inline std::string to_nfc(std::string_view text) {
  std::string sanitized, normalized;
  const auto valid = sanitize_utf8(text, sanitized);
  return std::string(nfc(valid, normalized));
}

}  // namespace edgecloud::text::unicode
