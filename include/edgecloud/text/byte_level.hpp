// SPDX-License-Identifier: Apache-2.0
// GPT-2 "byte-level" alphabet: every byte 0..255 is written as one printable Unicode character so
// that BPE vocabularies can be stored as text. Bytes that are printable Latin-1 ('!'..'~',
// '¡'..'¬', '®'..'ÿ') stand for themselves; the other 68 bytes are mapped, in increasing order,
// to U+0100, U+0101, ... (so the space 0x20 is 'Ġ' U+0120 and '\n' is 'Ċ' U+010A).
// Pure functions over constexpr tables; nothing here owns memory.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace edgecloud::text::byte_level {

namespace detail {
constexpr bool stands_for_itself(unsigned b) {
  return (b >= 0x21 && b <= 0x7E) || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
}
constexpr std::array<char32_t, 256> make_byte_to_code_point() {
  std::array<char32_t, 256> table{};
  char32_t next = 0x100;
  for (unsigned b = 0; b < 256; ++b) table[b] = stands_for_itself(b) ? b : next++;
  return table;
}
}  // namespace detail

// byte -> code point of its byte-level character.
inline constexpr std::array<char32_t, 256> byte_to_code_point = detail::make_byte_to_code_point();

namespace detail {
inline constexpr char32_t alphabet_end = 0x144;  // 0x100 + the 68 remapped bytes
constexpr std::array<int16_t, alphabet_end> make_code_point_to_byte() {
  std::array<int16_t, alphabet_end> table{};
  for (auto& v : table) v = -1;
  for (unsigned b = 0; b < 256; ++b) table[byte_to_code_point[b]] = static_cast<int16_t>(b);
  return table;
}
inline constexpr std::array<int16_t, alphabet_end> code_point_to_byte_table =
    make_code_point_to_byte();
}  // namespace detail

// The inverse: the byte a byte-level character stands for, -1 for any other character.
inline constexpr int code_point_to_byte(char32_t cp) {
  return cp < detail::alphabet_end ? detail::code_point_to_byte_table[cp] : -1;
}

inline void append_utf8(std::string& out, char32_t cp) {
  if (cp < 0x80) {
    out += static_cast<char>(cp);
  } else if (cp < 0x800) {
    out += static_cast<char>(0xC0 | (cp >> 6));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else if (cp < 0x10000) {
    out += static_cast<char>(0xE0 | (cp >> 12));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else {
    out += static_cast<char>(0xF0 | (cp >> 18));
    out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  }
}

// Raw bytes -> their byte-level string ("hi there" -> "hiĠthere").
inline std::string encode(std::string_view bytes) {
  std::string out;
  out.reserve(bytes.size() * 2);
  for (unsigned char b : bytes) append_utf8(out, byte_to_code_point[b]);
  return out;
}

// Appends the raw bytes of a byte-level string to `out`; false (out partly written) when the
// string holds a character outside the alphabet or is not valid UTF-8.
inline bool append_decoded(std::string& out, std::string_view text) {
  size_t i = 0;
  while (i < text.size()) {
    const auto c0 = static_cast<unsigned char>(text[i]);
    char32_t cp;
    if (c0 < 0x80) {
      cp = c0;
      i += 1;
    } else if ((c0 & 0xE0) == 0xC0 && i + 1 < text.size() &&
               (static_cast<unsigned char>(text[i + 1]) & 0xC0) == 0x80) {
      cp = (char32_t(c0 & 0x1F) << 6) | (static_cast<unsigned char>(text[i + 1]) & 0x3F);
      i += 2;
    } else {
      return false;  // every byte-level character is < U+0800
    }
    const int b = code_point_to_byte(cp);
    if (b < 0) return false;
    out += static_cast<char>(b);
  }
  return true;
}

// Byte-level string -> raw bytes; nullopt when it holds a character outside the alphabet or is
// not valid UTF-8 (such a token is not a byte-level token: e.g. an added token's literal text).
inline std::optional<std::string> decode(std::string_view text) {
  std::string out;
  if (!append_decoded(out, text)) return std::nullopt;
  return out;
}

}  // namespace edgecloud::text::byte_level
