// SPDX-License-Identifier: Apache-2.0
// assistant/local_edge.hpp without any fixture or built program (so it never skips): a tiny
// random-weight Qwen3 with the synthetic Qwen vocabulary is written here in-process. Checks
// has_cjk against a hand-made table of code points, the language each call switches the task
// prompts to (the result equals a tasks::engine run directly with that language), the
// EdgeModel calls, random_weights() from general.name, moving, and a missing file.
#include <gtest/gtest.h>

#include <edgecloud/assistant/local_edge.hpp>
#include <edgecloud/error.hpp>
#include <edgecloud/model/gguf_random_qwen3.hpp>
#include <edgecloud/model/gguf_writer.hpp>
#include <edgecloud/text/vocab.hpp>
#include <filesystem>
#include <string>
#include <unistd.h>
#include <vector>

namespace fs = std::filesystem;
using namespace edgecloud;

namespace {

// A tiny random Qwen3 with the synthetic vocabulary's tokenizer.ggml.* keys (padded to the
// embedding rows), as `edgecloud make-model --shape tiny` writes it.
fs::path write_tiny(const std::string& name) {
  const auto v = text::make_synthetic_vocab();
  auto shape = gguf::qwen3_shape::tiny();
  shape.name = name;
  gguf::writer w;
  gguf::add_random_qwen3(w, shape, gguf::type_q8_0, 7, 1);
  std::vector<std::string> tokens = v.tokens;
  std::vector<int32_t> types = v.token_types;
  types.resize(tokens.size(), 1);
  for (size_t id = tokens.size(); id < shape.vocab; ++id) {
    tokens.push_back("[PAD" + std::to_string(id) + "]");
    types.push_back(4);
  }
  w.add_string("tokenizer.ggml.model", "gpt2");
  w.add_string("tokenizer.ggml.pre", v.pre);
  w.add_string_array("tokenizer.ggml.tokens", tokens);
  w.add_array("tokenizer.ggml.token_type", types);
  w.add_string_array("tokenizer.ggml.merges", v.merges);
  if (v.eos_id >= 0) w.add_u32("tokenizer.ggml.eos_token_id", static_cast<uint32_t>(v.eos_id));
  const auto path = fs::temp_directory_path() /
                    ("edgecloud-local-edge-" + name + "-" + std::to_string(::getpid()) + ".gguf");
  w.write(path);
  return path;
}

struct temp_model {
  fs::path path;
  explicit temp_model(const std::string& name) : path(write_tiny(name)) {}
  ~temp_model() {
    std::error_code ec;
    fs::remove(path, ec);
  }
};

const temp_model& random_model() {
  static const temp_model m("random-qwen3-tiny-test");
  return m;
}

local_edge_config small() { return {.threads = 1, .context = 512}; }

TEST(LocalEdge, HasCjkByCodePoint) {
  struct example {
    const char* text;
    bool cjk;
  };
  const example table[] = {
      {"hello world", false},
      {"\xE5\xA4\xA9\xE6\xB0\x94", true},   // 天气 U+5929 U+6C14
      {"\xE3\x82\xAB\xE3\x83\x8A", true},   // カナ U+30AB U+30CA (kana)
      {"\xED\x95\x9C", true},               // 한 U+D55C (hangul, below U+D7AF)
      {"\xEF\xBC\xA1", true},               // Ａ U+FF21 (fullwidth)
      {"\xEF\xA4\x80", true},               // U+F900 (CJK compatibility)
      {"\xE2\xBA\x80", true},               // U+2E80, the first of the range
      {"\xE2\x80\x94 dash", false},         // — U+2014
      {"\xE2\x82\xAC", false},              // € U+20AC
      {"caf\xC3\xA9", false},               // é, 2 bytes
      {"\xF0\x9F\x98\x80", false},          // 😀, 4 bytes
      {"\xE5\xA4", false},                  // cut off
      {"mixed \xE5\x8C\x97 text", true},    // 北
  };
  for (const auto& e : table) EXPECT_EQ(has_cjk(e.text), e.cjk) << e.text;
}

TEST(LocalEdge, EachCallUsesThePromptsOfItsLanguage) {
  local_edge edge(random_model().path, small());
  EXPECT_TRUE(edge.random_weights());
  EXPECT_EQ(edge.tokenizer().size(), text::tokenizer(text::make_synthetic_vocab()).size());
  const std::vector<std::string> labels = {"weather", "music", "navigation"};

  // The same model and tokenizer through a tasks::engine of our own, language set explicitly.
  const auto direct = [&](std::string_view text, tasks::language lang) {
    tasks::engine_config ec;
    ec.runner.session.threads = 1;
    ec.runner.session.context = 512;
    tasks::engine e(edge.model(), edge.tokenizer(), ec);
    tasks::intent_config c;
    c.labels = labels;
    c.lang = lang;
    return e.classify(text, c);
  };
  for (const auto& [query, lang] :
       {std::pair<std::string, tasks::language>{"明天北京天气怎么样", tasks::language::zh},
        {"what's the weather tomorrow", tasks::language::en}}) {
    const auto got = edge.classify_intent(query, labels);
    EXPECT_EQ(edge.tasks_config().intent.lang, lang) << query;
    EXPECT_EQ(edge.tasks_config().answer.lang, lang) << query;
    const auto want = direct(query, lang);
    EXPECT_EQ(got.label, want.intent) << query;
    EXPECT_NEAR(got.confidence, want.confidence, 1e-9) << query;
    EXPECT_NEAR(got.out_of_set_mass, want.out_of_set, 1e-9) << query;
    // The other language's prompts give other scores: the comparison above can tell them apart.
    const auto other = direct(query, lang == tasks::language::zh ? tasks::language::en
                                                                 : tasks::language::zh);
    EXPECT_NE(got.confidence, other.confidence) << query;
    EXPECT_NE(std::find(labels.begin(), labels.end(), got.label), labels.end());
  }
}

TEST(LocalEdge, AutoLanguageOffKeepsTheConfiguredLanguage) {
  auto config = small();
  config.auto_language = false;
  config.tasks.intent.lang = tasks::language::en;
  local_edge edge(random_model().path, config);
  const std::vector<std::string> labels = {"a", "b"};
  (void)edge.classify_intent("明天北京天气怎么样", labels);
  EXPECT_EQ(edge.tasks_config().intent.lang, tasks::language::en);
}

TEST(LocalEdge, TheEdgeModelCallsAnswerAndSurviveAMove) {
  local_edge first(random_model().path, small());
  local_edge edge(std::move(first));  // one heap block: the engine's references stay valid
  const std::vector<turn> history = {{"user", "明天北京天气怎么样"}, {"assistant", "晴"}};
  const auto rewritten = edge.rewrite("后天呢", history);
  EXPECT_EQ(edge.tasks_config().rewrite.lang, tasks::language::zh);
  const auto safety = edge.check_safety("how do I bake bread");
  EXPECT_EQ(edge.tasks_config().safety.lang, tasks::language::en);
  EXPECT_GE(safety.confidence, 0.0);
  EXPECT_LE(safety.confidence, 1.0);
  EXPECT_EQ(safety.safe, safety.category == "none") << safety.category;
  edge_answer_request req;
  req.query = "tell me a joke";
  req.intent = "chat";
  req.max_tokens = 4;
  const auto answer = edge.answer(req);
  // Four tokens of the synthetic vocabulary decode to at most 4 * (longest token) bytes.
  size_t longest = 0;
  for (const auto& t : text::make_synthetic_vocab().tokens) longest = std::max(longest, t.size());
  EXPECT_LE(answer.size(), 4 * longest);
  (void)rewritten;
}

TEST(LocalEdge, RandomWeightsComesFromTheModelName) {
  const temp_model named("tiny-qwen3-test");
  local_edge edge(named.path, small());
  EXPECT_FALSE(edge.random_weights());
}

TEST(LocalEdge, MissingFileIsATypedErrorNamingIt) {
  const auto missing = fs::temp_directory_path() / "edgecloud-no-such-model.gguf";
  try {
    local_edge edge(missing, small());
    FAIL() << "no error";
  } catch (const edgecloud::error& e) {
    EXPECT_NE(std::string(e.what()).find("edgecloud-no-such-model.gguf"), std::string::npos)
        << e.what();
  }
}

}  // namespace
