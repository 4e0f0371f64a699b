// SPDX-License-Identifier: Apache-2.0
// Street-address scanners for edgecloud/tasks/pii.hpp (include that header, not this one).
//
// Chinese: an address is anchored on a house number, "<road name><路|街|道|巷|弄|胡同|村>
// <number>号", extended left over administrative segments ending in 省/市/区/县/镇/乡 and right
// over building parts (号楼, 栋, 单元, 室, ...); or on a building chain such as "3号楼2单元401室"
// after an estate name (小区, 花园, 公寓, 大厦, 苑). Lead-in words ("我住在", "地址是", "寄到") are
// trimmed from the left edge. A city or district on its own is not flagged.
// English: "<1-6 digits>[letter] <1-4 capitalised words> <street suffix>[.]" optionally followed
// by a unit ("Apt 4B", "Suite 100", "#12") and ", City, ST 12345".
#pragma once

#include <edgecloud/tasks/pii.hpp>

namespace edgecloud::tasks::detail::pii {

struct char_at {
  size_t offset;
  size_t length;
  char32_t value;
};
inline std::vector<char_at> decode_all(std::string_view s) {
  std::vector<char_at> out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size();) {
    code_point cp = decode(s, i);
    out.push_back({i, cp.length, cp.value});
    i += cp.length;
  }
  return out;
}

inline bool is_cn_numeral(char32_t c) {
  return std::u32string_view(U"零〇一二三四五六七八九十百两").find(c) != std::u32string_view::npos;
}
inline bool is_admin_suffix(char32_t c) {
  return std::u32string_view(U"省市区县镇乡旗州").find(c) != std::u32string_view::npos;
}
// Characters that end a place name when walking left: grammar words that do not occur in names.
inline bool is_name_stop(char32_t c) {
  return std::u32string_view(U"的了和与及或从向把给请帮我你他她它们就也都还吗呢吧啊").find(c) !=
         std::u32string_view::npos;
}

// Everyday two-character words that end in a road suffix character.
inline bool is_common_word_ending(char32_t previous, char32_t suffix) {
  static constexpr std::u32string_view words[] = {
      U"知道", U"难道", U"味道", U"频道", U"渠道", U"报道", U"说道", U"一道",
      U"顺道", U"轨道", U"通道", U"赛道", U"车道", U"跑道", U"一路", U"走路",
      U"线路", U"电路", U"网路", U"道路", U"思路", U"上街", U"逛街", U"一街"};
  for (std::u32string_view w : words)
    if (w[0] == previous && w[1] == suffix) return true;
  return false;
}

// Matches `word` (a sequence of code points) at chars[k...]; returns its length or 0.
inline size_t match_word(const std::vector<char_at>& chars, size_t k, std::u32string_view word) {
  if (k + word.size() > chars.size()) return 0;
  for (size_t i = 0; i < word.size(); ++i)
    if (chars[k + i].value != word[i]) return 0;
  return word.size();
}

// Walks left from chars[k-1] over at most `cap` CJK characters that are neither admin suffixes nor
// stop words; returns the index of the leftmost one taken (k if none).
inline size_t walk_name_left(const std::vector<char_at>& chars, size_t k, size_t cap) {
  size_t j = k;
  while (j > 0 && k - j < cap) {
    char32_t c = chars[j - 1].value;
    if (!is_cjk(c) || is_admin_suffix(c) || is_name_stop(c)) break;
    --j;
  }
  return j;
}

// Trims lead-in words from the start of a name segment [b, e) (e = index of its suffix), keeping
// at least one character of name.
inline size_t trim_lead_in(const std::vector<char_at>& chars, size_t b, size_t e) {
  static constexpr std::u32string_view lead_ins[] = {
      U"我家住在", U"我住在", U"我家在", U"家住在", U"地址是", U"地址为", U"地址在", U"住址是",
      U"住在",     U"家住",   U"地址",   U"住址",   U"寄到",   U"送到",   U"发到",   U"寄往",
      U"位于",     U"在",     U"是",     U"到",     U"往",     U"住",     U"家"};
  bool trimmed = true;
  while (trimmed) {
    trimmed = false;
    for (std::u32string_view w : lead_ins) {
      size_t n = match_word(chars, b, w);
      if (n > 0 && b + n < e) {
        b += n;
        trimmed = true;
        break;
      }
    }
  }
  return b;
}

// Extends right from chars[k] over building parts "<digits|letters|numerals|-><suffix>"; returns
// the index after the last part taken.
inline size_t extend_building_parts(const std::vector<char_at>& chars, size_t k,
                                    size_t* parts = nullptr) {
  static constexpr std::u32string_view suffixes[] = {U"号楼", U"单元", U"栋", U"幢", U"座", U"楼",
                                                     U"层",   U"室",   U"号", U"户", U"房"};
  size_t taken = 0;
  while (k < chars.size()) {
    size_t j = k;
    while (j < chars.size() && j - k < 8) {
      char32_t c = chars[j].value;
      if (c < 0x80 ? (is_alnum(static_cast<unsigned char>(c)) || c == '-') : is_cn_numeral(c))
        ++j;
      else
        break;
    }
    if (j == k) break;
    size_t n = 0;
    for (std::u32string_view w : suffixes)
      if ((n = match_word(chars, j, w)) > 0) break;
    if (n == 0) break;
    k = j + n;
    ++taken;
  }
  if (parts) *parts = taken;
  return k;
}

inline void scan_chinese_addresses(std::string_view s, std::vector<pii_span>& out) {
  std::vector<char_at> chars = decode_all(s);
  auto byte_span = [&](size_t b, size_t e) {
    return std::pair{chars[b].offset, chars[e - 1].offset + chars[e - 1].length};
  };
  static constexpr std::u32string_view roads[] = {U"胡同", U"大道", U"大街", U"路", U"街",
                                                  U"道",   U"巷",   U"弄",   U"村"};
  for (size_t k = 0; k < chars.size(); ++k) {
    // Anchor 1: <road suffix><number>号
    size_t road_len = 0;
    for (std::u32string_view w : roads)
      if ((road_len = match_word(chars, k, w)) > 0) break;
    if (road_len > 0) {
      size_t num_b = k + road_len, num_e = num_b;
      while (num_e < chars.size() && num_e - num_b < 6 &&
             ((chars[num_e].value < 0x80 &&
               is_digit(static_cast<unsigned char>(chars[num_e].value))) ||
              is_cn_numeral(chars[num_e].value) || (chars[num_e].value == '-' && num_e > num_b)))
        ++num_e;
      if (num_e > num_b && match_word(chars, num_e, U"号") && !match_word(chars, num_e, U"号码")) {
        size_t road_b = walk_name_left(chars, k, 8);
        // A house number needs a road name of two characters or more, and the suffix must not
        // be the end of an everyday word ("知道3号" is "knows the 3rd", not an address).
        if (k - road_b < 2 ||
            (road_len == 1 && is_common_word_ending(chars[k - 1].value, chars[k].value)))
          continue;
        size_t b = road_b;
        size_t admin_segments = 0;
        while (b > 0 && is_admin_suffix(chars[b - 1].value)) {
          size_t seg_b = walk_name_left(chars, b - 1, 8);
          if (seg_b == b - 1) break;
          b = trim_lead_in(chars, seg_b, b - 1);
          ++admin_segments;
          if (b != seg_b) break;  // a lead-in word starts the address
        }
        if (admin_segments == 0) b = trim_lead_in(chars, road_b, k);
        size_t e = extend_building_parts(chars, num_e + 1);
        auto [bb, be] = byte_span(b, e);
        out.push_back({bb, be, pii_kind::address, admin_segments > 0 ? 0.93 : 0.9});
        k = e - 1;
        continue;
      }
    }
    // Anchor 2: a building chain of at least two parts (3号楼2单元401室, 5栋1201室).
    bool chain_start =
        k < chars.size() &&
        ((chars[k].value < 0x80 && is_digit(static_cast<unsigned char>(chars[k].value))) ||
         is_cn_numeral(chars[k].value)) &&
        (k == 0 ||
         !(chars[k - 1].value < 0x80 && is_alnum(static_cast<unsigned char>(chars[k - 1].value))));
    if (chain_start) {
      size_t parts = 0;
      size_t e = extend_building_parts(chars, k, &parts);
      if (parts >= 2) {
        size_t b = k;
        static constexpr std::u32string_view estates[] = {U"小区", U"花园", U"公寓", U"大厦",
                                                          U"苑",   U"家园", U"新村"};
        for (std::u32string_view w : estates) {
          if (k >= w.size() && match_word(chars, k - w.size(), w)) {
            size_t name_b = walk_name_left(chars, k - w.size(), 8);
            if (name_b < k - w.size()) b = trim_lead_in(chars, name_b, k - w.size());
            break;
          }
        }
        auto [bb, be] = byte_span(b, e);
        out.push_back({bb, be, pii_kind::address, b < k ? 0.88 : 0.8});
        k = e - 1;
      }
    }
  }
}

inline bool is_street_suffix(std::string_view w) {
  static constexpr std::string_view suffixes[] = {
      "Street", "St",      "Avenue",  "Ave",   "Road",     "Rd",   "Boulevard", "Blvd",
      "Lane",   "Ln",      "Drive",   "Dr",    "Court",    "Ct",   "Way",       "Place",
      "Pl",     "Terrace", "Parkway", "Pkwy",  "Highway",  "Hwy",  "Circle",    "Cir",
      "Square", "Sq",      "Trail",   "Alley", "Crescent", "Close"};
  for (std::string_view sfx : suffixes) {
    if (w.size() != sfx.size()) continue;
    bool eq = true;
    for (size_t i = 0; i < w.size() && eq; ++i) {
      char a = w[i], b = sfx[i];
      if (i == 0 ? a != b : (a != b && a != b - ('a' - 'A'))) eq = false;  // "St" or "ST"
    }
    if (eq) return true;
  }
  return false;
}

inline void scan_english_addresses(std::string_view s, std::vector<pii_span>& out) {
  auto read_word = [&](size_t i) {  // letters, digits, '\'', '.', '-' ; returns end
    size_t e = i;
    while (e < s.size() && (is_alnum(at(s, e)) || at(s, e) == '\'' || at(s, e) == '-')) ++e;
    return e;
  };
  for (size_t i = 0; i < s.size(); ++i) {
    if (!is_digit(at(s, i)) || is_alnum(before(s, i)) || before(s, i) == '.' || before(s, i) == ',')
      continue;
    size_t e = i;
    while (is_digit(at(s, e)) && e - i < 7) ++e;
    if (e - i > 6 || is_digit(at(s, e))) {
      while (is_digit(at(s, i + 1))) ++i;
      continue;
    }
    if (is_alpha(at(s, e)) && !is_alnum(at(s, e + 1))) ++e;  // 221B
    if (at(s, e) != ' ') continue;
    // Words: capitalised names or ordinals ("5th"), the last of which is a street suffix.
    size_t pos = e + 1, words = 0, end = 0;
    while (words < 5) {
      unsigned char c = at(s, pos);
      size_t we = read_word(pos);
      if (we == pos) break;
      std::string_view word = s.substr(pos, we - pos);
      bool capitalised = c >= 'A' && c <= 'Z';
      bool ordinal = is_digit(c) && word.size() >= 3 &&
                     (word.ends_with("st") || word.ends_with("nd") || word.ends_with("rd") ||
                      word.ends_with("th"));
      if (!capitalised && !ordinal) break;
      if (words >= 1 && is_street_suffix(word)) {
        end = we + (at(s, we) == '.' ? 1 : 0);
        break;
      }
      ++words;
      pos = we;
      if (at(s, pos) == '.') ++pos;  // "N. Main"
      if (at(s, pos) != ' ') break;
      ++pos;
    }
    if (end == 0) continue;
    // Optional unit: ", Apt 4B" / " Suite 100" / " #12".
    auto try_unit = [&](size_t p) -> size_t {
      size_t q = p;
      if (at(s, q) == ',') ++q;
      if (at(s, q) != ' ') return p;
      ++q;
      static constexpr std::string_view units[] = {"Apt",  "Apartment", "Suite", "Ste", "Unit",
                                                   "Room", "Fl",        "Floor", "#"};
      for (std::string_view u : units) {
        if (s.substr(q, u.size()) != u) continue;
        size_t r = q + u.size();
        if (at(s, r) == '.') ++r;
        if (u != "#" && at(s, r) == ' ') ++r;
        size_t ue = r;
        while (is_alnum(at(s, ue)) || at(s, ue) == '-') ++ue;
        return ue > r ? ue : p;
      }
      return p;
    };
    end = try_unit(end);
    // Optional ", City[ Name], ST 12345[-6789]".
    {
      size_t q = end;
      if (at(s, q) == ',' && at(s, q + 1) == ' ') {
        q += 2;
        size_t city_words = 0;
        while (city_words < 3 && at(s, q) >= 'A' && at(s, q) <= 'Z') {
          size_t we = read_word(q);
          ++city_words;
          q = we;
          if (at(s, q) == ' ' && at(s, q + 1) >= 'A' && at(s, q + 1) <= 'Z' &&
              !(at(s, q + 3) == ' ' && is_digit(at(s, q + 4))))
            ++q;
          else
            break;
        }
        if (city_words > 0 && at(s, q) == ',') ++q;
        if (city_words > 0 && at(s, q) == ' ' && at(s, q + 1) >= 'A' && at(s, q + 1) <= 'Z' &&
            at(s, q + 2) >= 'A' && at(s, q + 2) <= 'Z' && at(s, q + 3) == ' ') {
          size_t z = q + 4, ze = z;
          while (is_digit(at(s, ze)) && ze - z < 5) ++ze;
          if (ze - z == 5 && !is_digit(at(s, ze))) {
            if (at(s, ze) == '-' && is_digit(at(s, ze + 1))) {
              size_t z4 = ze + 1;
              while (is_digit(at(s, z4)) && z4 - ze <= 4) ++z4;
              if (z4 - ze == 5) ze = z4;
            }
            end = ze;
          }
        }
      }
    }
    out.push_back({i, end, pii_kind::address, 0.85});
    i = end - 1;
  }
}

}  // namespace edgecloud::tasks::detail::pii
