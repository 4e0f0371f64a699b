// SPDX-License-Identifier: Apache-2.0
// On-device PII detection without a model: phone numbers, Chinese resident ID numbers, emails,
// bank card numbers, street addresses (Chinese and English) and IP addresses, found by hand-written
// scanners over the UTF-8 bytes, validated by their check digits where they have one.
//
// Why no regex engine: std::regex is not UTF-8 aware and is slow; the validations (ISO 7064
// MOD 11-2, Luhn, calendar dates, octet ranges) are code anyway. Every scanner reads bytes only
// through bounds-checked helpers and every span it returns starts and ends on a UTF-8 character
// boundary, so `redact` never splits a character, whatever bytes (valid UTF-8 or not) come in.
//
// Precision over recall for numbers: a digit run must stand alone (no ASCII letter or digit on
// either side), IDs must pass their check digit and carry a real birth date, cards must pass
// Luhn and start like a card, phones must have a real mobile prefix or an explicit country code
// or area-code shape. Prices, dates, order numbers and version strings are therefore not flagged.
//
// Ownership: `detect_pii` returns plain values (byte offsets into the caller's text); it keeps
// no reference to the text. `redact` returns a new string.
#pragma once

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <edgecloud/error.hpp>
#include <initializer_list>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace edgecloud::tasks {

enum class pii_kind : uint8_t { phone, id_number, email, bank_card, address, ip_address };

inline constexpr std::array<pii_kind, 6> all_pii_kinds = {pii_kind::phone,   pii_kind::id_number,
                                                          pii_kind::email,   pii_kind::bank_card,
                                                          pii_kind::address, pii_kind::ip_address};

inline constexpr std::string_view to_string(pii_kind k) {
  switch (k) {
    case pii_kind::phone:
      return "phone";
    case pii_kind::id_number:
      return "id_number";
    case pii_kind::email:
      return "email";
    case pii_kind::bank_card:
      return "bank_card";
    case pii_kind::address:
      return "address";
    case pii_kind::ip_address:
      return "ip_address";
  }
  return "unknown";
}

// The placeholder `redact` writes in place of a span of this kind.
inline constexpr std::string_view placeholder(pii_kind k) {
  switch (k) {
    case pii_kind::phone:
      return "[PHONE]";
    case pii_kind::id_number:
      return "[ID]";
    case pii_kind::email:
      return "[EMAIL]";
    case pii_kind::bank_card:
      return "[BANK_CARD]";
    case pii_kind::address:
      return "[ADDRESS]";
    case pii_kind::ip_address:
      return "[IP]";
  }
  return "[PII]";
}

// One finding: bytes [begin, end) of the scanned text.
struct pii_span {
  size_t begin = 0;
  size_t end = 0;
  pii_kind kind = pii_kind::phone;
  double confidence = 0.0;  // heuristic certainty in [0, 1]; checksummed kinds score highest
  friend bool operator==(const pii_span&, const pii_span&) = default;
};

struct pii_options {
  bool phones = true;
  bool id_numbers = true;
  bool emails = true;
  bool bank_cards = true;
  bool addresses = true;
  bool ip_addresses = true;
  double min_confidence = 0.5;  // findings below this are dropped
};

namespace detail::pii {

inline bool is_digit(unsigned char c) {
  return c >= '0' && c <= '9';
}
inline bool is_alpha(unsigned char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}
inline bool is_alnum(unsigned char c) {
  return is_digit(c) || is_alpha(c);
}
inline bool is_hex(unsigned char c) {
  return is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

// Byte at i, or 0 past either end: lets the scanners look around without bounds checks of their
// own.
inline unsigned char at(std::string_view s, size_t i) {
  return i < s.size() ? static_cast<unsigned char>(s[i]) : 0;
}
inline unsigned char before(std::string_view s, size_t i) {
  return i == 0 ? 0 : at(s, i - 1);
}

// Decodes one UTF-8 character at i. Invalid or truncated sequences decode as U+FFFD of length 1,
// so the caller always advances and never reads past the end.
struct code_point {
  char32_t value;
  size_t length;
};
inline code_point decode(std::string_view s, size_t i) {
  unsigned char c = at(s, i);
  if (c < 0x80) return {c, 1};
  size_t n = c >= 0xF0 && c < 0xF5 ? 4 : c >= 0xE0 ? 3 : c >= 0xC2 && c < 0xE0 ? 2 : 0;
  if (n == 0 || i + n > s.size()) return {0xFFFD, 1};
  char32_t v = c & (0x7F >> n);
  for (size_t k = 1; k < n; ++k) {
    unsigned char cc = at(s, i + k);
    if ((cc & 0xC0) != 0x80) return {0xFFFD, 1};
    v = (v << 6) | (cc & 0x3F);
  }
  return {v, n};
}
// Start of the character that ends just before byte i (i itself if i == 0).
inline size_t previous_char_start(std::string_view s, size_t i) {
  if (i == 0) return 0;
  size_t j = i - 1;
  for (size_t k = 0; k < 3 && j > 0 && (at(s, j) & 0xC0) == 0x80; ++k) --j;
  return decode(s, j).length == i - j ? j : i - 1;
}

inline bool is_cjk(char32_t c) {
  return (c >= 0x4E00 && c <= 0x9FFF) || (c >= 0x3400 && c <= 0x4DBF) ||
         (c >= 0x20000 && c <= 0x2FA1F);
}

// --- Chinese resident ID (GB 11643-1999): 6-digit region, YYYYMMDD birth date, 3-digit
// sequence, check character. Check = ISO 7064 MOD 11-2: weights w_i = 2^(17-i) mod 11 for the
// 17 leading digits, check = (12 - sum mod 11) mod 11, written as '0'..'9' or 'X' for 10.
inline bool valid_birth_date(int y, int m, int d) {
  if (y < 1900 || y > 2100 || m < 1 || m > 12 || d < 1) return false;
  static constexpr int days[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
  return d <= days[m - 1] + (m == 2 && leap ? 1 : 0);
}
inline bool valid_region_prefix(int two_digits) {
  // Province-level codes of GB/T 2260 (11..15, 21..23, 31..37, 41..46, 50..54, 61..65, 71, 81..83).
  int a = two_digits / 10, b = two_digits % 10;
  switch (a) {
    case 1:
      return b >= 1 && b <= 5;
    case 2:
      return b >= 1 && b <= 3;
    case 3:
      return b >= 1 && b <= 7;
    case 4:
      return b >= 1 && b <= 6;
    case 5:
      return b <= 4;
    case 6:
      return b >= 1 && b <= 5;
    case 7:
      return b == 1;
    case 8:
      return b >= 1 && b <= 3;
    default:
      return false;
  }
}
inline char id_check_character(std::string_view first17) {
  static constexpr int weights[17] = {7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2};
  int sum = 0;
  for (size_t i = 0; i < 17; ++i) sum += (first17[i] - '0') * weights[i];
  static constexpr char check[11] = {'1', '0', 'X', '9', '8', '7', '6', '5', '4', '3', '2'};
  return check[sum % 11];
}
// `id` is 18 characters: 17 digits then a digit or X/x.
inline bool valid_resident_id(std::string_view id) {
  if (id.size() != 18) return false;
  for (size_t i = 0; i < 17; ++i)
    if (!is_digit(id[i])) return false;
  char last = id[17] == 'x' ? 'X' : id[17];
  if (!is_digit(last) && last != 'X') return false;
  auto num = [&](size_t pos, size_t len) {
    int v = 0;
    for (size_t i = 0; i < len; ++i) v = v * 10 + (id[pos + i] - '0');
    return v;
  };
  if (!valid_region_prefix(num(0, 2))) return false;
  if (!valid_birth_date(num(6, 4), num(10, 2), num(12, 2))) return false;
  return id_check_character(id.substr(0, 17)) == last;
}

// Luhn (ISO/IEC 7812-1): double every second digit from the right, sum digits, ≡ 0 mod 10.
inline bool luhn_valid(std::string_view digits) {
  int sum = 0;
  bool doubled = false;
  for (size_t i = digits.size(); i-- > 0;) {
    int d = digits[i] - '0';
    if (doubled) d = d * 2 > 9 ? d * 2 - 9 : d * 2;
    sum += d;
    doubled = !doubled;
  }
  return !digits.empty() && sum % 10 == 0;
}

// --- Digit groups: a run of digits where single separators (space, '-', '.') may sit between
// groups. `digits` collects the digits only; `group_sizes` the size of each group.
struct digit_run {
  size_t begin = 0, end = 0;
  std::string digits;
  std::vector<size_t> group_sizes;
  char separator = 0;  // the one separator used between groups (0 if a single group)
  bool mixed_separators = false;
};
// Reads digits from i, allowing one separator char from `seps` between groups. Stops before a
// separator not followed by a digit.
inline digit_run read_digit_groups(std::string_view s, size_t i, std::string_view seps,
                                   size_t max_digits = 24) {
  digit_run r;
  r.begin = i;
  size_t group = 0;
  while (i < s.size() && r.digits.size() <= max_digits) {
    unsigned char c = at(s, i);
    if (is_digit(c)) {
      r.digits.push_back(static_cast<char>(c));
      ++group;
      ++i;
      continue;
    }
    if (group > 0 && seps.find(static_cast<char>(c)) != std::string_view::npos &&
        is_digit(at(s, i + 1))) {
      if (r.separator != 0 && r.separator != static_cast<char>(c)) r.mixed_separators = true;
      r.separator = static_cast<char>(c);
      r.group_sizes.push_back(group);
      group = 0;
      ++i;
      continue;
    }
    break;
  }
  if (group > 0) r.group_sizes.push_back(group);
  r.end = i;
  return r;
}

// A number stands alone when no ASCII letter/digit (and no '.', '/' or ',' followed or preceded
// by a digit, as in prices, decimals and dates) touches it.
inline bool stands_alone(std::string_view s, size_t b, size_t e) {
  unsigned char p = before(s, b), n = at(s, e);
  if (is_alnum(p) || is_alnum(n) || p == '_' || n == '_') return false;
  auto numeric_joiner = [](unsigned char c) {
    return c == '.' || c == ',' || c == '/' || c == ':' || c == '-';
  };
  if (numeric_joiner(p) && b >= 2 && is_digit(at(s, b - 2))) return false;
  if (numeric_joiner(n) && is_digit(at(s, e + 1))) return false;
  return true;
}

inline bool groups_are_vec(const std::vector<size_t>& groups, std::initializer_list<size_t> sizes) {
  return std::equal(groups.begin(), groups.end(), sizes.begin(), sizes.end());
}

}  // namespace detail::pii

}  // namespace edgecloud::tasks

#include <edgecloud/tasks/pii_scanners.hpp>
