// SPDX-License-Identifier: Apache-2.0
// `edgecloud serve` — an OpenAI-compatible server on loopback (the local stand-in cloud).
// With --model it serves the SDK's own engine (assistant/engine_backend.hpp: Qwen3 chat
// template, greedy decoding, streamed deltas); without it, or with --backend echo (--echo), the
// deterministic echo backend that needs no model.
//
//   edgecloud serve --model M --port 8080 [--host 127.0.0.1] [--backend engine|echo] [--echo]
//                   [--threads N] [--context N] [--max-tokens N] [--tokenizer tokenizer.json]
//                   [--model-name NAME] [--api-key KEY] [--faults "status=503;rate=0.1"]
//                   [--no-fault-header] [--tls-cert C --tls-key K] [--workers N]
//                   [--lora FILE[:SCALE]]...   (engine: LoRA adapters, ids 0.. in this order;
//                   per-request "lora": [{"id":0,"scale":1.0}], GET/POST /lora-adapters)
//                   [--no-mmap]
//
// SIGHUP (engine backend): hot update. The model and every adapter are loaded again from their
// paths (deliver new files by renaming them over the old names first), verified, and swapped in
// between requests (engine_backend::replace_model); a request in flight ends on the old ones. A
// file that fails to load changes nothing: the old model and adapters keep serving. Each reload
// is reported on stderr. SIGINT/SIGTERM stop the server.
#include <edgecloud/assistant/engine_backend.hpp>
#include <edgecloud/error.hpp>
#include <edgecloud/transport.hpp>

#include <algorithm>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <optional>
#include <pthread.h>
#include <thread>

#include "args.hpp"
#include "commands.hpp"
#include "lora_options.hpp"

namespace {

namespace et = edgecloud::transport;

bool wants_engine(const edgecloud::cli::args& a) {
  const std::string backend = a.value_or("backend", a.has("model") && !a.flag("echo") ? "engine" : "echo");
  if (backend != "engine" && backend != "echo")
    throw edgecloud::config_error("--backend must be engine or echo, not " + backend);
  if (backend == "engine" && a.flag("echo")) throw edgecloud::config_error("--echo and --backend engine exclude each other");
  if (backend == "engine" && !a.has("model"))
    throw edgecloud::config_error("--backend engine needs --model M.gguf (or use --backend echo)");
  return backend == "engine";
}

// The generation callback behind the server: the SDK's engine, or the echo stand-in; `lora`
// receives the engine's adapters, `engine` a handle on the engine (copies share it) for SIGHUP.
et::generate_function make_backend(const edgecloud::cli::args& a,
                                   std::vector<et::lora_adapter_info>& lora,
                                   std::optional<edgecloud::engine_backend>& engine) {
  if (!wants_engine(a)) {
    if (!a.all(edgecloud::cli::lora_option).empty())
      throw edgecloud::config_error("--lora needs the engine backend (--model M)");
    return et::echo_backend{};
  }
  edgecloud::engine_backend_config c;
  const long long threads = a.integer("threads", 0), context = a.integer("context", 2048),
                  max_tokens = a.integer("max-tokens", 256);
  if (threads < 0 || threads > 1024) throw edgecloud::config_error("--threads must be 0 (all) to 1024");
  if (context < 16 || context > 1 << 20) throw edgecloud::config_error("--context must be in 16..1048576");
  if (max_tokens < 0) throw edgecloud::config_error("--max-tokens must be >= 0");
  c.threads = static_cast<std::size_t>(threads);
  c.context = static_cast<std::size_t>(context);
  c.default_max_tokens = static_cast<int>(std::min<long long>(max_tokens, 1 << 20));
  c.tokenizer_json = a.value_or("tokenizer", "");
  c.lora = edgecloud::cli::lora_files(a);
  c.access = edgecloud::cli::file_access_from(a);
  auto backend = edgecloud::engine_backend::load(a.required("model"), c);
  lora = backend.lora_adapters();
  engine = backend;
  return backend;
}

// SIGHUP: the model and the adapters again from their paths; on failure the old ones stay.
void reload(edgecloud::engine_backend& engine, const std::string& path) {
  const auto t0 = std::chrono::steady_clock::now();
  try {
    engine.replace_model(path);
    const double ms =
        std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
    std::fprintf(stderr, "edgecloud serve: SIGHUP: reloaded %s and %zu adapter(s) in %.0f ms\n",
                 path.c_str(), engine.lora_adapters().size(), ms);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "edgecloud serve: SIGHUP: reload failed, still serving the old model: %s\n",
                 e.what());
  }
  std::fflush(stderr);
}

int run_serve(const std::vector<std::string>& argv) {
  const edgecloud::cli::args a(argv,
                               {"host", "port", "model", "model-name", "api-key", "faults",
                                "tls-cert", "tls-key", "workers", "backend", "threads", "context",
                                "max-tokens", "tokenizer"},
                               {"echo", "no-fault-header", edgecloud::cli::no_mmap_flag},
                               {edgecloud::cli::lora_option});
  et::openai_server_config cfg;
  cfg.host = a.value_or("host", "127.0.0.1");
  const long long port = a.integer("port", 8080);
  if (port < 0 || port > 65535) throw edgecloud::config_error("--port must be in 0..65535");
  cfg.port = static_cast<int>(port);
  cfg.models = {a.value_or("model-name", wants_engine(a) ? "edgecloud-local" : "edgecloud-echo")};
  cfg.api_key = a.value_or("api-key", "");
  if (a.has("faults")) cfg.faults = et::parse_fault_spec(a.required("faults"));
  cfg.allow_fault_header = !a.flag("no-fault-header");
  cfg.tls_cert_file = a.value_or("tls-cert", "");
  cfg.tls_key_file = a.value_or("tls-key", "");
  const long long workers = a.integer("workers", 16);
  if (workers < 1 || workers > 1024) throw edgecloud::config_error("--workers must be in 1..1024");
  cfg.worker_threads = static_cast<std::size_t>(workers);

  // SIGINT/SIGTERM/SIGHUP are taken by a waiting thread (not an async handler), which stops
  // the server cleanly or reloads. Block them before any thread starts so every thread
  // inherits the mask.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGHUP);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  std::optional<edgecloud::engine_backend> engine;
  auto backend = make_backend(a, cfg.lora_adapters, engine);
  et::openai_server server(cfg, std::move(backend));
  server.start();
  std::printf("edgecloud serve: %s (model %s, %s backend)\n", server.base_url().c_str(),
              cfg.models.front().c_str(), wants_engine(a) ? "engine" : "echo");
  std::fflush(stdout);
  std::thread waiter([&] {
    for (;;) {
      int sig = 0;
      if (sigwait(&signals, &sig) != 0) continue;
      if (sig != SIGHUP) break;
      if (engine) reload(*engine, a.required("model"));
      else std::fprintf(stderr, "edgecloud serve: SIGHUP ignored: the echo backend has no files\n");
    }
    server.stop();
  });
  server.wait();  // returns once the waiter has stopped the server
  waiter.join();
  const auto st = server.stats();
  std::fprintf(stderr, "edgecloud serve: stopped after %llu chat completions (%llu completed)\n",
               static_cast<unsigned long long>(st.chat_completions),
               static_cast<unsigned long long>(st.completed));
  return 0;
}

const edgecloud::cli::command_registrar serve_command(
    "serve", "OpenAI-compatible server on loopback running the engine (--model M) or --backend echo", run_serve);

}  // namespace
