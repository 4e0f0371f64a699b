// SPDX-License-Identifier: Apache-2.0
// JSON Schema subset and tool calls -> byte-level constraint (byte_nfa.hpp).
//
// Supported (everything else is a config_error naming the keyword and where it is, never
// silently ignored):
//   type (one or a list)  string: minLength, maxLength       integer/number: minimum, maximum
//   boolean, null         integer: exclusiveMinimum/Maximum  array: items, minItems, maxItems
//   object: properties, required, additionalProperties (true/false; no extra keys are produced)
//   enum, const (alone or with type), anyOf (alone); annotations title, description, default,
//   examples, $schema, $comment, $id.
//
// The language produced is a subset of what the schema allows, chosen so that every output
// parses and the automaton is finite:
//   * compact JSON: properties in schema order, at most one space after ':' and ',' (option),
//     no other whitespace;
//   * strings: valid UTF-8 (no overlongs or surrogates), escapes \" \\ \/ \b \f \n \r \t and
//     \uXXXX outside the surrogate range; length counted in code points, at most maxLength or
//     json_options::default_max_string_length;
//   * integers without leading zeros, at most max_integer_digits digits unless the bounds say
//     less, bounds exact; numbers: an integer part within the bounds, optionally "." and 1 to
//     max_fraction_digits digits when the whole integer interval [i, i+1] lies inside the bounds
//     (so values between the last integer and a fractional bound are not produced), no exponent;
//   * arrays of at most maxItems or json_options::default_max_items items.
// Bounds are unrolled into automaton states, which is what makes "ends within the budget"
// checkable per state (see token_constraint.hpp).
//
// json_object_constraint() is OpenAI's response_format json_object: any JSON object, in the same
// compact form, nested at most `depth` containers deep; its members repeat through a loop, so
// the token budget, not the automaton, bounds the length.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <edgecloud/error.hpp>
#include <edgecloud/generate/byte_nfa.hpp>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

namespace edgecloud::generate {

struct json_options {
  size_t default_max_string_length = 64;  // when a string schema has no maxLength
  size_t default_max_items = 8;           // when an array schema has no maxItems
  unsigned max_integer_digits = 15;       // magnitude cap when bounds allow more (15 < 2^53)
  unsigned max_fraction_digits = 6;
  bool space_after_separators = true;  // allow one optional ' ' after ':' and ','
};

namespace detail {

class schema_compiler {
 public:
  using json = nlohmann::ordered_json;

  schema_compiler(byte_nfa& nfa, const json_options& o) : b_(nfa), o_(o) {
    if (o_.max_integer_digits < 1 || o_.max_integer_digits > 18)
      throw config_error("json_options.max_integer_digits must be within 1..18");
    cap_ = 1;
    for (unsigned i = 0; i < o_.max_integer_digits; ++i) cap_ *= 10;
    cap_ -= 1;
  }

  fragment schema(const json& s, const std::string& path) {
    if (++depth_ > max_depth)
      throw config_error("JSON Schema at " + where(path) + ": nested deeper than 32 levels");
    struct leave {
      int& d;
      ~leave() { --d; }
    } guard{depth_};
    if (!s.is_object())
      throw config_error("JSON Schema at " + where(path) +
                         ": expected an object schema (boolean schemas are not supported)");
    static const std::set<std::string, std::less<>> annotations = {
        "title", "description", "default", "examples", "$schema", "$comment", "$id"};
    static const std::set<std::string, std::less<>> known = {"type",
                                                             "properties",
                                                             "required",
                                                             "additionalProperties",
                                                             "items",
                                                             "minItems",
                                                             "maxItems",
                                                             "minLength",
                                                             "maxLength",
                                                             "minimum",
                                                             "maximum",
                                                             "exclusiveMinimum",
                                                             "exclusiveMaximum",
                                                             "enum",
                                                             "const",
                                                             "anyOf"};
    std::vector<std::string> constraining;
    for (const auto& [key, value] : s.items()) {
      if (annotations.count(key)) continue;
      if (!known.count(key))
        throw config_error("unsupported JSON Schema keyword \"" + key + "\" at " + where(path) +
                           " (supported: type, properties, required, additionalProperties, "
                           "items, minItems, maxItems, minLength, maxLength, minimum, maximum, "
                           "exclusiveMinimum, exclusiveMaximum, enum, const, anyOf)");
      constraining.push_back(key);
    }
    if (s.contains("enum") || s.contains("const")) return enumeration(s, constraining, path);
    if (s.contains("anyOf")) {
      if (constraining.size() != 1)
        throw config_error("JSON Schema at " + where(path) +
                           ": anyOf cannot be combined with other constraining keywords");
      const auto& alts = s["anyOf"];
      if (!alts.is_array() || alts.empty())
        throw config_error("JSON Schema at " + where(path) + ": anyOf must be a non-empty array");
      std::vector<fragment> options;
      for (size_t i = 0; i < alts.size(); ++i)
        options.push_back(schema(alts[i], path + "/anyOf/" + std::to_string(i)));
      return b_.alt(options);
    }
    if (!s.contains("type"))
      throw config_error("JSON Schema at " + where(path) +
                         ": no \"type\" (an unconstrained value cannot be bounded)");
    std::vector<std::string> types;
    const auto& t = s["type"];
    if (t.is_string()) {
      types.push_back(t.get<std::string>());
    } else if (t.is_array() && !t.empty()) {
      for (const auto& x : t) {
        if (!x.is_string()) throw config_error("JSON Schema at " + where(path) + ": bad type list");
        types.push_back(x.get<std::string>());
      }
    } else {
      throw config_error("JSON Schema at " + where(path) + ": \"type\" must be a string or list");
    }
    // Every keyword must apply to one of the listed types.
    for (const auto& k : constraining) {
      if (k == "type") continue;
      const std::string owner = keyword_type(k);
      const bool applies = std::any_of(types.begin(), types.end(), [&](const std::string& ty) {
        return ty == owner || (owner == "number" && ty == "integer");
      });
      if (!applies)
        throw config_error("JSON Schema keyword \"" + k + "\" at " + where(path) +
                           " does not apply to the schema's type");
    }
    std::vector<fragment> options;
    for (const auto& ty : types) options.push_back(typed(s, ty, path));
    return options.size() == 1 ? options[0] : b_.alt(options);
  }

  fragment tool_calls(const json& tools) {
    if (!tools.is_array() || tools.empty())
      throw config_error("tool call constraint: expected a non-empty JSON array of tools");
    std::set<std::string> names;
    std::vector<fragment> options;
    for (size_t i = 0; i < tools.size(); ++i) {
      const json* tool = &tools[i];
      const std::string path = "/" + std::to_string(i);
      if (tool->is_object() && tool->contains("function")) tool = &(*tool)["function"];
      if (!tool->is_object() || !tool->contains("name") || !(*tool)["name"].is_string())
        throw config_error("tool " + path +
                           ": expected {\"name\": ..., \"parameters\": ...} "
                           "or {\"type\": \"function\", \"function\": {...}}");
      const std::string name = (*tool)["name"].get<std::string>();
      if (name.empty() || !names.insert(name).second)
        throw config_error("tool " + path + ": empty or duplicate tool name \"" + name + "\"");
      json params = tool->contains("parameters")
                        ? (*tool)["parameters"]
                        : json{{"type", "object"}, {"properties", json::object()}};
      const fragment args = schema(params, path + "/parameters");
      options.push_back(
          b_.seq({b_.literal("{\"name\":"), ws(), b_.literal(json(name).dump()), b_.literal(","),
                  ws(), b_.literal("\"arguments\":"), ws(), args, b_.literal("}")}));
    }
    return b_.alt(options);
  }

  // Any JSON value (OpenAI's response_format json_object asks for any object): strings of at
  // most default_max_string_length code points, numbers within max_integer_digits, true, false,
  // null and, while depth > 0, objects (any keys) and arrays of any length whose members nest
  // one level less. Members repeat through a loop, so the automaton grows with depth, not with
  // length; the token budget bounds the length.
  fragment any_value(int depth) {
    std::vector<fragment> options = {string_value(0, o_.default_max_string_length),
                                     numeric(json::object(), false, ""), b_.literal("true"),
                                     b_.literal("false"), b_.literal("null")};
    if (depth > 0) {
      options.push_back(any_object(depth));
      options.push_back(any_array(depth));
    }
    return b_.alt(options);
  }
  fragment any_object(int depth) {
    const fragment member = b_.seq({string_value(0, o_.default_max_string_length), b_.literal(":"),
                                    ws(), any_value(depth - 1)});
    return repeated('{', member, '}');
  }
  fragment any_array(int depth) { return repeated('[', any_value(depth - 1), ']'); }

 private:
  static std::string where(const std::string& path) { return path.empty() ? "/" : path; }

  // open (item ("," ws item)*)? close, with one copy of `item` and a loop back to it.
  fragment repeated(uint8_t open, fragment item, uint8_t close) {
    auto& n = b_.nfa();
    const uint32_t in = n.add_state(), out = n.add_state(), first = n.add_state();
    n.add_byte(in, open, first);
    n.add_byte(first, close, out);
    n.add_epsilon(first, item.in);
    n.add_byte(item.out, close, out);
    const fragment again = b_.seq(b_.literal(","), ws());
    n.add_epsilon(item.out, again.in);
    n.add_epsilon(again.out, item.in);
    return {in, out};
  }

  static std::string keyword_type(const std::string& k) {
    if (k == "minLength" || k == "maxLength") return "string";
    if (k == "minimum" || k == "maximum" || k == "exclusiveMinimum" || k == "exclusiveMaximum")
      return "number";
    if (k == "items" || k == "minItems" || k == "maxItems") return "array";
    return "object";  // properties, required, additionalProperties
  }

  fragment ws() { return o_.space_after_separators ? b_.optional(b_.literal(" ")) : b_.epsilon(); }

  static bool has_type(const json& v, const std::string& ty) {
    if (ty == "string") return v.is_string();
    if (ty == "integer") return v.is_number_integer();
    if (ty == "number") return v.is_number();
    if (ty == "boolean") return v.is_boolean();
    if (ty == "null") return v.is_null();
    if (ty == "object") return v.is_object();
    if (ty == "array") return v.is_array();
    return false;
  }

  fragment enumeration(const json& s, const std::vector<std::string>& constraining,
                       const std::string& path) {
    for (const auto& k : constraining)
      if (k != "enum" && k != "const" && k != "type")
        throw config_error("JSON Schema at " + where(path) +
                           ": enum/const cannot be combined "
                           "with \"" +
                           k + "\" (list only the allowed values)");
    json values = json::array();
    if (s.contains("enum")) {
      if (!s["enum"].is_array() || s["enum"].empty())
        throw config_error("JSON Schema at " + where(path) + ": enum must be a non-empty array");
      values = s["enum"];
    }
    if (s.contains("const")) {
      if (s.contains("enum")) {
        json kept = json::array();
        for (const auto& v : values)
          if (v == s["const"]) kept.push_back(v);
        values = kept;
      } else {
        values.push_back(s["const"]);
      }
    }
    std::vector<std::string> types;
    if (s.contains("type")) {
      if (s["type"].is_string())
        types.push_back(s["type"].get<std::string>());
      else if (s["type"].is_array())
        for (const auto& x : s["type"])
          if (x.is_string()) types.push_back(x.get<std::string>());
    }
    std::vector<fragment> options;
    std::set<std::string> seen;
    for (const auto& v : values) {
      if (!types.empty() && std::none_of(types.begin(), types.end(),
                                         [&](const std::string& ty) { return has_type(v, ty); }))
        continue;
      std::string text = v.dump();
      if (seen.insert(text).second) options.push_back(b_.literal(text));
    }
    if (options.empty())
      throw config_error("JSON Schema at " + where(path) + ": no enum/const value has the type");
    return b_.alt(options);
  }

  static size_t count_keyword(const json& s, const char* k, size_t dflt, const std::string& path) {
    if (!s.contains(k)) return dflt;
    const auto& v = s[k];
    if (!v.is_number_integer() || v.get<int64_t>() < 0 || v.get<int64_t>() > 1'000'000)
      throw config_error(std::string("JSON Schema keyword \"") + k + "\" at " + where(path) +
                         " must be a non-negative integer");
    return static_cast<size_t>(v.get<int64_t>());
  }

  fragment typed(const json& s, const std::string& ty, const std::string& path) {
    if (ty == "string") {
      const size_t lo = count_keyword(s, "minLength", 0, path);
      const size_t hi =
          count_keyword(s, "maxLength", std::max(lo, o_.default_max_string_length), path);
      if (lo > hi) throw config_error("JSON Schema at " + where(path) + ": minLength > maxLength");
      return string_value(lo, hi);
    }
    if (ty == "integer" || ty == "number") return numeric(s, ty == "integer", path);
    if (ty == "boolean") return b_.alt({b_.literal("true"), b_.literal("false")});
    if (ty == "null") return b_.literal("null");
    if (ty == "array") return array(s, path);
    if (ty == "object") return object(s, path);
    throw config_error("JSON Schema at " + where(path) + ": unknown type \"" + ty + "\"");
  }

  // ---- strings -------------------------------------------------------------------------
  // One JSON string character from `from` to `to`: printable ASCII except '"' and '\', a
  // well-formed UTF-8 sequence (RFC 3629 table), or an escape.
  void character(uint32_t from, uint32_t to) {
    auto& n = b_.nfa();
    n.add_range(from, 0x20, 0x21, to);
    n.add_range(from, 0x23, 0x5B, to);
    n.add_range(from, 0x5D, 0x7F, to);
    const uint32_t c1 = n.add_state(), c2 = n.add_state(), c3 = n.add_state();
    n.add_range(c1, 0x80, 0xBF, to);
    n.add_range(c2, 0x80, 0xBF, c1);
    n.add_range(c3, 0x80, 0xBF, c2);
    n.add_range(from, 0xC2, 0xDF, c1);
    const uint32_t e0 = n.add_state(), ed = n.add_state(), f0 = n.add_state(), f4 = n.add_state();
    n.add_byte(from, 0xE0, e0);
    n.add_range(e0, 0xA0, 0xBF, c1);
    n.add_range(from, 0xE1, 0xEC, c2);
    n.add_byte(from, 0xED, ed);
    n.add_range(ed, 0x80, 0x9F, c1);  // no surrogates
    n.add_range(from, 0xEE, 0xEF, c2);
    n.add_byte(from, 0xF0, f0);
    n.add_range(f0, 0x90, 0xBF, c2);
    n.add_range(from, 0xF1, 0xF3, c3);
    n.add_byte(from, 0xF4, f4);
    n.add_range(f4, 0x80, 0x8F, c2);
    const uint32_t esc = n.add_state();
    n.add_byte(from, '\\', esc);
    for (char ch : std::string_view("\"\\/bfnrt")) n.add_byte(esc, static_cast<uint8_t>(ch), to);
    const uint32_t u = n.add_state(), ud = n.add_state(), u2 = n.add_state(), u3 = n.add_state(),
                   u4 = n.add_state();
    n.add_byte(esc, 'u', u);
    auto hex = [&](uint32_t a, uint32_t b) {
      n.add_range(a, '0', '9', b);
      n.add_range(a, 'a', 'f', b);
      n.add_range(a, 'A', 'F', b);
    };
    n.add_range(u, '0', '9', u2);  // first hex digit: anything but d/D, or d/D then 0-7
    n.add_range(u, 'a', 'c', u2);
    n.add_range(u, 'e', 'f', u2);
    n.add_range(u, 'A', 'C', u2);
    n.add_range(u, 'E', 'F', u2);
    n.add_byte(u, 'd', ud);
    n.add_byte(u, 'D', ud);
    n.add_range(ud, '0', '7', u3);
    hex(u2, u3);
    hex(u3, u4);
    hex(u4, to);
  }

  fragment string_value(size_t min_chars, size_t max_chars) {
    auto& n = b_.nfa();
    const uint32_t in = n.add_state(), out = n.add_state();
    uint32_t pos = n.add_state();
    n.add_byte(in, '"', pos);
    for (size_t i = 0;; ++i) {
      if (i >= min_chars) n.add_byte(pos, '"', out);
      if (i == max_chars) break;
      const uint32_t next = n.add_state();
      character(pos, next);
      pos = next;
    }
    return {in, out};
  }

  // ---- numbers -------------------------------------------------------------------------
  fragment any_digits(size_t count) {
    fragment f = b_.epsilon();
    for (size_t i = 0; i < count; ++i) f = b_.seq(f, b_.range('0', '9'));
    return f;
  }
  // Digit strings of equal length between lo and hi inclusive (digit-by-digit tightness).
  fragment digit_range(std::string_view lo, std::string_view hi) {
    if (lo.empty()) return b_.epsilon();
    if (lo.find_first_not_of('0') == std::string_view::npos &&
        hi.find_first_not_of('9') == std::string_view::npos)
      return any_digits(lo.size());
    const auto l = static_cast<uint8_t>(lo[0]), h = static_cast<uint8_t>(hi[0]);
    if (lo.size() == 1) return b_.range(l, h);
    if (l == h) return b_.seq(b_.range(l, l), digit_range(lo.substr(1), hi.substr(1)));
    const std::string nines(lo.size() - 1, '9'), zeros(lo.size() - 1, '0');
    std::vector<fragment> parts;
    parts.push_back(b_.seq(b_.range(l, l), digit_range(lo.substr(1), nines)));
    if (l + 1 <= h - 1) parts.push_back(b_.seq(b_.range(l + 1, h - 1), any_digits(lo.size() - 1)));
    parts.push_back(b_.seq(b_.range(h, h), digit_range(zeros, hi.substr(1))));
    return b_.alt(parts);
  }
  // Decimal magnitudes in [a, b] without leading zeros.
  fragment magnitude(uint64_t a, uint64_t b) {
    const std::string sa = std::to_string(a), sb = std::to_string(b);
    std::vector<fragment> parts;
    for (size_t len = sa.size(); len <= sb.size(); ++len) {
      std::string lo = len == sa.size() ? sa : "1" + std::string(len - 1, '0');
      std::string hi = len == sb.size() ? sb : std::string(len, '9');
      parts.push_back(digit_range(lo, hi));
    }
    return parts.size() == 1 ? parts[0] : b_.alt(parts);
  }
  fragment fraction() {
    auto& n = b_.nfa();
    const uint32_t in = n.add_state(), out = n.add_state();
    uint32_t cur = n.add_state();
    n.add_byte(in, '.', cur);
    for (unsigned i = 0; i < std::max(1u, o_.max_fraction_digits); ++i) {
      const uint32_t next = n.add_state();
      n.add_range(cur, '0', '9', next);
      n.add_epsilon(next, out);
      cur = next;
    }
    return {in, out};
  }

  static double bound(const json& s, const char* k, const std::string& path) {
    const auto& v = s[k];
    if (!v.is_number())
      throw config_error(std::string("JSON Schema keyword \"") + k + "\" at " + where(path) +
                         " must be a number");
    return v.get<double>();
  }

  fragment numeric(const json& s, bool integer, const std::string& path) {
    const double cap = static_cast<double>(cap_);
    double lo = -cap, hi = cap;
    if (s.contains("minimum")) lo = std::max(lo, bound(s, "minimum", path));
    if (s.contains("maximum")) hi = std::min(hi, bound(s, "maximum", path));
    if (s.contains("exclusiveMinimum") || s.contains("exclusiveMaximum")) {
      if (!integer)
        throw config_error("JSON Schema at " + where(path) +
                           ": exclusiveMinimum/exclusiveMaximum are supported for integers only");
      if (s.contains("exclusiveMinimum"))
        lo = std::max(lo, std::floor(bound(s, "exclusiveMinimum", path)) + 1);
      if (s.contains("exclusiveMaximum"))
        hi = std::min(hi, std::ceil(bound(s, "exclusiveMaximum", path)) - 1);
    }
    // Bounds far outside the cap become just outside it: every cast below stays in range.
    lo = std::clamp(lo, -cap - 1, cap + 1);
    hi = std::clamp(hi, -cap - 1, cap + 1);
    const auto ilo = static_cast<int64_t>(std::ceil(std::max(lo, -cap)));
    const auto ihi = static_cast<int64_t>(std::floor(std::min(hi, cap)));
    std::vector<fragment> parts;
    auto add_signed = [&](int64_t a, int64_t b, bool with_fraction) {
      // Non-negative values: integer part in [max(a,0), b]; negative: "-" magnitude.
      if (b >= 0 && std::max<int64_t>(a, 0) <= b) {
        fragment m =
            magnitude(static_cast<uint64_t>(std::max<int64_t>(a, 0)), static_cast<uint64_t>(b));
        parts.push_back(with_fraction ? b_.seq(m, fraction()) : m);
      }
    };
    // Integer-only values in [ilo, ihi].
    add_signed(ilo, ihi, false);
    if (ilo < 0 && std::max<int64_t>(1, -ihi) <= -ilo)
      parts.push_back(
          b_.seq(b_.literal("-"), magnitude(static_cast<uint64_t>(std::max<int64_t>(1, -ihi)),
                                            static_cast<uint64_t>(-ilo))));
    if (!integer) {
      // i.f with the whole [i, i+1] inside [lo, hi]: i in [ceil(lo), floor(hi) - 1].
      add_signed(static_cast<int64_t>(std::ceil(lo)), static_cast<int64_t>(std::floor(hi)) - 1,
                 true);
      // -(i.f) with [i, i+1] inside [-hi, -lo].
      const auto na = std::max<int64_t>(0, static_cast<int64_t>(std::ceil(-hi)));
      const auto nb = static_cast<int64_t>(std::floor(-lo)) - 1;
      if (nb >= na)
        parts.push_back(
            b_.seq({b_.literal("-"),
                    magnitude(static_cast<uint64_t>(na), static_cast<uint64_t>(nb)), fraction()}));
    }
    if (parts.empty())
      throw config_error("JSON Schema at " + where(path) + ": no " +
                         (integer ? "integer" : "number") + " satisfies the bounds");
    return parts.size() == 1 ? parts[0] : b_.alt(parts);
  }

  // ---- arrays and objects --------------------------------------------------------------
  fragment array(const json& s, const std::string& path) {
    if (!s.contains("items") || !s["items"].is_object())
      throw config_error("JSON Schema at " + where(path) +
                         ": an array needs \"items\" as one schema (tuples are not supported)");
    const size_t lo = count_keyword(s, "minItems", 0, path);
    const size_t hi = count_keyword(s, "maxItems", std::max(lo, o_.default_max_items), path);
    if (lo > hi) throw config_error("JSON Schema at " + where(path) + ": minItems > maxItems");
    auto& n = b_.nfa();
    const uint32_t in = n.add_state(), out = n.add_state();
    uint32_t pos = n.add_state();
    n.add_byte(in, '[', pos);
    for (size_t k = 0;; ++k) {
      if (k >= lo) n.add_byte(pos, ']', out);
      if (k == hi) break;
      fragment item = schema(s["items"], path + "/items");
      if (k > 0) item = b_.seq({b_.literal(","), ws(), item});
      n.add_epsilon(pos, item.in);
      pos = item.out;
    }
    return {in, out};
  }

  fragment object(const json& s, const std::string& path) {
    const json empty = json::object();
    const json& props = s.contains("properties") ? s["properties"] : empty;
    if (!props.is_object())
      throw config_error("JSON Schema at " + where(path) + ": properties must be an object");
    if (s.contains("additionalProperties") && !s["additionalProperties"].is_boolean())
      throw config_error("JSON Schema at " + where(path) +
                         ": additionalProperties must be true or false (schemas not supported)");
    std::set<std::string> required;
    if (s.contains("required")) {
      if (!s["required"].is_array())
        throw config_error("JSON Schema at " + where(path) + ": required must be an array");
      for (const auto& r : s["required"]) {
        if (!r.is_string() || !props.contains(r.get<std::string>()))
          throw config_error("JSON Schema at " + where(path) + ": required names a property " +
                             r.dump() + " that is not in properties");
        required.insert(r.get<std::string>());
      }
    }
    // Two tracks: A_i (nothing written yet) and B_i (something written, next needs a comma).
    auto& n = b_.nfa();
    const uint32_t in = n.add_state(), out = n.add_state();
    uint32_t a = n.add_state(), bb = n.add_state();
    n.add_byte(in, '{', a);
    for (const auto& [name, sub] : props.items()) {
      const uint32_t a_next = n.add_state(), b_next = n.add_state();
      const std::string key = json(name).dump() + ":";
      const fragment first = b_.literal(key);
      const fragment later = b_.seq({b_.literal(","), ws(), b_.literal(key)});
      const fragment value = b_.seq(ws(), schema(sub, path + "/properties/" + name));
      n.add_epsilon(a, first.in);
      n.add_epsilon(bb, later.in);
      n.add_epsilon(first.out, value.in);
      n.add_epsilon(later.out, value.in);
      n.add_epsilon(value.out, b_next);
      if (!required.count(name)) {
        n.add_epsilon(a, a_next);
        n.add_epsilon(bb, b_next);
      }
      a = a_next;
      bb = b_next;
    }
    n.add_byte(a, '}', out);
    n.add_byte(bb, '}', out);
    return {in, out};
  }

  static constexpr int max_depth = 32;
  nfa_builder b_;
  json_options o_;
  uint64_t cap_ = 0;
  int depth_ = 0;
};

}  // namespace detail

// Constraint for one JSON value valid against `schema` (see the subset above).
inline constraint json_schema_constraint(const nlohmann::ordered_json& schema,
                                         const json_options& options = {}) {
  byte_nfa nfa;
  detail::schema_compiler c(nfa, options);
  const fragment root = c.schema(schema, "");
  return constraint(std::move(nfa), root);
}

// Same, from the schema's JSON text (config_error if it does not parse).
inline constraint json_schema_constraint_from_text(std::string_view schema_text,
                                                   const json_options& options = {}) {
  nlohmann::ordered_json schema;
  try {
    schema = nlohmann::ordered_json::parse(schema_text);
  } catch (const nlohmann::json::exception& e) {
    throw config_error(std::string("JSON Schema is not valid JSON: ") + e.what());
  }
  return json_schema_constraint(schema, options);
}

// Constraint for any JSON object (response_format json_object), values nested at most `depth`
// containers deep (the object itself is the first); see schema_compiler::any_value.
inline constraint json_object_constraint(const json_options& options = {}, int depth = 4) {
  if (depth < 1 || depth > 16) throw config_error("json_object_constraint: depth must be within 1..16");
  byte_nfa nfa;
  detail::schema_compiler c(nfa, options);
  const fragment root = c.any_object(depth);
  return constraint(std::move(nfa), root);
}

// Constraint for `{"name": <tool name>, "arguments": <that tool's parameters>}` over a list of
// tools, each {"name", "description"?, "parameters"?} or OpenAI's {"type": "function",
// "function": {...}}. A tool without parameters takes `{}` arguments.
inline constraint tool_call_constraint(const nlohmann::ordered_json& tools,
                                       const json_options& options = {}) {
  byte_nfa nfa;
  detail::schema_compiler c(nfa, options);
  const fragment root = c.tool_calls(tools);
  return constraint(std::move(nfa), root);
}

}  // namespace edgecloud::generate
