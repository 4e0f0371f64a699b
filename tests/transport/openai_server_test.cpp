// SPDX-License-Identifier: Apache-2.0
// openai_server seen from independent clients: raw httplib requests, curl, and (when installed)
// the official `openai` npm package. Also: endpoints, auth, bad requests, fault headers,
// counters, and that stop() ends promptly in the middle of slow answers.
#include "transport/support.hpp"

#include <gtest/gtest.h>

#include <array>
#include <cstdio>
#include <filesystem>
#include <fstream>

using namespace edgecloud::testing;

namespace {

struct command_result {
  int status = -1;
  std::string out;
};

command_result run_command(const std::string& cmd) {
  command_result r;
  FILE* p = ::popen(cmd.c_str(), "r");
  if (!p) return r;
  std::array<char, 4096> buf;
  std::size_t n;
  while ((n = std::fread(buf.data(), 1, buf.size(), p)) > 0) r.out.append(buf.data(), n);
  r.status = ::pclose(p);
  return r;
}

bool have(const char* tool) {
  return run_command(std::string("command -v ") + tool + " >/dev/null 2>&1").status == 0;
}

std::string shell_quote(const std::string& s) {
  std::string q = "'";
  for (char c : s) q += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return q + "'";
}

// Joins the content deltas of an SSE body; "" when [DONE] is missing.
std::string sse_content(const std::string& body) {
  et::sse_parser parser;
  std::string text;
  bool done = false;
  parser.feed(body, [&](const et::sse_event& e) {
    if (e.data == "[DONE]") return done = true, true;
    auto j = nlohmann::json::parse(e.data, nullptr, false);
    if (j.is_object() && j.contains("choices") && !j["choices"].empty()) {
      const auto& d = j["choices"][0]["delta"];
      if (d.contains("content") && d["content"].is_string()) text += d["content"].get<std::string>();
    }
    return true;
  });
  return done ? text : std::string();
}

const char* chat_body = R"({"model":"edgecloud-echo","messages":[{"role":"user","content":"hi curl"}]})";
const char* stream_body =
    R"({"model":"edgecloud-echo","stream":true,"messages":[{"role":"user","content":"stream to curl"}]})";

}  // namespace

TEST(OpenAiServer, ModelsHealthAndUnknownPaths) {
  et::openai_server_config sc;
  sc.models = {"qwen3-0.6b", "qwen3-8b"};
  test_server s(sc);
  httplib::Client c("127.0.0.1", s.server.port());
  auto health = c.Get("/health");
  ASSERT_TRUE(health);
  EXPECT_EQ(health->status, 200);
  EXPECT_EQ(nlohmann::json::parse(health->body)["status"], "ok");
  auto models = c.Get("/v1/models");
  ASSERT_TRUE(models);
  auto j = nlohmann::json::parse(models->body);
  ASSERT_EQ(j["data"].size(), 2u);
  EXPECT_EQ(j["data"][1]["id"], "qwen3-8b");
  auto missing = c.Get("/v1/nothing");
  ASSERT_TRUE(missing);
  EXPECT_EQ(missing->status, 404);
  EXPECT_EQ(s.server.stats().requests, 3u);
  EXPECT_EQ(s.server.stats().chat_completions, 0u);
}

TEST(OpenAiServer, BadRequestsGetOpenAiErrorBodies) {
  et::openai_server_config sc;
  sc.max_request_bytes = 10000;
  test_server s(sc);
  httplib::Client c("127.0.0.1", s.server.port());
  auto not_json = c.Post("/v1/chat/completions", "{nope", "application/json");
  ASSERT_TRUE(not_json);
  EXPECT_EQ(not_json->status, 400);
  EXPECT_EQ(nlohmann::json::parse(not_json->body)["error"]["type"], "invalid_request_error");
  auto no_messages = c.Post("/v1/chat/completions", R"({"model":"m"})", "application/json");
  ASSERT_TRUE(no_messages);
  EXPECT_EQ(no_messages->status, 400);
  httplib::Headers bad_fault = {{"X-Edgecloud-Fault", "explode=1"}};
  auto fault = c.Post("/v1/chat/completions", bad_fault, chat_body, "application/json");
  ASSERT_TRUE(fault);
  EXPECT_EQ(fault->status, 400);
  auto big = c.Post("/v1/chat/completions", std::string(20000, ' ') + chat_body, "application/json");
  ASSERT_TRUE(big);
  EXPECT_EQ(big->status, 413);
  const auto st = s.server.stats();
  EXPECT_EQ(st.rejected, 3u);
  EXPECT_EQ(st.chat_completions, 3u);  // the 413 never reached the handler
}

// Every field the server reads is checked, as the OpenAI API does: a 400 whose error names
// the field (error.param), and what the greedy backend cannot honour is refused, not ignored.
TEST(OpenAiServer, InvalidOrUnsupportedFieldsAre400sNamingTheParam) {
  test_server s;
  httplib::Client c("127.0.0.1", s.server.port());
  const std::string msgs = R"("messages":[{"role":"user","content":"hi"}])";
  const std::vector<std::pair<std::string, std::string>> cases = {
      {R"("max_tokens":-5)", "max_tokens"},
      {R"("max_tokens":2.5)", "max_tokens"},
      {R"("max_tokens":"10")", "max_tokens"},
      {R"("max_completion_tokens":0)", "max_completion_tokens"},
      {R"("temperature":3)", "temperature"},
      {R"("temperature":0.7)", "temperature"},  // valid, but this server decodes greedily
      {R"("top_p":0.9)", "top_p"},
      {R"("top_p":0)", "top_p"},
      {R"("seed":"x")", "seed"},
      {R"("n":2)", "n"},
      {R"("n":0)", "n"},
      {R"("stop":5)", "stop"},
      {R"("stop":["a","b","c","d","e"])", "stop"},
      {R"("stop":[""])", "stop"},
      {R"("tools":{"type":"function"})", "tools"},
      {R"("tools":[{"type":"function","function":{"description":"no name"}}])", "tools"},
      {R"("tool_choice":"sometimes")", "tool_choice"},
      {R"("response_format":{"type":"yaml"})", "response_format"},
      {R"("response_format":{"type":"json_object"})", "response_format"},  // not supported here
      {R"("stream":"yes")", "stream"},
      {R"("model":7)", "model"},
  };
  for (const auto& [field, param] : cases) {
    const std::string body = "{" + msgs + "," + field + "}";
    auto r = c.Post("/v1/chat/completions", body, "application/json");
    ASSERT_TRUE(r) << body;
    EXPECT_EQ(r->status, 400) << body << " -> " << r->body;
    const auto j = nlohmann::json::parse(r->body, nullptr, false);
    ASSERT_TRUE(j.is_object()) << r->body;
    EXPECT_EQ(j["error"]["type"], "invalid_request_error") << body;
    EXPECT_EQ(j["error"]["param"], param) << body << " -> " << r->body;
    EXPECT_FALSE(j["error"]["message"].get<std::string>().empty());
  }
  // What it can honour passes: greedy settings, a seed, one choice, text, stops, null fields.
  for (const std::string ok :
       {R"("temperature":0,"top_p":1,"seed":7,"n":1,"max_tokens":4)",
        R"("response_format":{"type":"text"},"stop":["\n","END"],"tool_choice":"auto")",
        R"("max_tokens":null,"temperature":null,"stop":null,"tools":[])"}) {
    auto r = c.Post("/v1/chat/completions", "{" + msgs + "," + ok + "}", "application/json");
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 200) << ok << " -> " << r->body;
  }
  EXPECT_EQ(s.server.stats().rejected, cases.size());
}

TEST(OpenAiServer, ApiKeyGuardsEverythingButHealth) {
  et::openai_server_config sc;
  sc.api_key = "sk-local";
  test_server s(sc);
  httplib::Client c("127.0.0.1", s.server.port());
  EXPECT_EQ(c.Get("/health")->status, 200);
  EXPECT_EQ(c.Get("/v1/models")->status, 401);
  EXPECT_EQ(c.Post("/v1/chat/completions", chat_body, "application/json")->status, 401);
  c.set_bearer_token_auth("sk-local");
  EXPECT_EQ(c.Post("/v1/chat/completions", chat_body, "application/json")->status, 200);
}

TEST(OpenAiServer, InjectedErrorsCarryRetryAfterAndCountersAddUp) {
  test_server s;
  httplib::Client c("127.0.0.1", s.server.port());
  httplib::Headers h = {{"X-Edgecloud-Fault", "status=429;retry_after=7"}};
  auto r = c.Post("/v1/chat/completions", h, chat_body, "application/json");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 429);
  EXPECT_EQ(r->get_header_value("Retry-After"), "7");
  EXPECT_EQ(nlohmann::json::parse(r->body)["error"]["type"], "rate_limit_error");
  // Server-wide rates are reproducible (seeded) and every request lands in one counter.
  et::fault_config f;
  f.error_rate = 0.3;
  f.break_kind = et::stream_break::malformed_json;
  f.break_rate = 0.2;
  s.server.set_faults(f);
  for (int i = 0; i < 100; ++i) c.Post("/v1/chat/completions", chat_body, "application/json");
  const auto st = s.server.stats();
  EXPECT_EQ(st.chat_completions, 101u);
  EXPECT_EQ(st.chat_completions, st.completed + st.injected_errors + st.injected_breaks + st.rejected +
                                      st.client_disconnects + st.generator_errors);
  EXPECT_GT(st.injected_errors, 10u);
  EXPECT_LT(st.injected_errors, 60u);
  EXPECT_GT(st.injected_breaks, 3u);
}

TEST(OpenAiServer, GeneratorExceptionsBecome500AndStreamErrorEvents) {
  test_server s({}, [](const et::chat_request&, const et::delta_sink&) -> et::generation_result {
    throw std::runtime_error("engine on fire");
  });
  httplib::Client c("127.0.0.1", s.server.port());
  auto r = c.Post("/v1/chat/completions", chat_body, "application/json");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 500);
  EXPECT_NE(r->body.find("engine on fire"), std::string::npos);
  auto cfg = quick_config(s.url());
  cfg.retry.max_attempts = 1;
  et::openai_transport t(cfg);
  auto streamed = t.complete(user_request("x", true));
  EXPECT_FALSE(streamed.ok());
  EXPECT_NE(streamed.error.find("engine on fire"), std::string::npos) << streamed.error;
  EXPECT_EQ(s.server.stats().generator_errors, 2u);
}

TEST(OpenAiServer, StopEndsPromptlyDuringSlowAnswers) {
  auto s = std::make_unique<test_server>();
  auto cfg = quick_config(s->url());
  cfg.headers = {{"X-Edgecloud-Fault", "delay=20000"}};
  cfg.retry.max_attempts = 1;
  cfg.timeouts.total = 30000ms;
  cfg.timeouts.first_byte = 30000ms;
  et::openai_transport t(cfg);
  et::chat_response r;
  std::thread caller([&] { r = t.complete(user_request("x")); });
  // Stop once the request is inside the 20 s delay (an event, not a guessed sleep).
  ASSERT_EQ(wait_for_count([&] { return std::uint64_t(s->server.stats().chat_completions); }, 1u,
                           20000ms),
            1u);
  s.reset();  // stops: wakes the injected delay, joins the workers
  caller.join();
  // Stopping woke the delay: the caller got a refusal or a closed connection, not the echo the
  // delay would have ended in, and not its own 30 s timeout.
  EXPECT_FALSE(r.ok()) << r.content;
  EXPECT_TRUE(r.status == et::call_status::http_error || r.status == et::call_status::connection_error)
      << et::to_string(r.status) << ": " << r.error;
  if (r.status == et::call_status::http_error) EXPECT_EQ(r.http_status, 503) << r.error;
}

TEST(OpenAiServer, BindingABusyPortIsAClearError) {
  test_server first;
  et::openai_server_config sc;
  sc.port = first.server.port();
  et::openai_server second(sc, et::echo_backend{});
  EXPECT_THROW(second.start(), edgecloud::transport_error);
}

TEST(OpenAiServer, CurlGetsPlainAndStreamedAnswers) {
  if (!have("curl")) GTEST_SKIP() << "curl is not installed";
  test_server s;
  const std::string url = s.url() + "/chat/completions";
  auto plain = run_command("curl -sS --max-time 20 -H 'Content-Type: application/json' -d " +
                           shell_quote(chat_body) + " " + url);
  ASSERT_EQ(plain.status, 0) << plain.out;
  auto j = nlohmann::json::parse(plain.out, nullptr, false);
  ASSERT_FALSE(j.is_discarded()) << plain.out;
  EXPECT_EQ(j["choices"][0]["message"]["content"], "echo: hi curl");
  EXPECT_EQ(j["object"], "chat.completion");
  auto streamed = run_command("curl -sS -N --max-time 20 -H 'Content-Type: application/json' -d " +
                              shell_quote(stream_body) + " " + url);
  ASSERT_EQ(streamed.status, 0) << streamed.out;
  EXPECT_EQ(sse_content(streamed.out), "echo: stream to curl") << streamed.out;
  auto models = run_command("curl -sS --max-time 20 " + s.url() + "/models");
  EXPECT_NE(models.out.find("edgecloud-echo"), std::string::npos) << models.out;
  const auto served_completed = [&] { return std::uint64_t(s.server.stats().completed); };
  EXPECT_EQ(wait_for_count(served_completed, 2u), static_cast<std::uint64_t>(2u));
}

// The official OpenAI Node SDK against our server. Needs `npm install --prefix build/npm openai@4`
// (see docs/transport.md); skipped when it is absent.
TEST(OpenAiServer, OfficialOpenAiNodeClient) {
  std::filesystem::path module = std::filesystem::path(EDGECLOUD_BINARY_DIR) / "npm" / "node_modules" / "openai";
  if (const char* env = std::getenv("EDGECLOUD_OPENAI_NODE_MODULE")) module = env;
  if (!std::filesystem::exists(module / "package.json") || !have("node"))
    GTEST_SKIP() << "openai npm package not installed at " << module
                 << " (npm install --prefix build/npm openai@4)";
  test_server s;
  const auto script = std::filesystem::temp_directory_path() /
                      ("edgecloud-openai-" + std::to_string(::getpid()) + ".js");
  std::ofstream(script) << R"JS(
const OpenAI = require(process.argv[2]);
const client = new OpenAI({ baseURL: process.argv[3], apiKey: 'sk-local', maxRetries: 0, timeout: 20000 });
(async () => {
  const out = {};
  const plain = await client.chat.completions.create({
    model: 'edgecloud-echo', messages: [{ role: 'user', content: 'hello node' }] });
  out.plain = plain.choices[0].message.content;
  out.usage = plain.usage.completion_tokens;
  const stream = await client.chat.completions.create({
    model: 'edgecloud-echo', stream: true, messages: [{ role: 'user', content: '流式 stream me' }] });
  out.stream = '';
  for await (const chunk of stream) out.stream += (chunk.choices[0] && chunk.choices[0].delta.content) || '';
  const tools = await client.chat.completions.create({
    model: 'edgecloud-echo', messages: [{ role: 'user', content: 'call get_weather {"city":"Rome"}' }],
    tools: [{ type: 'function', function: { name: 'get_weather',
              parameters: { type: 'object', properties: { city: { type: 'string' } } } } }] });
  out.tool = tools.choices[0].message.tool_calls[0].function;
  const models = await client.models.list();
  out.models = models.data.map(m => m.id);
  console.log(JSON.stringify(out));
})().catch(e => { console.error(String(e)); process.exit(1); });
)JS";
  auto r = run_command("node " + shell_quote(script.string()) + " " + shell_quote(module.string()) +
                       " " + shell_quote(s.url()) + " 2>&1");
  std::filesystem::remove(script);
  ASSERT_EQ(r.status, 0) << r.out;
  auto j = nlohmann::json::parse(r.out, nullptr, false);
  ASSERT_FALSE(j.is_discarded()) << r.out;
  EXPECT_EQ(j["plain"], "echo: hello node");
  EXPECT_EQ(j["usage"], 3);
  EXPECT_EQ(j["stream"], "echo: 流式 stream me");
  EXPECT_EQ(j["tool"]["name"], "get_weather");
  EXPECT_EQ(j["tool"]["arguments"], R"({"city":"Rome"})");
  EXPECT_EQ(j["models"][0], "edgecloud-echo");
}
