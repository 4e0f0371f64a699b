// SPDX-License-Identifier: Apache-2.0
// Engine subcommands of the `edgecloud` CLI: `logits`, `generate`, `bench`.
//
//   edgecloud logits   --model M --tokens "1 2 3" [--all] [--threads T] [--kv-type f32|f16]
//       {"n_vocab":V,"logits":[[...]]}          last position only unless --all
//   edgecloud generate --model M --tokens "1 2 3" --max-tokens N [--stop "a b"] [--threads T]
//       {"tokens":[...]}                         the generated ids only
//   edgecloud generate --model M --prompt TEXT [--chat] --max-tokens N
//       {"tokens":[...],"text":"..."}            TEXT encoded by the GGUF's tokenizer; --chat:
//                                                a Qwen3 user turn, thinking off, stop at <|im_end|>
//   edgecloud bench    --model M --prompt-tokens 16,64,128 --gen-tokens 64 --threads 2
//                      [--repetitions R] [--json]
//       a llama-bench-like table, or with --json one object a line:
//       {"test":"pp16","tokens_per_s":...} {"test":"tg64","tokens_per_s":...}
//       {"test":"load","ms":...} (open + map + first token) {"test":"peak_rss","mb":...}
//
// Every subcommand takes --lora FILE[:SCALE] (repeatable): LoRA adapters applied unmerged
// (model/lora.hpp). bench then measures pp/tg under all of them, and adds decode speed with the
// first 0..N of them active and the cost of switching sets:
//       {"test":"lora","adapters":K,"tokens_per_s":...,"spread":...,"bytes":B}
//       {"test":"lora_switch","us":...}   (set_adapters between requests, median)
#include <sys/resource.h>
#include <time.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <edgecloud/error.hpp>
#include <edgecloud/kernels.hpp>
#include <edgecloud/model/qwen3.hpp>
#include <edgecloud/model/session.hpp>
#include <edgecloud/generate/tokenizer_loader.hpp>
#include <edgecloud/text/chat_template.hpp>
#include <nlohmann/json.hpp>
#include <optional>
#include <random>
#include <set>
#include <span>
#include <string>
#include <vector>

#include "args.hpp"
#include "commands.hpp"
#include "lora_options.hpp"

namespace {

using edgecloud::cli::args;
using clock_type = std::chrono::steady_clock;

const std::set<std::string> common_options = {"model", "threads", "kv-type", "context"};

std::set<std::string> with_common(std::set<std::string> extra) {
  extra.insert(common_options.begin(), common_options.end());
  return extra;
}

edgecloud::model::session_config session_config_from(const args& a) {
  edgecloud::model::session_config c;
  c.threads = static_cast<size_t>(std::max(0LL, a.integer("threads", 0)));
  c.context = static_cast<size_t>(std::max(0LL, a.integer("context", 0)));
  const std::string kv = a.value_or("kv-type", "f16");
  if (kv == "f16")
    c.kv_type = edgecloud::kernels::dtype::f16;
  else if (kv == "f32")
    c.kv_type = edgecloud::kernels::dtype::f32;
  else
    throw edgecloud::config_error("--kv-type must be f16 or f32, not " + kv);
  return c;
}

// Prompt ids from --tokens, or from --prompt TEXT encoded by the model file's own tokenizer
// (GGUF tokenizer.ggml.*): as raw text, control tokens in it recognised (like llama.cpp -p), or
// with --chat as one user turn of the Qwen3 chat template with thinking off (the text stays
// plain text). `tok` receives the tokenizer when --prompt is used.
std::vector<int32_t> prompt_tokens(const args& a,
                                   std::optional<edgecloud::text::tokenizer>* tok = nullptr) {
  if (a.has("prompt")) {
    if (a.has("tokens")) throw edgecloud::config_error("give --tokens or --prompt, not both");
    auto t = edgecloud::generate::load_tokenizer(
        edgecloud::gguf::file::open(a.required("model")));
    std::vector<int32_t> ids;
    if (a.flag("chat")) {
      const std::vector<edgecloud::text::chat_message> msgs = {{"user", *a.get("prompt")}};
      ids = edgecloud::text::encode_chat(
          t, edgecloud::text::render_qwen3(msgs, nullptr, {.enable_thinking = false}));
    } else {
      ids = t.encode(*a.get("prompt"), edgecloud::text::encode_mode::trusted);
    }
    if (ids.empty()) throw edgecloud::config_error("--prompt is empty");
    if (tok) tok->emplace(std::move(t));
    return ids;
  }
  std::vector<int32_t> t;
  for (int id : edgecloud::cli::parse_token_list(a.required("tokens"))) t.push_back(id);
  if (t.empty()) throw edgecloud::config_error("--tokens is empty");
  return t;
}

void append_float(std::string& out, float v) {
  char buf[32];
  int n = std::snprintf(buf, sizeof buf, "%.9g", static_cast<double>(v));
  // JSON has no inf/nan: a non-finite logit is a bug, but must not produce invalid JSON.
  if (!std::isfinite(v)) n = std::snprintf(buf, sizeof buf, "null");
  out.append(buf, static_cast<size_t>(n));
}

int run_logits(const std::vector<std::string>& argv) {
  args a(argv, with_common({"tokens", "prompt"}), {"all", "chat", edgecloud::cli::no_mmap_flag}, {edgecloud::cli::lora_option});
  const std::vector<int32_t> tokens = prompt_tokens(a);
  const bool all = a.flag("all");
  auto model = edgecloud::model::qwen3::load(a.required("model"), edgecloud::cli::file_access_from(a));
  auto cfg = session_config_from(a);
  if (cfg.context == 0)
    cfg.context =
        std::max<size_t>(tokens.size(), std::min<size_t>(model.config().n_ctx_train, 4096));
  if (all) cfg.logits_rows = tokens.size();
  edgecloud::model::session s(model, cfg);
  s.set_adapters(edgecloud::cli::lora_set_from(a, model));
  s.prefill(tokens, all ? edgecloud::model::logits_mode::all : edgecloud::model::logits_mode::last);
  std::string out = "{\"n_vocab\":" + std::to_string(s.n_vocab()) + ",\"logits\":[";
  const size_t first = all ? 0 : tokens.size() - 1;
  for (size_t p = first; p < tokens.size(); ++p) {
    if (p != first) out += ',';
    out += '[';
    auto l = s.logits(p);
    for (size_t i = 0; i < l.size(); ++i) {
      if (i) out += ',';
      append_float(out, l[i]);
    }
    out += ']';
  }
  out += "]}\n";
  std::fwrite(out.data(), 1, out.size(), stdout);
  return 0;
}

int run_generate(const std::vector<std::string>& argv) {
  args a(argv, with_common({"tokens", "prompt", "max-tokens", "stop"}), {"stream", "chat", edgecloud::cli::no_mmap_flag},
         {edgecloud::cli::lora_option});
  std::optional<edgecloud::text::tokenizer> tok;
  const std::vector<int32_t> tokens = prompt_tokens(a, &tok);
  const long long max_tokens = a.integer("max-tokens", 16);
  if (max_tokens < 0) throw edgecloud::config_error("--max-tokens must be >= 0");
  std::vector<int32_t> stop;
  if (a.has("stop"))
    for (int id : edgecloud::cli::parse_token_list(*a.get("stop"))) stop.push_back(id);
  if (tok && a.flag("chat"))
    if (auto end = tok->find_token("<|im_end|>")) stop.push_back(*end);
  auto model = edgecloud::model::qwen3::load(a.required("model"), edgecloud::cli::file_access_from(a));
  auto cfg = session_config_from(a);
  if (cfg.context == 0) cfg.context = tokens.size() + static_cast<size_t>(max_tokens);
  edgecloud::model::session s(model, cfg);
  s.set_adapters(edgecloud::cli::lora_set_from(a, model));
  const bool stream = a.flag("stream");
  auto out = s.generate(tokens, static_cast<size_t>(max_tokens), stop, [&](int32_t t) {
    if (stream) std::fprintf(stderr, "%d\n", t);
  });
  std::string json = "{\"tokens\":[";
  for (size_t i = 0; i < out.size(); ++i) {
    if (i) json += ',';
    json += std::to_string(out[i]);
  }
  json += "]";
  if (tok) {  // --prompt: the generated text too, as a JSON string
    std::vector<int32_t> shown;
    for (int32_t t : out)
      if (static_cast<size_t>(t) < tok->size()) shown.push_back(t);
    json += ",\"text\":" + nlohmann::json(tok->decode(shown, true)).dump();
  }
  json += "}\n";
  std::fwrite(json.data(), 1, json.size(), stdout);
  return 0;
}

// CPU seconds of the whole process (all threads): on a shared machine, tokens per CPU-second
// shows the engine's cost even when wall-clock rates are dominated by other processes.
double process_cpu_seconds() {
  timespec ts{};
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
}

double peak_rss_mb() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return static_cast<double>(u.ru_maxrss) / 1024.0;  // Linux reports KiB
}

struct stats {
  double median = 0, spread = 0;  // spread = half the range of the repetitions
};
stats summarize(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  stats s;
  const size_t n = v.size();
  s.median = n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
  s.spread = (v.back() - v.front()) / 2;
  return s;
}

std::vector<size_t> parse_sizes(const std::string& text, const char* option) {
  std::vector<size_t> out;
  for (int v : edgecloud::cli::parse_token_list(text)) {
    if (v <= 0) throw edgecloud::config_error(std::string("--") + option + ": sizes must be > 0");
    out.push_back(static_cast<size_t>(v));
  }
  return out;
}

int run_bench(const std::vector<std::string>& argv) {
  args a(argv, with_common({"prompt-tokens", "gen-tokens", "repetitions", "batch"}), {"json", edgecloud::cli::no_mmap_flag},
         {edgecloud::cli::lora_option});
  const std::vector<size_t> pp =
      parse_sizes(a.value_or("prompt-tokens", "16,64,128"), "prompt-tokens");
  const std::vector<size_t> tg = parse_sizes(a.value_or("gen-tokens", "64"), "gen-tokens");
  const long long reps_arg = a.integer("repetitions", 5);
  if (reps_arg < 1) throw edgecloud::config_error("--repetitions must be >= 1");
  const size_t reps = static_cast<size_t>(reps_arg);
  const bool json = a.flag("json");
  const std::string path = a.required("model");

  // load: open + map + validate + session + first token (page faults of every weight).
  const auto t_load = clock_type::now();
  auto model = edgecloud::model::qwen3::load(path, edgecloud::cli::file_access_from(a));
  auto cfg = session_config_from(a);
  const size_t max_pp = pp.empty() ? 1 : *std::max_element(pp.begin(), pp.end());
  const size_t max_tg = tg.empty() ? 0 : *std::max_element(tg.begin(), tg.end());
  if (cfg.context == 0) cfg.context = std::max(max_pp, max_tg + 1);
  cfg.max_batch = static_cast<size_t>(
      std::max(1LL, a.integer("batch", static_cast<long long>(std::min<size_t>(max_pp, 512)))));
  const edgecloud::model::lora_set adapters = edgecloud::cli::lora_set_from(a, model);
  edgecloud::model::session s(model, cfg);
  s.set_adapters(adapters);
  const int32_t first_token = 0;
  s.decode_step(first_token);
  const double load_ms =
      std::chrono::duration<double, std::milli>(clock_type::now() - t_load).count();

  std::mt19937 rng(1234);
  std::uniform_int_distribution<int32_t> pick(0, static_cast<int32_t>(s.n_vocab() - 1));
  std::vector<int32_t> prompt(max_pp);
  for (auto& t : prompt) t = pick(rng);

  struct row {
    std::string test;
    stats tps;
    double tokens_per_cpu_s;
  };
  std::vector<row> rows;
  for (size_t n : pp) {
    std::vector<double> tps;
    double cpu = 0;
    for (size_t r = 0; r <= reps; ++r) {  // r == 0 warms up
      s.clear();
      const double c0 = process_cpu_seconds();
      const auto t0 = clock_type::now();
      s.prefill(std::span<const int32_t>(prompt.data(), n));
      const double sec = std::chrono::duration<double>(clock_type::now() - t0).count();
      if (r > 0) tps.push_back(static_cast<double>(n) / sec), cpu += process_cpu_seconds() - c0;
    }
    rows.push_back({"pp" + std::to_string(n), summarize(tps), static_cast<double>(n * reps) / cpu});
  }
  // Decode n tokens `reps` times (after one warm-up): tokens/s, and tokens per CPU-second.
  auto decode_rate = [&](size_t n, double& per_cpu_s) {
    std::vector<double> tps;
    double cpu = 0;
    for (size_t r = 0; r <= reps; ++r) {
      s.clear();
      int32_t token = prompt[0];
      const double c0 = process_cpu_seconds();
      const auto t0 = clock_type::now();
      for (size_t i = 0; i < n; ++i) token = s.argmax(s.decode_step(token));
      const double sec = std::chrono::duration<double>(clock_type::now() - t0).count();
      if (r > 0) tps.push_back(static_cast<double>(n) / sec), cpu += process_cpu_seconds() - c0;
    }
    per_cpu_s = static_cast<double>(n * reps) / cpu;
    return summarize(tps);
  };
  for (size_t n : tg) {
    double per_cpu = 0;
    const stats st = decode_rate(n, per_cpu);
    rows.push_back({"tg" + std::to_string(n), st, per_cpu});
  }
  // LoRA: decode with the first k adapters (k = 0..N, interleaved per repetition round so a
  // load change on the machine hits every k alike), then the switch cost.
  struct lora_row {
    size_t adapters;
    stats tps;
    size_t bytes;
  };
  std::vector<lora_row> lora_rows;
  double switch_us = 0;
  if (!adapters.empty() && !tg.empty()) {
    const size_t n = tg.front();
    std::vector<std::vector<double>> runs(adapters.size() + 1);
    for (size_t r = 0; r < reps; ++r)
      for (size_t k = 0; k <= adapters.size(); ++k) {
        s.set_adapters({adapters.begin(), adapters.begin() + static_cast<ptrdiff_t>(k)});
        int32_t token = prompt[0];
        for (size_t i = 0; i < 4; ++i) token = s.argmax(s.decode_step(token));  // warm pages
        s.clear();
        const auto t0 = clock_type::now();
        for (size_t i = 0; i < n; ++i) token = s.argmax(s.decode_step(token));
        runs[k].push_back(static_cast<double>(n) /
                          std::chrono::duration<double>(clock_type::now() - t0).count());
      }
    for (size_t k = 0; k <= adapters.size(); ++k) {
      size_t bytes = 0;
      for (size_t i = 0; i < k; ++i) bytes += adapters[i].adapter->bytes();
      lora_rows.push_back({k, summarize(runs[k]), bytes});
    }
    // Switch: all adapters <-> none, between requests (after one decode step each, so the
    // cache truncation is part of it). The median of 201 switches.
    std::vector<double> us;
    for (size_t i = 0; i < 201; ++i) {
      s.decode_step(prompt[0]);
      const auto t0 = clock_type::now();
      if (i % 2) s.set_adapters(adapters);
      else s.clear_adapters();
      us.push_back(std::chrono::duration<double, std::micro>(clock_type::now() - t0).count());
    }
    switch_us = summarize(us).median;
    s.set_adapters(adapters);
  }
  const double rss = peak_rss_mb();

  if (json) {
    for (const auto& r : rows)
      std::printf(
          "{\"test\":\"%s\",\"tokens_per_s\":%.2f,\"spread\":%.2f,"
          "\"tokens_per_cpu_s\":%.2f,\"threads\":%zu,\"isa\":\"%s\"}\n",
          r.test.c_str(), r.tps.median, r.tps.spread, r.tokens_per_cpu_s, s.threads(),
          edgecloud::kernels::active_isa());
    for (const auto& r : lora_rows)
      std::printf(
          "{\"test\":\"lora\",\"adapters\":%zu,\"tokens_per_s\":%.2f,\"spread\":%.2f,"
          "\"bytes\":%zu,\"threads\":%zu}\n",
          r.adapters, r.tps.median, r.tps.spread, r.bytes, s.threads());
    if (!lora_rows.empty()) std::printf("{\"test\":\"lora_switch\",\"us\":%.2f}\n", switch_us);
    std::printf("{\"test\":\"load\",\"ms\":%.1f}\n", load_ms);
    std::printf("{\"test\":\"peak_rss\",\"mb\":%.1f}\n", rss);
  } else {
    const auto& c = model.config();
    std::printf(
        "model: %s, %zu layers, hidden %zu, vocab %zu, %.1f MB of weights, isa %s, "
        "threads %zu, KV %s, batch %zu, %zu repetitions\n\n",
        path.c_str(), c.n_layers, c.n_embd, c.n_vocab,
        static_cast<double>(model.weight_bytes()) / 1e6, edgecloud::kernels::active_isa(),
        s.threads(), cfg.kv_type == edgecloud::kernels::dtype::f16 ? "f16" : "f32",
        s.config().max_batch, reps);
    std::printf("| %-8s | %22s | %14s |\n|----------|------------------------|----------------|\n",
                "test", "t/s (median ± spread)", "t/CPU-s");
    for (const auto& r : rows)
      std::printf("| %-8s | %12.2f ± %7.2f | %14.2f |\n", r.test.c_str(), r.tps.median,
                  r.tps.spread, r.tokens_per_cpu_s);
    std::printf(
        "\nload (map + first token): %.1f ms, peak RSS %.1f MB (file %.1f MB, KV %.1f MB "
        "reserved)\n",
        load_ms, rss, static_cast<double>(model.file().size_bytes()) / 1048576.0,
        static_cast<double>(s.cache().bytes()) / 1048576.0);
    if (!lora_rows.empty()) {
      std::printf("\n| LoRA adapters | tg%zu t/s (median ± spread) | adapter MB |\n"
                  "|---------------|---------------------------|------------|\n",
                  tg.front());
      for (const auto& r : lora_rows)
        std::printf("| %13zu | %15.2f ± %7.2f | %10.2f |\n", r.adapters, r.tps.median,
                    r.tps.spread, static_cast<double>(r.bytes) / 1048576.0);
      std::printf("switching sets (set_adapters between requests): %.1f us\n", switch_us);
    }
  }
  return 0;
}

const edgecloud::cli::command_registrar register_logits(
    "logits", "print the logits of a token sequence as JSON (--model M --tokens \"1 2 3\" [--all])",
    run_logits);
const edgecloud::cli::command_registrar register_generate(
    "generate", "greedy continuation of token ids (--model M --tokens \"1 2\" --max-tokens N)",
    run_generate);
const edgecloud::cli::command_registrar register_bench(
    "bench", "prompt/decode speed, load time and peak RSS (--model M --prompt-tokens 16,64)",
    run_bench);

}  // namespace
