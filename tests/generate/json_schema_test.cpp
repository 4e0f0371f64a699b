// SPDX-License-Identifier: Apache-2.0
// Byte-level languages of constraints, checked against brute-force enumeration and the JSON
// spec; unsupported JSON Schema keywords are rejected at compile time.
#include <gtest/gtest.h>

#include <random>

#include "generate/test_support.hpp"

namespace eg = edgecloud::generate;
using eg::test::ojson;

namespace {

eg::byte_dfa compile(const std::string& schema, eg::json_options o = {}) {
  return eg::byte_dfa::compile(eg::json_schema_constraint_from_text(schema, o));
}

TEST(ByteAutomaton, ChoiceAcceptsExactlyTheLabels) {
  const auto d = eg::byte_dfa::compile(eg::constraint::choice({"neg", "negative", "pos", "中文"}));
  for (const char* s : {"neg", "negative", "pos", "中文"}) EXPECT_TRUE(d.accepts(s)) << s;
  for (const char* s : {"", "ne", "nega", "negatives", "po", "posi", "中", "x"})
    EXPECT_FALSE(d.accepts(s)) << s;
  EXPECT_FALSE(d.terminal(d.run(d.start(), "neg")));  // "negative" may still follow
  EXPECT_TRUE(d.terminal(d.run(d.start(), "negative")));
  EXPECT_THROW(eg::constraint::choice({}), edgecloud::config_error);
  EXPECT_THROW(eg::constraint::choice({"a", ""}), edgecloud::config_error);
}

TEST(ByteAutomaton, IntegerRangesAreExact) {
  std::mt19937_64 rng(7);
  for (int trial = 0; trial < 60; ++trial) {
    int64_t lo = static_cast<int64_t>(rng() % 4000) - 2000;
    int64_t hi = lo + static_cast<int64_t>(rng() % 3000);
    if (trial % 5 == 0) lo = hi;  // single value
    const auto d = compile(R"({"type":"integer","minimum":)" + std::to_string(lo) +
                           R"(,"maximum":)" + std::to_string(hi) + "}");
    for (int64_t x = lo - 120; x <= hi + 120; ++x)
      ASSERT_EQ(d.accepts(std::to_string(x)), x >= lo && x <= hi) << lo << ".." << hi << " " << x;
    EXPECT_FALSE(d.accepts("-0"));
    EXPECT_FALSE(d.accepts("+1"));
    EXPECT_FALSE(d.accepts("01"));
    EXPECT_FALSE(d.accepts(std::to_string(lo) + ".0"));
  }
  // exclusive bounds and default magnitude cap
  const auto e = compile(R"({"type":"integer","exclusiveMinimum":3,"exclusiveMaximum":7.5})");
  for (int x = 0; x < 12; ++x) EXPECT_EQ(e.accepts(std::to_string(x)), x > 3 && x <= 7) << x;
  // Huge bounds: clamped to the magnitude cap, or an error when nothing is left.
  EXPECT_THROW(compile(R"({"type":"integer","minimum":1e300})"), edgecloud::config_error);
  EXPECT_THROW(compile(R"({"type":"number","maximum":-1e300})"), edgecloud::config_error);
  EXPECT_TRUE(compile(R"({"type":"integer","minimum":-1e300,"maximum":1e300})").accepts("-42"));
  EXPECT_TRUE(compile(R"({"type":"number","minimum":-1e300,"maximum":1e300})").accepts("4.2"));
  eg::json_options o;
  o.max_integer_digits = 3;
  const auto capped = compile(R"({"type":"integer"})", o);
  EXPECT_TRUE(capped.accepts("999"));
  EXPECT_TRUE(capped.accepts("-999"));
  EXPECT_FALSE(capped.accepts("1000"));
}

TEST(ByteAutomaton, NumbersStayInsideFractionalBounds) {
  const auto d = compile(R"({"type":"number","minimum":-2.5,"maximum":3.75})");
  // Every accepted short decimal is within bounds; integer points and inner fractions accepted.
  for (int i = -400; i <= 400; ++i) {
    for (int digits = 0; digits <= 2; ++digits) {
      char buf[32];
      const double x = i / 100.0;
      std::snprintf(buf, sizeof buf, "%.*f", digits, x);
      if (d.accepts(buf)) {
        const double v = std::stod(buf);
        EXPECT_TRUE(v >= -2.5 && v <= 3.75) << buf;
      }
    }
  }
  for (const char* ok : {"0", "3", "-2", "2.999", "-1.5", "0.5", "-0.25", "1.000001"})
    EXPECT_TRUE(d.accepts(ok)) << ok;
  for (const char* bad : {"4", "-3", "3.8", "1.", ".5", "1e2", "01.5", "1.0000001", "-0"})
    EXPECT_FALSE(d.accepts(bad)) << bad;
  const auto p = compile(R"({"type":"number","minimum":0,"maximum":1})");
  for (const char* ok : {"0", "1", "0.5", "0.999999"}) EXPECT_TRUE(p.accepts(ok)) << ok;
  for (const char* bad : {"1.5", "-0.5", "2"}) EXPECT_FALSE(p.accepts(bad)) << bad;
}

TEST(ByteAutomaton, StringsAreValidUtf8WithinLength) {
  const auto d = compile(R"({"type":"string","minLength":1,"maxLength":3})");
  for (const char* ok : {"\"a\"", "\"abc\"", "\"你好\"", "\"\\n\\\"x\"", "\"\\u00e9\"", "\"😀a\"",
                         "\"\\ud7ff\"", "\"é\""})
    EXPECT_TRUE(d.accepts(ok)) << ok;
  for (const char* bad :
       {"\"\"", "\"abcd\"", "\"\\x\"", "\"\\ud800\"", "\"\xc0\x80\"", "\"\xed\xa0\x80\"",
        "\"\xe4\xbd\"", "\"a\nb\"", "\"\x01\"", "abc", "\"\\u12\""})
    EXPECT_FALSE(d.accepts(bad)) << bad;
  // Every accepted string parses with nlohmann and has the right code-point length.
  std::mt19937_64 rng(3);
  const std::string pieces[] = {"a", "\\n", "\\\"", "你", "😀", "\\u0041", "é", " "};
  for (int i = 0; i < 2000; ++i) {
    std::string s = "\"";
    const size_t n = rng() % 5;
    for (size_t k = 0; k < n; ++k) s += pieces[rng() % 8];
    s += "\"";
    const bool accepted = d.accepts(s);
    const auto parsed = nlohmann::json::parse(s);
    const size_t len = eg::test::code_points(parsed.get<std::string>());
    EXPECT_EQ(accepted, len >= 1 && len <= 3) << s;
  }
}

TEST(ByteAutomaton, ObjectsKeepOrderAndRequired) {
  const auto d = compile(R"({"type":"object","properties":{
      "a":{"type":"boolean"},"b":{"type":"null"},"c":{"enum":["x",1]}},"required":["b"]})");
  for (const char* ok : {R"({"b":null})", R"({"a":true,"b":null})", R"({"a": false, "b": null})",
                         R"({"b":null,"c":"x"})", R"({"a":true,"b":null,"c":1})"})
    EXPECT_TRUE(d.accepts(ok)) << ok;
  for (const char* bad :
       {R"({})", R"({"a":true})", R"({"b":null,"a":true})", R"({"b":null,})", R"({ "b":null})",
        R"({"b":  null})", R"({"b":null,"c":2})", R"({"b":null} )"})
    EXPECT_FALSE(d.accepts(bad)) << bad;
  eg::json_options tight;
  tight.space_after_separators = false;
  EXPECT_FALSE(
      compile(R"({"type":"object","properties":{"b":{"type":"null"}},"required":["b"]})", tight)
          .accepts(R"({"b": null})"));
}

TEST(ByteAutomaton, ArraysBoundItems) {
  const auto d = compile(R"({"type":"array","items":{"type":"integer","minimum":0,"maximum":9},
                             "minItems":1,"maxItems":3})");
  for (const char* ok : {"[1]", "[1,2]", "[1, 2, 3]"}) EXPECT_TRUE(d.accepts(ok)) << ok;
  for (const char* bad : {"[]", "[1,2,3,4]", "[10]", "[1,]", "[ 1]"})
    EXPECT_FALSE(d.accepts(bad)) << bad;
}

TEST(ByteAutomaton, AnyOfAndTypeLists) {
  const auto d = compile(R"({"anyOf":[{"type":"string","maxLength":2},{"type":"integer",
      "minimum":0,"maximum":5},{"type":"object","properties":{"k":{"type":["boolean","null"]}}}]})");
  for (const char* ok : {"\"ab\"", "3", "{}", R"({"k":null})", R"({"k":true})"})
    EXPECT_TRUE(d.accepts(ok)) << ok;
  for (const char* bad : {"\"abc\"", "6", R"({"k":1})", "null"})
    EXPECT_FALSE(d.accepts(bad)) << bad;
}

TEST(ByteAutomaton, ToolCalls) {
  const auto tools = ojson::parse(R"([
    {"type":"function","function":{"name":"get_weather","description":"Weather",
      "parameters":{"type":"object","properties":{"city":{"type":"string","maxLength":20},
      "units":{"enum":["celsius","fahrenheit"]}},"required":["city"]}}},
    {"name":"search","parameters":{"type":"object","properties":{"query":{"type":"string"}},
      "required":["query"]}},
    {"name":"now"}])");
  const auto d = eg::byte_dfa::compile(eg::tool_call_constraint(tools));
  for (const char* ok :
       {R"({"name": "get_weather", "arguments": {"city": "Paris"}})",
        R"({"name":"search","arguments":{"query":"x"}})", R"({"name": "now", "arguments": {}})"})
    EXPECT_TRUE(d.accepts(ok)) << ok;
  for (const char* bad :
       {R"({"name": "search", "arguments": {"city": "Paris"}})",
        R"({"name": "other", "arguments": {}})", R"({"arguments": {}, "name": "now"})"})
    EXPECT_FALSE(d.accepts(bad)) << bad;
  EXPECT_THROW(eg::tool_call_constraint(ojson::parse(R"([{"name":"a"},{"name":"a"}])")),
               edgecloud::config_error);
  EXPECT_THROW(eg::tool_call_constraint(ojson::parse(R"([])")), edgecloud::config_error);
}

TEST(ByteAutomaton, AnyJsonObject) {
  eg::json_options o;
  o.default_max_string_length = 8;
  const auto d = eg::byte_dfa::compile(eg::json_object_constraint(o, 3));
  for (const char* ok :
       {"{}", R"({"a":1})", R"({"a": 1, "b": "x"})", R"({"k":{"n":[1, -2.5, true, null, "s"]}})",
        R"({"":[]})", R"({"x":[[], {}]})", R"({"a":{"b":{"c":1}}})", R"({"u":"\u00e9\n"})", R"({"z":false})"})
    EXPECT_TRUE(d.accepts(ok)) << ok;
  for (const char* bad :
       {"[]", "1", "\"s\"", "null", R"({"a":1,})", R"({"a" :1})", R"({a:1})", R"({"a":01})",
        R"({"a":{"b":{"c":[]}}})",  // four containers deep
        R"({"a":"123456789"})",    // past default_max_string_length
        R"({"a":1} )", R"({"a":[1,]})", R"({"a":tru})", "{"})
    EXPECT_FALSE(d.accepts(bad)) << bad;
  EXPECT_THROW(eg::json_object_constraint({}, 0), edgecloud::config_error);
  EXPECT_THROW(eg::json_object_constraint({}, 17), edgecloud::config_error);
  // Random walks through the automaton: whatever is produced parses as an object.
  const auto deep = eg::byte_dfa::compile(eg::json_object_constraint({}, 4));
  std::mt19937_64 rng(17);
  int objects = 0;
  for (int walk = 0; walk < 300; ++walk) {
    std::string s;
    int32_t st = deep.start();
    for (int step = 0; step < 600 && !deep.terminal(st) && !(deep.accepting(st) && step > 150); ++step) {
      std::vector<std::pair<uint8_t, int32_t>> next;
      for (int b = 0; b < 256; ++b)
        if (const int32_t t = deep.next(st, static_cast<uint8_t>(b)); t != eg::byte_dfa::dead)
          next.emplace_back(static_cast<uint8_t>(b), t);
      ASSERT_FALSE(next.empty()) << "a live prefix with no way on: " << s;
      auto pick = next[rng() % next.size()];
      if (step > 150)  // late in a walk, head for the end
        for (const auto& n : next)
          if (deep.distance(n.second) < deep.distance(pick.second)) pick = n;
      s.push_back(static_cast<char>(pick.first));
      st = pick.second;
    }
    if (!deep.accepting(st)) continue;
    const auto v = nlohmann::json::parse(s, nullptr, false);
    ASSERT_FALSE(v.is_discarded()) << s;
    ASSERT_TRUE(v.is_object()) << s;
    ++objects;
  }
  EXPECT_EQ(objects, 300);
}

TEST(ByteAutomaton, UnsupportedKeywordsAreErrors) {
  const char* bad[] = {
      R"({"type":"string","pattern":"^a"})",
      R"({"type":"string","format":"email"})",
      R"({"$ref":"#/definitions/x"})",
      R"({"oneOf":[{"type":"string"}]})",
      R"({"allOf":[{"type":"string"}]})",
      R"({"not":{"type":"string"}})",
      R"({"type":"integer","multipleOf":2})",
      R"({"type":"array","items":{"type":"integer"},"uniqueItems":true})",
      R"({"type":"object","minProperties":1})",
      R"({"type":"object","additionalProperties":{"type":"string"}})",
      R"({"type":"array","items":[{"type":"integer"}]})",
      R"({"type":"array"})",
      R"({"type":"number","exclusiveMinimum":0})",
      R"({"type":"object","properties":{"a":{"type":"string","patternProperties":{}}}})",
      R"({"type":"object","properties":{"a":{"type":"string"}},"required":["b"]})",
      R"({"enum":["a","bb"],"maxLength":1})",
      R"({"type":"integer","maxLength":3})",
      R"({"type":"strin"})",
      R"({})",
      R"(true)",
      R"({"type":"string","minLength":5,"maxLength":2})",
      R"({"type":"integer","minimum":10,"maximum":2})",
      R"({"anyOf":[]})",
      R"({"type":"string","anyOf":[{"type":"string"}]})",
      R"({"enum":[1,2],"type":"string"})",
      R"({"type":"object","if":{}})",
      "not json",
  };
  for (const char* s : bad)
    EXPECT_THROW(eg::json_schema_constraint_from_text(std::string(s)), edgecloud::config_error)
        << s;
  // Annotations are accepted.
  EXPECT_NO_THROW(eg::json_schema_constraint_from_text(std::string(
      R"({"type":"string","title":"t","description":"d","default":"x","examples":["y"],"$schema":"s"})")));
}

TEST(ByteAutomaton, OversizedSchemasAreRefused) {
  std::string deep = R"({"type":"integer"})";
  for (int i = 0; i < 40; ++i) deep = R"({"type":"array","maxItems":1,"items":)" + deep + "}";
  EXPECT_THROW(compile(deep), edgecloud::config_error);
  eg::json_options o;
  o.default_max_items = 50;
  o.default_max_string_length = 500;
  EXPECT_THROW(compile(R"({"type":"array","items":{"type":"array","items":{"type":"array",
      "items":{"type":"string"}}}})",
                       o),
               edgecloud::config_error);
}

}  // namespace
