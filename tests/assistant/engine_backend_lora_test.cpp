// SPDX-License-Identifier: Apache-2.0
// `edgecloud serve --lora`: engine_backend with LoRA adapters behind openai_server, as llama.cpp's
// server does it -- GET /lora-adapters lists them, a request's "lora": [{"id", "scale"}] sets
// the scales for that request (the others at 0), POST /lora-adapters changes the server-wide
// scales, and unknown ids or malformed entries are 400. Every answer is compared with a backend
// that was configured with exactly that set and called directly (no server, no switching).
#include <gtest/gtest.h>
#include <unistd.h>

#include <edgecloud/assistant/engine_backend.hpp>
#include <edgecloud/testing/lora_gguf.hpp>
#include <edgecloud/transport.hpp>
#include <filesystem>
#include <string>

#include "common/fixtures.hpp"

namespace {

using namespace edgecloud;
namespace fs = std::filesystem;

struct temp_dir {
  fs::path path =
      fs::temp_directory_path() / ("edgecloud_lora_serve_" + std::to_string(::getpid()));
  temp_dir() { fs::create_directories(path); }
  ~temp_dir() {
    std::error_code ec;
    fs::remove_all(path, ec);
  }
};

transport::chat_request question() {
  transport::chat_request r;
  r.messages = {{.role = "user", .content = "Tell me about the weather tomorrow"}};
  r.max_tokens = 8;
  return r;
}

std::string answer_of(const engine_backend& b) {
  return b(question(), {}).content;
}

engine_backend backend_with(const std::string& model, std::vector<model::lora_file> lora) {
  return engine_backend::load(
      model, {.threads = 1, .context = 256, .default_max_tokens = 8, .lora = std::move(lora)});
}

TEST(ServeLora, PerRequestAdaptersAsLlamaCppServer) {
  EDGECLOUD_FIXTURE(model, "models/tiny-qwen3-fullvocab-q8_0.gguf");
  temp_dir dir;
  const auto base = model::qwen3::load(model);
  const std::string pa = (dir.path / "a.gguf").string(), pb = (dir.path / "b.gguf").string();
  edgecloud::testing::write_random_lora(pa, base.config(), {.rank = 8, .b_std = 0.3f, .seed = 5});
  edgecloud::testing::write_random_lora(pb, base.config(), {.rank = 4, .b_std = 0.3f, .seed = 6});

  // References: one backend per set, called directly.
  const std::string plain = answer_of(backend_with(model, {}));
  const std::string only_a = answer_of(backend_with(model, {{pa, 1.0f}}));
  const std::string only_b_half = answer_of(backend_with(model, {{pb, 0.5f}}));
  const std::string both = answer_of(backend_with(model, {{pa, 1.0f}, {pb, 1.0f}}));
  ASSERT_NE(plain, only_a) << "the adapter must change the answer for the test to mean anything";
  ASSERT_NE(only_a, both);

  auto backend = backend_with(model, {{pa, 1.0f}, {pb, 1.0f}});
  transport::openai_server_config cfg{.port = 0, .models = {"tiny"}};
  cfg.lora_adapters = backend.lora_adapters();
  transport::openai_server server(cfg, backend);
  server.start();
  httplib::Client c("127.0.0.1", server.port());

  auto listed = c.Get("/lora-adapters");
  ASSERT_TRUE(listed);
  EXPECT_EQ(listed->status, 200);
  EXPECT_EQ(nlohmann::json::parse(listed->body),
            nlohmann::json::parse("[{\"id\":0,\"path\":" + nlohmann::json(pa).dump() +
                                  ",\"scale\":1.0},{\"id\":1,\"path\":" +
                                  nlohmann::json(pb).dump() + ",\"scale\":1.0}]"));

  auto chat = [&](const nlohmann::json& lora, int* status = nullptr) {
    nlohmann::json body = {
        {"model", "tiny"},
        {"max_tokens", 8},
        {"messages", {{{"role", "user"}, {"content", "Tell me about the weather tomorrow"}}}}};
    if (!lora.is_null()) body["lora"] = lora;
    auto r = c.Post("/v1/chat/completions", body.dump(), "application/json");
    if (!r) return std::string("(no answer)");
    if (status) *status = r->status;
    if (r->status != 200) return r->body;
    return nlohmann::json::parse(r->body)["choices"][0]["message"]["content"].get<std::string>();
  };
  for (int round = 0; round < 2; ++round) {  // switching back and forth on one session
    EXPECT_EQ(chat(nullptr), both) << "no lora: the server-wide scales";
    EXPECT_EQ(chat(nlohmann::json::parse(R"([{"id":0,"scale":1.0}])")), only_a);
    EXPECT_EQ(chat(nlohmann::json::parse(R"([{"id":1,"scale":0.5}])")), only_b_half);
    EXPECT_EQ(chat(nlohmann::json::array()), plain) << "an empty list: every adapter off";
  }
  // Server-wide scales: b at 0.5 only.
  auto set = c.Post("/lora-adapters", R"([{"id":1,"scale":0.5}])", "application/json");
  ASSERT_TRUE(set);
  EXPECT_EQ(set->status, 200);
  EXPECT_EQ(chat(nullptr), only_b_half);
  EXPECT_DOUBLE_EQ(server.lora_adapters()[0].scale, 0.0);
  EXPECT_DOUBLE_EQ(server.lora_adapters()[1].scale, 0.5);

  // Bad requests: 400 with a message, nothing run.
  for (const char* bad :
       {R"([{"id":2,"scale":1.0}])", R"([{"id":-1,"scale":1.0}])", R"([{"id":0,"scale":"x"}])",
        R"([{"id":0}])", R"([{"id":0.5,"scale":1}])", R"(3)", R"([{"id":0,"scale":1e300}])"}) {
    int status = 0;
    const std::string msg = chat(nlohmann::json::parse(bad), &status);
    EXPECT_EQ(status, 400) << bad << ": " << msg;
    EXPECT_NE(msg.find("lora"), std::string::npos) << bad << ": " << msg;
  }
  auto bad_set = c.Post("/lora-adapters", R"([{"id":9,"scale":1}])", "application/json");
  ASSERT_TRUE(bad_set);
  EXPECT_EQ(bad_set->status, 400);
  EXPECT_DOUBLE_EQ(server.lora_adapters()[1].scale, 0.5) << "a refused POST changes nothing";
  server.stop();
}

TEST(ServeLora, AMismatchedAdapterFailsAtStart) {
  EDGECLOUD_FIXTURE(model, "models/tiny-qwen3-fullvocab-q8_0.gguf");
  temp_dir dir;
  // An adapter for a base of another architecture name cannot load.
  const auto m = model::qwen3::load(model);
  auto cfg = m.config();
  cfg.architecture = "qwen2";
  const std::string p = (dir.path / "qwen2.gguf").string();
  edgecloud::testing::write_random_lora(p, cfg, {.rank = 4});
  try {
    backend_with(model, {{p, 1.0f}});
    ADD_FAILURE() << "loaded";
  } catch (const model_error& e) {
    EXPECT_NE(std::string(e.what()).find(p), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("does not match"), std::string::npos) << e.what();
  }
}

}  // namespace

// OpenAI's `stop`: the answer ends before the first stop sequence, which is not part of it, and
// nothing after it is streamed. The reference is the same request without the stop.
TEST(ServeStop, StopSequencesEndTheAnswerBeforeThem) {
  EDGECLOUD_FIXTURE(model, "models/tiny-qwen3-fullvocab-q8_0.gguf");
  auto b = backend_with(model, {});
  auto q = question();
  q.max_tokens = 16;
  const auto full = b(q, {});
  ASSERT_GE(full.content.size(), 4u) << "the model's answer is too short to cut";
  // A stop sequence in the middle of the answer (on a UTF-8 boundary).
  size_t at = full.content.size() / 2;
  while (at > 0 && (static_cast<unsigned char>(full.content[at]) & 0xC0) == 0x80) --at;
  size_t len = 1;
  while (at + len < full.content.size() && (static_cast<unsigned char>(full.content[at + len]) & 0xC0) == 0x80) ++len;
  const std::string stop = full.content.substr(at, len);
  const std::string expected = full.content.substr(0, full.content.find(stop));
  q.stop = {"never appears in this answer \x01", stop};
  std::string streamed;
  const auto cut = b(q, [&](std::string_view d) {
    streamed.append(d);
    return true;
  });
  EXPECT_EQ(cut.content, expected);
  EXPECT_EQ(streamed, expected) << "the deltas must add up to the answer";
  EXPECT_EQ(cut.finish_reason, "stop");
  EXPECT_LE(cut.usage.completion_tokens, full.usage.completion_tokens);
  // A stop sequence that never comes changes nothing.
  q.stop = {"\x01\x02 not in it"};
  const auto same = b(q, {});
  EXPECT_EQ(same.content, full.content);
  EXPECT_EQ(same.finish_reason, full.finish_reason);
}

// A conversation that went through a tool: the assistant's earlier tool_calls and the tool's
// answer are rendered back into the prompt as the Qwen3 template does (not dropped). The
// reference is the template fed the OpenAI-form messages written out by hand.
TEST(ServeTools, EarlierToolCallsAreRenderedBackIntoThePrompt) {
  EDGECLOUD_FIXTURE(model, "models/tiny-qwen3-fullvocab-q8_0.gguf");
  auto b = backend_with(model, {});
  transport::chat_request q;
  q.max_tokens = 1;
  q.messages = {{.role = "user", .content = "weather in Paris?"},
                {.role = "assistant", .content = "", .tool_calls = {{"call_0", "get_weather", R"({"city":"Paris"})"}}},
                {.role = "tool", .content = "sunny, 21 C", .tool_call_id = "call_0"}};
  const auto r = b(q, {});
  const auto expected_prompt = text::render_qwen3(
      text::ordered_json::parse(R"([{"role":"user","content":"weather in Paris?"},
        {"role":"assistant","content":"","tool_calls":[{"type":"function","function":{"name":"get_weather","arguments":{"city":"Paris"}}}]},
        {"role":"tool","content":"sunny, 21 C"}])"),
      nullptr, {.add_generation_prompt = true, .enable_thinking = false});
  ASSERT_NE(expected_prompt.text.find("<tool_call>\n{\"name\": \"get_weather\""), std::string::npos);
  EXPECT_EQ(r.usage.prompt_tokens,
            static_cast<int64_t>(text::encode_chat(b.tokenizer(), expected_prompt).size()));
}
