// SPDX-License-Identifier: Apache-2.0
// The main example: Chinese and English requests through the assistant — the SDK's engine on
// the device, an OpenAI-compatible cloud (scripts/demo.sh starts `edgecloud serve` as a local
// stand-in) — printing each routing decision, its reason and latencies, then the telemetry.
//
//   assistant_demo MODEL.gguf CLOUD_URL [--prometheus]
//   env: EDGECLOUD_DEMO_MAX_TOKENS (32) answer budget, EDGECLOUD_DEMO_THREADS (0 = all),
//        EDGECLOUD_DEMO_INTENT = auto | engine | keywords (see demo_edge below),
//        EDGECLOUD_DEMO_CLOUD_MODEL (the cloud's model name), EDGECLOUD_API_KEY
//
// What the requests show: short device commands stay on the edge (task.confident); knowledge
// and open questions go to the cloud (task.cloud_task); a phone number is redacted before it
// leaves the device; a user who opted out ("never send") is answered locally; a forced-cloud
// request while the cloud answers HTTP 503 falls back to the edge (fallback: true).
#include <edgecloud/assistant/default_assistant.hpp>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <optional>
#include <string>
#include <vector>

namespace ec = edgecloud;

namespace {

// The device side. With a random-weight model (`edgecloud make-model`, general.name "random-…")
// the engine's intents and safety verdicts are noise, so — in `auto` mode — the routing features
// come from the keyword stand-in while the engine still runs every task (its cost is in the
// timings) and writes every edge answer. With a real Qwen3 GGUF the engine decides alone.
struct demo_edge {
  ec::local_edge engine;
  std::optional<ec::stand_in_edge> keywords;

  ec::edge_intent classify_intent(std::string_view text, std::span<const std::string> labels) {
    auto r = engine.classify_intent(text, labels);
    return keywords ? keywords->classify_intent(text, labels) : r;
  }
  std::string rewrite(std::string_view text, std::span<const ec::turn> history) {
    return engine.rewrite(text, history);
  }
  ec::edge_safety check_safety(std::string_view text) {
    auto r = engine.check_safety(text);
    return keywords ? keywords->check_safety(text) : r;
  }
  std::string answer(const ec::edge_answer_request& request) { return engine.answer(request); }
};
static_assert(ec::EdgeModel<demo_edge>);

// The cloud transport, with a switch that makes the stand-in cloud fail: a second transport to
// the same server whose requests carry `X-Edgecloud-Fault: status=503` (openai_server's fault
// injection), so the failure is a real HTTP 503 on a real socket.
class switchable_cloud {
 public:
  explicit switchable_cloud(const ec::transport::openai_transport_config& c)
      : normal_(c), failing_(with_fault(c)) {}
  ec::transport::chat_response complete(const ec::transport::chat_request& r,
                                        const ec::transport::call_options& o) {
    return fail_.load() ? failing_.complete(r, o) : normal_.complete(r, o);
  }
  ec::transport::chat_response complete(const ec::transport::chat_request& r) { return complete(r, {}); }
  ec::transport::circuit_state circuit() const { return normal_.circuit(); }
  void set_failing(bool f) { fail_.store(f); }

 private:
  static ec::transport::openai_transport_config with_fault(ec::transport::openai_transport_config c) {
    c.headers.emplace_back("X-Edgecloud-Fault", "status=503");
    return c;
  }
  ec::transport::openai_transport normal_, failing_;
  std::atomic<bool> fail_{false};
};
static_assert(ec::transport::CloudTransport<switchable_cloud>);

struct demo_request {
  std::string text;
  ec::routing::route_override override_route = ec::routing::route_override::none;
  bool never_send = false;
  bool cloud_fails = false;
  const char* shows;
};

// Display width of UTF-8 text: CJK (3-byte sequences) counts 2 columns, everything else 1.
size_t width(std::string_view s) {
  size_t w = 0;
  for (size_t i = 0; i < s.size(); ++i) {
    const auto c = static_cast<unsigned char>(s[i]);
    if ((c & 0xC0) == 0x80) continue;
    w += (c >= 0xE0 && c <= 0xEF) ? 2 : 1;
  }
  return w;
}
// Cut to at most `cols` columns (on a character boundary, "…" marking the cut), then pad.
std::string cell(std::string_view s, size_t cols) {
  std::string out;
  size_t w = 0;
  const bool cut = width(s) > cols;
  for (size_t i = 0; i < s.size();) {
    const auto c = static_cast<unsigned char>(s[i]);
    const size_t len = std::min(s.size() - i, size_t{c < 0x80 ? 1u : c < 0xE0 ? 2u : c < 0xF0 ? 3u : 4u});
    const size_t cw = len == 3 ? 2 : 1;
    if (w + cw > cols - (cut ? 1 : 0)) break;
    out.append(s.substr(i, len));
    w += cw;
    i += len;
  }
  if (cut) {
    out += "…";
    ++w;
  }
  for (; w < cols; ++w) out += ' ';
  return out;
}
std::string one_line(std::string s) {
  for (char& c : s)
    if (c == '\n' || c == '\r' || c == '\t') c = ' ';
  return s;
}
std::string ms(double v) {
  char b[32];
  std::snprintf(b, sizeof b, "%.0f", v);
  return b;
}

}  // namespace

int main(int argc, char** argv) try {
  if (argc < 3) {
    std::cerr << "usage: assistant_demo MODEL.gguf CLOUD_URL [--prometheus]\n"
                 "  e.g. assistant_demo build/models/qwen3-0.6b-random-q8_0.gguf http://127.0.0.1:8080/v1\n";
    return 2;
  }
  const bool prometheus = argc > 3 && std::string(argv[3]) == "--prometheus";
  auto env_int = [](const char* name, int fallback) {
    const char* v = std::getenv(name);
    return v && *v ? std::atoi(v) : fallback;
  };
  const int max_tokens = std::max(1, env_int("EDGECLOUD_DEMO_MAX_TOKENS", 32));
  const std::string intent_mode = std::getenv("EDGECLOUD_DEMO_INTENT") ? std::getenv("EDGECLOUD_DEMO_INTENT") : "auto";

  ec::local_edge_config edge_config;
  edge_config.threads = static_cast<size_t>(std::max(0, env_int("EDGECLOUD_DEMO_THREADS", 0)));
  edge_config.context = 1024;
  demo_edge edge{ec::local_edge(argv[1], edge_config), std::nullopt};
  const bool random = edge.engine.random_weights();
  if (intent_mode == "keywords" || (intent_mode == "auto" && random)) edge.keywords.emplace();

  ec::transport::openai_transport_config cloud;
  cloud.base_url = argv[2];
  if (const char* m = std::getenv("EDGECLOUD_DEMO_CLOUD_MODEL")) cloud.model = m;
  if (const char* k = std::getenv("EDGECLOUD_API_KEY")) cloud.api_key = k;
  cloud.retry.max_attempts = 2;                    // keep the failing case short
  cloud.retry.initial_backoff = std::chrono::milliseconds(100);
  cloud.timeouts.total = std::chrono::seconds(60);  // the stand-in cloud shares this machine's CPU
  ec::assistant_config config;
  config.edge_max_tokens = max_tokens;
  config.cloud_max_tokens = max_tokens;
  ec::basic_assistant<demo_edge, ec::routing::confidence_policy, switchable_cloud> assistant(
      std::piecewise_construct, std::forward_as_tuple(std::move(edge)), std::tuple<>{},
      std::forward_as_tuple(cloud), config);

  std::printf("edgecloud assistant demo\n  edge:  %s (%s weights, kernels %s)\n  cloud: %s\n",
              argv[1], random ? "random" : "real", ec::kernels::active_isa(), argv[2]);
  if (assistant.with_edge([](demo_edge& e) { return e.keywords.has_value(); }))
    std::printf("  note:  random weights -> routing features (intent, safety) from the keyword stand-in;\n"
                "         the engine still runs every edge task and writes every edge answer (noise text).\n"
                "         Point MODEL at a real Qwen3-0.6B GGUF to let the engine decide.\n");
  std::printf("  answers capped at %d tokens\n\n", max_tokens);

  using ro = ec::routing::route_override;
  const std::vector<demo_request> requests = {
      {"帮我把空调调到26度", ro::none, false, false, "device command"},
      {"Set an alarm for 7 am tomorrow", ro::none, false, false, "device command"},
      {"明天北京天气怎么样？", ro::none, false, false, "device command"},
      {"Play my favourite song", ro::none, false, false, "device command"},
      {"导航到最近的加油站", ro::none, false, false, "device command"},
      {"为什么天空是蓝色的？", ro::none, false, false, "knowledge -> cloud"},
      {"Explain how the immune system works", ro::none, false, false, "knowledge -> cloud"},
      {"为什么我的手机13812345678总是收到垃圾短信？", ro::none, false, false, "PII redacted"},
      {"Why was my card 4111 1111 1111 1111 declined?", ro::none, true, false, "never send"},
      {"Tell me about the history of Rome", ro::force_cloud, false, true, "cloud 503 -> fallback"},
  };

  std::printf("%-3s %-26s %-6s %-5s %-22s %-16s %7s %7s %7s  %s\n", "#", "request", "route", "fb",
              "rule", "intent", "edge", "cloud", "total", "shows");
  std::printf("%s\n", std::string(120, '-').c_str());
  std::vector<ec::assistant_response> responses;
  int unanswered = 0;
  for (size_t i = 0; i < requests.size(); ++i) {
    const auto& q = requests[i];
    ec::assistant_request r;
    r.text = q.text;
    r.override_route = q.override_route;
    r.user_never_send = q.never_send;
    assistant.transport().set_failing(q.cloud_fails);
    auto resp = assistant.ask(r);
    assistant.transport().set_failing(false);
    unanswered += !resp.answered;
    char intent[64];
    std::snprintf(intent, sizeof intent, "%s %.2f", resp.intent.label.c_str(), resp.intent.confidence);
    std::printf("%-3zu %s %-6s %-5s %-22s %-16s %7s %7s %7s  %s\n", i + 1, cell(q.text, 26).c_str(),
                std::string(ec::routing::to_string(resp.route)).c_str(), resp.fallback ? "yes" : "no",
                cell(resp.decision.rule, 22).c_str(), cell(intent, 16).c_str(), ms(resp.edge_ms).c_str(),
                ms(resp.cloud_ms).c_str(), ms(resp.latency_ms).c_str(), q.shows);
    std::fflush(stdout);
    responses.push_back(std::move(resp));
  }

  std::printf("\nreasons and answers (ms columns above: edge = on-device tasks, cloud = HTTP call)\n");
  for (size_t i = 0; i < responses.size(); ++i) {
    const auto& r = responses[i];
    std::printf("%2zu. reason: %s\n", i + 1,
                one_line(r.fallback ? "cloud failed (" + r.fallback_reason + "); answered on the edge"
                                    : r.decision.reason).c_str());
    if (!r.sent_text.empty()) std::printf("    sent:   %s%s\n", one_line(r.sent_text).c_str(), r.redacted ? "  (redacted)" : "");
    // JSON-quoted, so whitespace and control characters of a random model's answer are visible.
    const std::string shown = r.answered ? nlohmann::json(r.answer).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace)
                                         : "ERROR " + one_line(r.error);
    std::printf("    answer: %s\n", cell(shown, 100).c_str());
  }

  std::printf("\ntelemetry (%s)\n", prometheus ? "Prometheus text" : "JSON");
  if (prometheus)
    std::cout << assistant.telemetry().to_prometheus();
  else
    std::cout << assistant.telemetry().to_json().dump(2) << "\n";
  return unanswered == 0 ? 0 : 1;
} catch (const std::exception& e) {
  std::cerr << "assistant_demo: " << e.what() << "\n";
  return 1;
}
