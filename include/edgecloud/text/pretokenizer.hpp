// SPDX-License-Identifier: Apache-2.0
// The Qwen2/Qwen3 pre-tokenizer: splits text into the pieces that the regex of tokenizer.json
//   (?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*
//   |\s*[\r\n]+|\s+(?!\S)|\s+
// finds, scanning left to right (every character is covered: anything that is neither a letter,
// a number nor a space is taken by the fourth alternative). A hand-written scanner that reproduces
// the regex engine's leftmost-first alternation and backtracking exactly, alternative by
// alternative (see the comments in split_qwen2); tests/text/pretokenizer_test.cpp checks it
// against the regex run by PCRE2 on fixture texts and random Unicode.
// Case-insensitive contractions follow Unicode simple case folding: 'S, 'ſ (U+017F) match 's.
// Stateless; works on views of the caller's text.
#pragma once

#include <edgecloud/text/unicode.hpp>

#include <cstddef>
#include <string_view>

namespace edgecloud::text {

namespace detail {
struct scanned_char {
  char32_t cp;
  uint8_t len;
  uint8_t cls;
};

// Decodes and classifies the character at s[i] (valid UTF-8); len 0 past the end. `bmp` is
// unicode's table of classes of the BMP, fetched once per split.
[[gnu::always_inline]] inline scanned_char scan_char(const unsigned char* s, size_t i, size_t n,
                                                    const uint8_t* bmp) {
  if (i >= n) return {0, 0, 0};
  const unsigned char c = s[i];
  if (c < 0x80) return {c, 1, bmp[c]};
  const size_t len = unicode::utf8_length_from_lead(c);
  const char32_t cp = unicode::utf8_decode(s + i, len);
  return {cp, static_cast<uint8_t>(len), cp < 0x10000 ? bmp[cp] : unicode::classify(cp)};
}

inline bool folds_to(char32_t cp, char lower) {
  if (cp < 0x80) return (static_cast<char>(cp) | 0x20) == lower;
  return lower == 's' && cp == 0x17F;  // ſ LATIN SMALL LETTER LONG S
}
}  // namespace detail

// Calls emit(begin, end) with byte offsets of each piece of `text` (valid UTF-8), in order,
// covering the whole text.
template <class Emit>
void split_qwen2(std::string_view text, Emit&& emit) {
  const auto* s = reinterpret_cast<const unsigned char*>(text.data());
  const size_t n = text.size();
  const uint8_t* bmp = unicode::detail::bmp_classes().data();
  constexpr uint8_t letter = unicode::class_letter, number = unicode::class_number,
                    space = unicode::class_space, newline = unicode::class_newline;
  auto run_end = [&](size_t j, auto&& pred) {  // end of the run of characters satisfying pred
    while (j < n) {
      const auto c = detail::scan_char(s, j, n, bmp);
      if (!pred(c.cls)) break;
      j += c.len;
    }
    return j;
  };
  size_t i = 0;
  while (i < n) {
    const auto c = detail::scan_char(s, i, n, bmp);
    const size_t after = i + c.len;
    // 1. (?i:'s|'t|'re|'ve|'m|'ll|'d)
    if (c.cp == '\'' && after < n) {
      const auto c1 = detail::scan_char(s, after, n, bmp);
      if (detail::folds_to(c1.cp, 's') || detail::folds_to(c1.cp, 't') ||
          detail::folds_to(c1.cp, 'm') || detail::folds_to(c1.cp, 'd')) {
        emit(i, after + c1.len);
        i = after + c1.len;
        continue;
      }
      const bool r = detail::folds_to(c1.cp, 'r'), v = detail::folds_to(c1.cp, 'v'),
                 l = detail::folds_to(c1.cp, 'l');
      if ((r || v || l) && after + c1.len < n) {
        const auto c2 = detail::scan_char(s, after + c1.len, n, bmp);
        if (((r || v) && detail::folds_to(c2.cp, 'e')) || (l && detail::folds_to(c2.cp, 'l'))) {
          const size_t end = after + c1.len + c2.len;
          emit(i, end);
          i = end;
          continue;
        }
      }
    }
    // 2. [^\r\n\p{L}\p{N}]?\p{L}+
    if (c.cls & letter) {
      const size_t end = run_end(after, [](uint8_t k) { return (k & letter) != 0; });
      emit(i, end);
      i = end;
      continue;
    }
    if (!(c.cls & (newline | number)) && after < n) {
      const auto c1 = detail::scan_char(s, after, n, bmp);
      if (c1.cls & letter) {
        const size_t end = run_end(after + c1.len, [](uint8_t k) { return (k & letter) != 0; });
        emit(i, end);
        i = end;
        continue;
      }
    }
    // 3. \p{N}
    if (c.cls & number) {
      emit(i, after);
      i = after;
      continue;
    }
    // 4. ` ?[^\s\p{L}\p{N}]+[\r\n]*` (greedy runs; nothing after them can fail, so no backtracking)
    auto is_other = [](uint8_t k) { return (k & (space | letter | number)) == 0; };
    size_t other_start = n;
    if (is_other(c.cls)) {
      other_start = i;
    } else if (c.cp == ' ' && after < n && is_other(detail::scan_char(s, after, n, bmp).cls)) {
      other_start = after;
    }
    if (other_start != n) {
      size_t end = run_end(other_start, is_other);
      end = run_end(end, [](uint8_t k) { return (k & newline) != 0; });
      emit(i, end);
      i = end;
      continue;
    }
    // c is white space. Let the run of white space be [i, ws_end).
    size_t ws_end = i, last_newline_end = 0, last_char_start = i;
    while (ws_end < n) {
      const auto w = detail::scan_char(s, ws_end, n, bmp);
      if (!(w.cls & space)) break;
      last_char_start = ws_end;
      ws_end += w.len;
      if (w.cls & newline) last_newline_end = ws_end;
    }
    // 5. \s*[\r\n]+ : \s* backtracks to the last \r or \n of the run, which [\r\n]+ then takes.
    if (last_newline_end != 0) {
      emit(i, last_newline_end);
      i = last_newline_end;
      continue;
    }
    // 6. \s+(?!\S) : the whole run at the end of the text, else the run minus its last character.
    // 7. \s+ : a single white space character before a non-space.
    const size_t end = (ws_end == n || last_char_start == i) ? ws_end : last_char_start;
    emit(i, end);
    i = end;
  }
}

}  // namespace edgecloud::text
