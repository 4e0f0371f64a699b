// SPDX-License-Identifier: Apache-2.0
// `edgecloud serve` — an OpenAI-compatible server on loopback (the local stand-in cloud).
// Today it serves the deterministic echo backend (`--echo`, also the default without --model);
// the SDK's own engine plugs in at make_backend() below (`--model M`).
//
//   edgecloud serve --port 8080 [--host 127.0.0.1] [--echo] [--model-name NAME] [--api-key KEY]
//                   [--faults "status=503;rate=0.1"] [--tls-cert C --tls-key K] [--workers N]
#include <edgecloud/error.hpp>
#include <edgecloud/transport.hpp>

#include <csignal>
#include <cstdio>
#include <pthread.h>
#include <thread>

#include "args.hpp"
#include "commands.hpp"

namespace {

namespace et = edgecloud::transport;

// The generation callback behind the server. The engine-backed generator goes here.
et::generate_function make_backend(const edgecloud::cli::args& a) {
  if (a.has("model") && !a.flag("echo"))
    throw edgecloud::config_error(
        "serve --model: the on-device engine is not wired into serve yet; use --echo for the "
        "deterministic stand-in backend");
  return et::echo_backend{};
}

int run_serve(const std::vector<std::string>& argv) {
  const edgecloud::cli::args a(argv,
                               {"host", "port", "model", "model-name", "api-key", "faults",
                                "tls-cert", "tls-key", "workers"},
                               {"echo", "no-fault-header"});
  et::openai_server_config cfg;
  cfg.host = a.value_or("host", "127.0.0.1");
  const long long port = a.integer("port", 8080);
  if (port < 0 || port > 65535) throw edgecloud::config_error("--port must be in 0..65535");
  cfg.port = static_cast<int>(port);
  cfg.models = {a.value_or("model-name", a.has("model") ? "edgecloud-local" : "edgecloud-echo")};
  cfg.api_key = a.value_or("api-key", "");
  if (a.has("faults")) cfg.faults = et::parse_fault_spec(a.required("faults"));
  cfg.allow_fault_header = !a.flag("no-fault-header");
  cfg.tls_cert_file = a.value_or("tls-cert", "");
  cfg.tls_key_file = a.value_or("tls-key", "");
  const long long workers = a.integer("workers", 16);
  if (workers < 1 || workers > 1024) throw edgecloud::config_error("--workers must be in 1..1024");
  cfg.worker_threads = static_cast<std::size_t>(workers);

  // SIGINT/SIGTERM are taken by a waiting thread (not an async handler), which stops the
  // server cleanly. Block them before any thread starts so every thread inherits the mask.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  et::openai_server server(cfg, make_backend(a));
  server.start();
  std::printf("edgecloud serve: %s (model %s)\n", server.base_url().c_str(), cfg.models.front().c_str());
  std::fflush(stdout);
  std::thread waiter([&] {
    int sig = 0;
    sigwait(&signals, &sig);
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
    "serve", "OpenAI-compatible server on loopback (stand-in cloud; --echo backend)", run_serve);

}  // namespace
