// SPDX-License-Identifier: Apache-2.0
// The scanners behind edgecloud/tasks/pii.hpp (include that header, not this one): one function
// per kind, each appending candidate spans; `detect_pii` then keeps, among overlapping
// candidates, the most certain one (ties: the longest), so an 18-digit ID that also passes Luhn
// is reported once, as an ID.
#pragma once

#include <edgecloud/tasks/pii.hpp>

namespace edgecloud::tasks {
namespace detail::pii {

inline bool is_mobile_cn(std::string_view d) {
  return d.size() == 11 && d[0] == '1' && d[1] >= '3' && d[1] <= '9';
}

// A phone-shaped run: optional '+', digit groups, at most one parenthesised group near the start,
// single separators (' ', '-', '.') between groups.
struct phone_shape {
  size_t begin = 0, end = 0;
  bool plus = false, parenthesised = false;
  std::string digits;
  std::vector<size_t> groups;
};
inline phone_shape read_phone_shape(std::string_view s, size_t i) {
  phone_shape p;
  p.begin = i;
  size_t j = i;
  if (at(s, j) == '+') {
    p.plus = true;
    ++j;
  }
  while (j < s.size() && p.digits.size() <= 20) {
    unsigned char c = at(s, j);
    if (is_digit(c)) {
      size_t n = 0;
      while (is_digit(at(s, j))) {
        p.digits.push_back(static_cast<char>(at(s, j)));
        ++j;
        ++n;
      }
      p.groups.push_back(n);
    } else if (c == '(' && !p.parenthesised && p.groups.size() <= 1 && is_digit(at(s, j + 1))) {
      size_t k = j + 1, n = 0;
      while (is_digit(at(s, k)) && n < 5) ++k, ++n;
      if (at(s, k) != ')') break;
      p.digits.append(s.substr(j + 1, n));
      p.groups.push_back(n);
      p.parenthesised = true;
      j = k + 1;
    } else {
      break;
    }
    p.end = j;
    unsigned char sep = at(s, j);
    if ((sep == ' ' || sep == '-' || sep == '.') &&
        (is_digit(at(s, j + 1)) || (at(s, j + 1) == '(' && !p.parenthesised)))
      ++j;
    else if (!(at(s, j) == '(' && !p.parenthesised))
      break;
  }
  return p;
}

inline void scan_phones(std::string_view s, std::vector<pii_span>& out) {
  for (size_t i = 0; i < s.size(); ++i) {
    unsigned char c = at(s, i);
    bool start =
        c == '+' ? is_digit(at(s, i + 1)) : (is_digit(c) || (c == '(' && is_digit(at(s, i + 1))));
    if (!start) continue;
    unsigned char prev = before(s, i);
    if (is_alnum(prev) || prev == '+' || prev == '(' || prev == '_') continue;
    phone_shape p = read_phone_shape(s, i);
    if (p.digits.empty() || !stands_alone(s, p.begin, p.end)) {
      // Skip the whole digit run so its tail is not re-read as a shorter number.
      while (i + 1 < s.size() && (is_digit(at(s, i + 1)))) ++i;
      continue;
    }
    const std::string& d = p.digits;
    const auto& g = p.groups;
    double conf = 0.0;
    auto landline_groups = [&](size_t first) {
      return g.size() == 2 && (g[0] == first) && (g[1] == 7 || g[1] == 8);
    };
    if (p.plus) {
      if (d.rfind("86", 0) == 0 && is_mobile_cn(std::string_view(d).substr(2)))
        conf = 0.97;
      else if (d.size() >= 8 && d.size() <= 15 && d[0] != '0' && g.size() >= 1)
        conf = 0.85;
    } else if (d.rfind("0086", 0) == 0 && is_mobile_cn(std::string_view(d).substr(4))) {
      conf = 0.95;
    } else if (d.size() == 13 && d.rfind("86", 0) == 0 &&
               is_mobile_cn(std::string_view(d).substr(2)) && (g.size() == 1 || g[0] == 2)) {
      conf = 0.85;
    } else if (is_mobile_cn(d) && !p.parenthesised &&
               (groups_are_vec(g, {11}) || groups_are_vec(g, {3, 4, 4}) ||
                groups_are_vec(g, {3, 8}))) {
      conf = 0.95;
    } else if (d.size() >= 10 && d[0] == '0' && d[1] != '0' &&
               (landline_groups(3) || landline_groups(4))) {
      conf = 0.85;  // Chinese landline: 0 + 2-3 digit area code, 7-8 digit subscriber number
    } else if (g.size() >= 3 && d.size() == 10 && groups_are_vec(g, {3, 3, 4}) && d[0] >= '2' &&
               d[3] >= '2') {
      conf = 0.75;  // North American (NANP): [2-9]XX [2-9]XX XXXX, separated
    } else if (d.size() == 11 && groups_are_vec(g, {1, 3, 3, 4}) && d[0] == '1' && d[1] >= '2' &&
               d[4] >= '2') {
      conf = 0.8;
    }
    if (conf > 0) out.push_back({p.begin, p.end, pii_kind::phone, conf});
    i = std::max(i, p.end == 0 ? i : p.end - 1);
  }
}

inline void scan_id_numbers(std::string_view s, std::vector<pii_span>& out) {
  for (size_t i = 0; i + 18 <= s.size(); ++i) {
    if (!is_digit(at(s, i)) || is_alnum(before(s, i))) continue;
    size_t n = 0;
    while (n < 17 && is_digit(at(s, i + n))) ++n;
    if (n == 17 && stands_alone(s, i, i + 18) && valid_resident_id(s.substr(i, 18)))
      out.push_back({i, i + 18, pii_kind::id_number, 0.99});
    i += n == 0 ? 0 : n - 1;
  }
}

inline bool card_prefix_plausible(std::string_view d) {
  // Issuer ranges in use: 2221-2720 (Mastercard 2-series), 3 (Amex, JCB, Diners), 4 (Visa),
  // 5 (Mastercard, Maestro), 6 (UnionPay, Discover, Maestro).
  if (d.size() < 4) return false;
  if (d[0] >= '3' && d[0] <= '6') return true;
  int first4 = (d[0] - '0') * 1000 + (d[1] - '0') * 100 + (d[2] - '0') * 10 + (d[3] - '0');
  return first4 >= 2221 && first4 <= 2720;
}

inline void scan_bank_cards(std::string_view s, std::vector<pii_span>& out) {
  for (size_t i = 0; i < s.size(); ++i) {
    if (!is_digit(at(s, i)) || is_digit(before(s, i))) continue;
    digit_run r = read_digit_groups(s, i, " -");
    size_t next = r.end;
    const auto& g = r.group_sizes;
    bool grouped_by_four = g.size() >= 3 && !r.mixed_separators &&
                           std::all_of(g.begin(), g.end() - 1, [](size_t k) { return k == 4; }) &&
                           g.back() >= 1 && g.back() <= 4;
    bool amex_style = groups_are_vec(g, {4, 6, 5}) || groups_are_vec(g, {4, 6, 4});
    bool single = g.size() == 1;
    size_t n = r.digits.size();
    if (n >= 13 && n <= 19 && (single || grouped_by_four || amex_style) &&
        stands_alone(s, r.begin, r.end) && card_prefix_plausible(r.digits) &&
        luhn_valid(r.digits)) {
      out.push_back({r.begin, r.end, pii_kind::bank_card, single ? 0.85 : 0.92});
    }
    i = next == 0 ? i : std::max(i, next - 1);
  }
}

inline void scan_emails(std::string_view s, std::vector<pii_span>& out) {
  auto local_char = [](unsigned char c) {
    return is_alnum(c) || c == '.' || c == '_' || c == '%' || c == '+' || c == '-';
  };
  size_t last_end = 0;
  for (size_t at_pos = s.find('@'); at_pos != std::string_view::npos;
       at_pos = s.find('@', at_pos + 1)) {
    if (at_pos < last_end) continue;
    size_t b = at_pos;
    while (b > last_end && local_char(at(s, b - 1)) && at_pos - b < 64) --b;
    while (b < at_pos && (at(s, b) == '.' || at(s, b) == '-' || at(s, b) == '+')) ++b;
    if (b == at_pos) continue;
    size_t e = at_pos + 1, labels = 0, label_len = 0, last_label_begin = e;
    bool last_label_alpha = true;
    while (e < s.size() && e - at_pos <= 253) {
      unsigned char c = at(s, e);
      if (is_alnum(c) || c == '-') {
        if (label_len == 0) {
          last_label_begin = e;
          last_label_alpha = true;
        }
        if (!is_alpha(c)) last_label_alpha = false;
        ++label_len;
        ++e;
      } else if (c == '.' && label_len > 0 && (is_alnum(at(s, e + 1)))) {
        ++labels;
        label_len = 0;
        ++e;
      } else {
        break;
      }
    }
    if (label_len > 0) ++labels;
    size_t tld_len = e - last_label_begin;
    if (labels < 2 || label_len == 0 || !last_label_alpha || tld_len < 2 || at(s, e) == '@')
      continue;
    out.push_back({b, e, pii_kind::email, 0.98});
    last_end = e;
  }
}

inline void scan_ipv4(std::string_view s, std::vector<pii_span>& out) {
  for (size_t i = 0; i < s.size(); ++i) {
    if (!is_digit(at(s, i)) || is_digit(before(s, i))) continue;
    digit_run r = read_digit_groups(s, i, ".");
    size_t next = r.end;
    bool ok = r.group_sizes.size() == 4 && !is_alnum(before(s, i)) && before(s, i) != '.' &&
              !is_alnum(at(s, r.end)) && !(at(s, r.end) == '.' && is_digit(at(s, r.end + 1)));
    for (size_t k = 0, pos = 0; ok && k < 4; pos += r.group_sizes[k], ++k) {
      size_t len = r.group_sizes[k];
      if (len > 3) {
        ok = false;
        break;
      }
      std::string_view octet = std::string_view(r.digits).substr(pos, len);
      int v = 0;
      for (char ch : octet) v = v * 10 + (ch - '0');
      if (len > 3 || v > 255 || (len > 1 && octet[0] == '0')) ok = false;
    }
    if (ok) out.push_back({r.begin, r.end, pii_kind::ip_address, 0.9});
    i = next == 0 ? i : std::max(i, next - 1);
  }
}

inline void scan_ipv6(std::string_view s, std::vector<pii_span>& out) {
  for (size_t i = 0; i < s.size(); ++i) {
    unsigned char c = at(s, i);
    if (!(is_hex(c) || c == ':')) continue;
    unsigned char prev = before(s, i);
    if (is_alnum(prev) || prev == ':' || prev == '_') continue;
    size_t e = i;
    while (e < s.size() && e - i < 45 && (is_hex(at(s, e)) || at(s, e) == ':')) ++e;
    size_t next = e;
    if (is_alnum(at(s, e)) || at(s, e) == '_') {
      i = next - 1;
      continue;
    }
    std::string_view run = s.substr(i, e - i);
    // Structure: at most one "::", groups of 1-4 hex digits, 8 groups without "::", fewer with.
    size_t double_colon = run.find("::");
    bool ok = run.find(':') != std::string_view::npos &&
              run.find(":::") == std::string_view::npos &&
              (double_colon == std::string_view::npos ||
               run.find("::", double_colon + 1) == std::string_view::npos);
    size_t groups = 0, group_len = 0, colons = 0;
    bool has_digit = false;
    for (size_t k = 0; ok && k <= run.size(); ++k) {
      if (k == run.size() || run[k] == ':') {
        if (group_len > 4) ok = false;
        if (group_len > 0)
          ++groups;
        else if (k != 0 && k != run.size() && !(k > 0 && run[k - 1] == ':') &&
                 !(k + 1 < run.size() && run[k + 1] == ':'))
          ok = false;
        if (k < run.size()) ++colons;
        group_len = 0;
      } else {
        ++group_len;
        if (is_digit(static_cast<unsigned char>(run[k]))) has_digit = true;
      }
    }
    // A single leading or trailing colon (not part of "::") is not an address.
    if (ok && run.front() == ':' && run.substr(0, 2) != "::") ok = false;
    if (ok && run.back() == ':' && run.substr(run.size() - 2) != "::") ok = false;
    if (ok) ok = double_colon == std::string_view::npos ? groups == 8 : groups >= 1 && groups <= 7;
    if (ok && has_digit && colons >= 2) out.push_back({i, e, pii_kind::ip_address, 0.85});
    i = next - 1;
  }
}

// Defined in pii_address.hpp (included at the end of this file), declared here so that any of
// the three PII headers can be included first.
inline void scan_chinese_addresses(std::string_view s, std::vector<pii_span>& out);
inline void scan_english_addresses(std::string_view s, std::vector<pii_span>& out);

}  // namespace detail::pii
}  // namespace edgecloud::tasks

namespace edgecloud::tasks {

// Finds PII in UTF-8 text. Spans are sorted by `begin`, never overlap, and start and end on
// character boundaries. Invalid UTF-8 is tolerated (scanned as opaque bytes).
inline std::vector<pii_span> detect_pii(std::string_view text, const pii_options& options = {}) {
  using namespace detail::pii;
  std::vector<pii_span> candidates;
  if (options.id_numbers) scan_id_numbers(text, candidates);
  if (options.bank_cards) scan_bank_cards(text, candidates);
  if (options.phones) scan_phones(text, candidates);
  if (options.emails) scan_emails(text, candidates);
  if (options.ip_addresses) {
    scan_ipv4(text, candidates);
    scan_ipv6(text, candidates);
  }
  if (options.addresses) {
    scan_chinese_addresses(text, candidates);
    scan_english_addresses(text, candidates);
  }
  std::erase_if(candidates,
                [&](const pii_span& p) { return p.confidence < options.min_confidence; });
  // Most certain first, then longest, then leftmost; keep each unless it overlaps a kept one.
  std::stable_sort(candidates.begin(), candidates.end(), [](const pii_span& a, const pii_span& b) {
    if (a.confidence != b.confidence) return a.confidence > b.confidence;
    if (a.end - a.begin != b.end - b.begin) return a.end - a.begin > b.end - b.begin;
    return a.begin < b.begin;
  });
  std::vector<pii_span> kept;
  for (const pii_span& c : candidates) {
    bool overlaps = std::any_of(kept.begin(), kept.end(), [&](const pii_span& k) {
      return c.begin < k.end && k.begin < c.end;
    });
    if (!overlaps) kept.push_back(c);
  }
  std::sort(kept.begin(), kept.end(),
            [](const pii_span& a, const pii_span& b) { return a.begin < b.begin; });
  return kept;
}

// Replaces every span with its kind's placeholder ("[PHONE]", "[ID]", ...). Spans may come in
// any order; overlapping spans are merged (the earlier-starting one's placeholder is used).
// Throws config_error for a span outside the text or with end < begin.
inline std::string redact(std::string_view text, std::span<const pii_span> spans) {
  std::vector<pii_span> sorted(spans.begin(), spans.end());
  for (const pii_span& s : sorted)
    if (s.begin > s.end || s.end > text.size())
      throw config_error("redact: span [" + std::to_string(s.begin) + ", " + std::to_string(s.end) +
                         ") is outside the text of " + std::to_string(text.size()) + " bytes");
  std::sort(sorted.begin(), sorted.end(),
            [](const pii_span& a, const pii_span& b) { return a.begin < b.begin; });
  std::string out;
  out.reserve(text.size());
  size_t cursor = 0;
  for (const pii_span& s : sorted) {
    if (s.end <= cursor) continue;  // inside a span already replaced
    if (s.begin >= cursor) {
      out.append(text.substr(cursor, s.begin - cursor));
      out.append(placeholder(s.kind));
    }
    cursor = s.end;
  }
  out.append(text.substr(std::min(cursor, text.size())));
  return out;
}

inline std::string redact(std::string_view text, const pii_options& options = {}) {
  return redact(text, detect_pii(text, options));
}

}  // namespace edgecloud::tasks

#include <edgecloud/tasks/pii_address.hpp>
