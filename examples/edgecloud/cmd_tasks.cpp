// SPDX-License-Identifier: Apache-2.0
// Edge-task subcommands of the `edgecloud` CLI: classify, rewrite, summarize, select-tool,
// check-safety (tasks/engine.hpp).
//
//   edgecloud classify     --model M --labels a,b,c [--json] "query"
//       {"intent":"a","confidence":0.91,"latency_ms":12.3,"out_of_set":0.05,
//        "probabilities":{"a":0.91,...}}
//   edgecloud rewrite      --model M [--history h.json] [--max-tokens 48] "query"
//       {"text":"...","tokens":9,"budget_reached":false,"latency_ms":...}
//   edgecloud summarize    --model M [--max-tokens 64] "text"
//   edgecloud select-tool  --model M --tools tools.json "request"
//       {"tool":"set_alarm","arguments":{...},"latency_ms":...}   or {"tool":null,...}
//   edgecloud check-safety --model M [--categories a,b] "text"
//       {"safe":false,"reason":"violence","pii":[...],"latency_ms":...}
//
// Common options: --threads N, --context N, --lang en|zh, --prompt-file P (a JSON
// prompt_template {"system":..., "user":"...{text}...", "examples":[{"role","content"}]}),
// --tokenizer tokenizer.json (when the GGUF has no tokenizer), --stats (add token/pass counts),
// --lora FILE[:SCALE] (repeatable: LoRA adapters every task runs under).
// Output: one JSON object with --json, a short human line otherwise. --jsonl reads one
// {"text": ...} object a line from stdin ("history" too for rewrite) and writes one JSON object
// a line; a line that fails gives {"error": "..."} and processing goes on.
// classify --bench N runs N requests of ~20 tokens against the cached prefix of ~10 labels
// (after 3 warm-up runs) and prints latency percentiles.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <edgecloud/generate/tokenizer_loader.hpp>
#include <edgecloud/model/qwen3.hpp>
#include <edgecloud/tasks/engine.hpp>
#include <edgecloud/text/vocab.hpp>
#include <fstream>
#include <iostream>
#include <memory>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "args.hpp"
#include "commands.hpp"
#include "lora_options.hpp"

namespace {

using edgecloud::cli::args;
using json = nlohmann::ordered_json;
namespace tasks = edgecloud::tasks;

const std::set<std::string> common_values = {"model", "tokenizer",   "threads", "context",
                                             "lang",  "prompt-file", "kv-type"};
const std::set<std::string> common_flags = {"json", "jsonl", "stats", edgecloud::cli::no_mmap_flag};

std::set<std::string> values(std::set<std::string> extra) {
  extra.insert(common_values.begin(), common_values.end());
  return extra;
}
std::set<std::string> flags(std::set<std::string> extra = {}) {
  extra.insert(common_flags.begin(), common_flags.end());
  return extra;
}

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw edgecloud::config_error("cannot read " + path);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

json parse_json(const std::string& text, const std::string& what) {
  try {
    return json::parse(text);
  } catch (const nlohmann::json::exception& e) {
    throw edgecloud::config_error(what + " is not valid JSON: " + e.what());
  }
}

std::vector<std::string> split_list(const std::string& s) {
  std::vector<std::string> out;
  std::string cur;
  for (char c : s) {
    if (c == ',') {
      if (!cur.empty()) out.push_back(cur);
      cur.clear();
    } else {
      cur += c;
    }
  }
  if (!cur.empty()) out.push_back(cur);
  return out;
}

// Model, tokenizer and engine for one CLI invocation.
struct loaded {
  edgecloud::model::qwen3 model;
  edgecloud::text::tokenizer tok;
  std::unique_ptr<tasks::engine> engine;
};

std::unique_ptr<loaded> load(const args& a) {
  auto model = edgecloud::model::qwen3::load(a.required("model"), edgecloud::cli::file_access_from(a));
  const auto vocab = a.has("tokenizer") ? edgecloud::text::read_hf_tokenizer(*a.get("tokenizer"))
                                        : edgecloud::generate::read_gguf_vocab(model.file());
  edgecloud::text::tokenizer tok(vocab);
  auto l = std::unique_ptr<loaded>(new loaded{std::move(model), std::move(tok), nullptr});
  tasks::engine_config c;
  c.runner.session.threads = static_cast<size_t>(std::max(0LL, a.integer("threads", 0)));
  c.runner.session.context = static_cast<size_t>(std::max(0LL, a.integer("context", 4096)));
  const std::string kv = a.value_or("kv-type", "f16");
  if (kv == "f32")
    c.runner.session.kv_type = edgecloud::kernels::dtype::f32;
  else if (kv != "f16")
    throw edgecloud::config_error("--kv-type must be f16 or f32");
  l->engine = std::make_unique<tasks::engine>(l->model, l->tok, c);
  l->engine->set_adapters(edgecloud::cli::lora_set_from(a, l->model));
  return l;
}

tasks::language lang_of(const args& a) {
  const std::string l = a.value_or("lang", "en");
  if (l == "en") return tasks::language::en;
  if (l == "zh") return tasks::language::zh;
  throw edgecloud::config_error("--lang must be en or zh, not " + l);
}

std::optional<tasks::prompt_template> prompt_of(const args& a) {
  if (!a.has("prompt-file")) return std::nullopt;
  const json j = parse_json(read_file(*a.get("prompt-file")), "--prompt-file");
  tasks::prompt_template p;
  p.system = j.value("system", "");
  p.user = j.value("user", "{text}");
  for (const auto& m : j.value("examples", json::array()))
    p.examples.push_back({m.at("role").get<std::string>(), m.at("content").get<std::string>()});
  return p;
}

std::vector<tasks::chat_message> history_of(const json& h) {
  std::vector<tasks::chat_message> out;
  if (!h.is_array()) throw edgecloud::config_error("history must be a JSON array of messages");
  for (const auto& m : h)
    out.push_back({m.at("role").get<std::string>(), m.at("content").get<std::string>()});
  return out;
}

// Runs `one(text, line)` on the positional text or on every --jsonl line; prints the JSON (with
// latency_ms and, with --stats, the counters) or `human(result_json)`.
template <class One, class Human>
int serve(const args& a, One&& one, Human&& human) {
  auto emit = [&](json out, const tasks::request_stats& s) {
    out["latency_ms"] = s.ms;
    if (a.flag("stats")) out["stats"] = tasks::to_json(s);
    return out;
  };
  if (a.flag("jsonl")) {
    std::string line;
    while (std::getline(std::cin, line)) {
      if (line.empty()) continue;
      json out;
      try {
        const json in = parse_json(line, "input line");
        if (!in.is_object() || !in.contains("text") || !in["text"].is_string())
          throw edgecloud::config_error("each line must be an object with a \"text\" string");
        auto [j, s] = one(in["text"].get<std::string>(), in);
        out = emit(std::move(j), s);
      } catch (const std::exception& e) {
        out = json{{"error", e.what()}};
      }
      const std::string text = out.dump(-1, ' ', false, json::error_handler_t::replace);
      std::printf("%s\n", text.c_str());
      std::fflush(stdout);
    }
    return 0;
  }
  if (a.positionals().size() != 1)
    throw edgecloud::config_error("give the text as one argument (quote it), or use --jsonl");
  auto [j, s] = one(a.positionals()[0], json::object());
  const json out = emit(std::move(j), s);
  if (a.flag("json"))
    std::printf("%s\n", out.dump(-1, ' ', false, json::error_handler_t::replace).c_str());
  else
    std::printf("%s\n", human(out).c_str());
  return 0;
}

std::string fmt_ms(const json& out) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.1f ms", out.value("latency_ms", 0.0));
  return buf;
}

int bench_classify(tasks::engine& e, const tasks::intent_config& c, long long n) {
  static const std::vector<std::string> queries = {
      "what's the weather going to be like in Beijing tomorrow morning, will it rain?",
      "明天早上北京的天气怎么样，会不会下雨，需要带伞吗？",
      "play the latest album by Jay Chou on the living room speaker please",
      "帮我导航到最近的加油站，避开高速公路和收费站，谢谢",
      "set an alarm for six thirty tomorrow and call it morning run",
      "把客厅的灯调暗一点，然后把空调设成二十六度",
      "call my mother on her mobile phone and put it on speaker",
      "what are the top news headlines about technology today?",
      "remind me in twenty minutes to take the pizza out of the oven",
      "我想买一双跑步鞋，有什么推荐的品牌和价格吗？"};
  std::vector<double> ms, cpu;
  double cold_cpu = 0, cold_ms = 0;  // the first request: task prefix not cached yet
  size_t query_tokens = 0;
  auto cpu_ms = [] {
    timespec t{};
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
    return static_cast<double>(t.tv_sec) * 1e3 + static_cast<double>(t.tv_nsec) * 1e-6;
  };
  for (long long i = 0; i < n + 3; ++i) {
    const auto& q = queries[static_cast<size_t>(i) % queries.size()];
    const double c0 = cpu_ms();
    const auto r = e.classify(q, c);
    if (i == 0) {
      cold_cpu = cpu_ms() - c0;
      cold_ms = r.stats.ms;
    }
    if (i >= 3) {
      ms.push_back(r.stats.ms);
      cpu.push_back(cpu_ms() - c0);
      query_tokens += r.stats.computed_tokens;
    }
  }
  std::sort(cpu.begin(), cpu.end());
  const double cpu_p50 = cpu[cpu.size() / 2];
  std::sort(ms.begin(), ms.end());
  auto pct = [&](double p) {
    const size_t k = std::min(ms.size() - 1, static_cast<size_t>(p * (ms.size() - 1) + 0.5));
    return ms[k];
  };
  double mean = 0;
  for (double x : ms) mean += x;
  mean /= static_cast<double>(ms.size());
  std::printf(
      "classify: %zu labels, %lld requests, %.1f computed tokens/request (query + "
      "passes), head %s\n",
      c.labels.size(), n, static_cast<double>(query_tokens) / static_cast<double>(n),
      c.head == tasks::label_head::full ? "full" : "restricted");
  std::printf(
      "| p50 ms | p95 ms | mean ms | min ms | max ms | CPU ms/request (p50) | cold: ms, "
      "CPU ms |\n|---|---|---|---|---|---|---|\n");
  std::printf("| %.1f | %.1f | %.1f | %.1f | %.1f | %.1f | %.1f, %.1f |\n", pct(0.5), pct(0.95),
              mean, ms.front(), ms.back(), cpu_p50, cold_ms, cold_cpu);
  std::printf("%s\n", json{{"test", "classify"},
                           {"labels", c.labels.size()},
                           {"requests", n},
                           {"p50_ms", pct(0.5)},
                           {"p95_ms", pct(0.95)},
                           {"mean_ms", mean},
                           {"cpu_ms_p50", cpu_p50},
                           {"cold_ms", cold_ms},
                           {"cold_cpu_ms", cold_cpu},
                           {"threads", e.runner().session().threads()}}
                          .dump()
                          .c_str());
  return 0;
}

int run_classify(const std::vector<std::string>& argv) {
  args a(argv, values({"labels", "temperature", "head", "bench"}), flags({"no-stop-token"}),
         {edgecloud::cli::lora_option});
  tasks::intent_config c;
  c.labels = split_list(a.required("labels"));
  c.lang = lang_of(a);
  c.prompt = prompt_of(a);
  c.temperature = a.number("temperature", 1.0);
  const std::string head = a.value_or("head", "restricted");
  if (head == "full")
    c.head = tasks::label_head::full;
  else if (head != "restricted")
    throw edgecloud::config_error("--head must be full or restricted");
  c.end_with_stop_token = !a.flag("no-stop-token");
  auto l = load(a);
  if (a.has("bench")) return bench_classify(*l->engine, c, std::max(1LL, a.integer("bench", 50)));
  return serve(
      a,
      [&](const std::string& text, const json& in) {
        tasks::intent_config cc = c;
        if (in.contains("labels")) cc.labels = in["labels"].get<std::vector<std::string>>();
        const auto r = l->engine->classify(text, cc);
        return std::pair{tasks::to_json(r), r.stats};
      },
      [](const json& out) {
        char buf[128];
        std::snprintf(buf, sizeof buf, "%.3f (out of set %.3f), ", out["confidence"].get<double>(),
                      out["out_of_set"].get<double>());
        return out["intent"].get<std::string>() + " " + buf + fmt_ms(out);
      });
}

int run_rewrite(const std::vector<std::string>& argv) {
  args a(argv, values({"history", "max-tokens"}), flags(), {edgecloud::cli::lora_option});
  tasks::rewrite_config c;
  c.lang = lang_of(a);
  c.prompt = prompt_of(a);
  c.max_tokens = static_cast<size_t>(std::max(1LL, a.integer("max-tokens", 48)));
  std::vector<tasks::chat_message> history;
  if (a.has("history")) history = history_of(parse_json(read_file(*a.get("history")), "--history"));
  auto l = load(a);
  return serve(
      a,
      [&](const std::string& text, const json& in) {
        const auto h = in.contains("history") ? history_of(in["history"]) : history;
        const auto r = l->engine->rewrite(text, h, c);
        return std::pair{tasks::to_json(r), r.stats};
      },
      [](const json& out) { return out["text"].get<std::string>() + "  (" + fmt_ms(out) + ")"; });
}

int run_summarize(const std::vector<std::string>& argv) {
  args a(argv, values({"max-tokens"}), flags(), {edgecloud::cli::lora_option});
  tasks::summary_config c;
  c.lang = lang_of(a);
  c.prompt = prompt_of(a);
  c.max_tokens = static_cast<size_t>(std::max(1LL, a.integer("max-tokens", 64)));
  auto l = load(a);
  return serve(
      a,
      [&](const std::string& text, const json&) {
        const auto r = l->engine->summarize(text, c);
        return std::pair{tasks::to_json(r), r.stats};
      },
      [](const json& out) { return out["text"].get<std::string>() + "  (" + fmt_ms(out) + ")"; });
}

int run_select_tool(const std::vector<std::string>& argv) {
  args a(argv, values({"tools", "max-tokens"}), flags(), {edgecloud::cli::lora_option});
  tasks::tool_config c;
  c.tools = parse_json(read_file(a.required("tools")), "--tools");
  c.lang = lang_of(a);
  c.prompt = prompt_of(a);
  c.max_tokens = static_cast<size_t>(std::max(1LL, a.integer("max-tokens", 256)));
  auto l = load(a);
  return serve(
      a,
      [&](const std::string& text, const json&) {
        const auto r = l->engine->select_tool(text, c);
        return std::pair{tasks::to_json(r), r.stats};
      },
      [](const json& out) {
        return (out["tool"].is_null()
                    ? std::string("none")
                    : out["tool"].get<std::string>() + " " + out["arguments"].dump()) +
               "  (" + fmt_ms(out) + ")";
      });
}

int run_check_safety(const std::vector<std::string>& argv) {
  args a(argv, values({"categories", "max-tokens"}), flags({"no-pii"}),
         {edgecloud::cli::lora_option});
  tasks::safety_config c;
  if (a.has("categories")) c.categories = split_list(*a.get("categories"));
  c.lang = lang_of(a);
  c.prompt = prompt_of(a);
  c.max_tokens = static_cast<size_t>(std::max(1LL, a.integer("max-tokens", 32)));
  c.detect_pii = !a.flag("no-pii");
  auto l = load(a);
  return serve(
      a,
      [&](const std::string& text, const json&) {
        const auto r = l->engine->check_safety(text, c);
        return std::pair{tasks::to_json(r), r.stats};
      },
      [](const json& out) {
        return std::string(out["safe"].get<bool>() ? "safe" : "unsafe: ") +
               (out["safe"].get<bool>() ? "" : out["reason"].get<std::string>()) + ", " +
               std::to_string(out["pii"].size()) + " PII finding(s)  (" + fmt_ms(out) + ")";
      });
}

const edgecloud::cli::command_registrar register_classify(
    "classify", "intent of a query over --labels a,b,c with calibrated confidence", run_classify);
const edgecloud::cli::command_registrar register_rewrite(
    "rewrite", "rewrite a query into a self-contained one (--history h.json)", run_rewrite);
const edgecloud::cli::command_registrar register_summarize(
    "summarize", "short summary within --max-tokens (64 or 128)", run_summarize);
const edgecloud::cli::command_registrar register_select_tool(
    "select-tool", "a schema-valid tool call from --tools tools.json, or none", run_select_tool);
const edgecloud::cli::command_registrar register_check_safety(
    "check-safety", "{\"safe\", \"reason\"} safety verdict plus PII findings", run_check_safety);

}  // namespace
