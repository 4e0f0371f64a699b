// SPDX-License-Identifier: Apache-2.0
// `edgecloud route`, `edgecloud eval`, `edgecloud calibrate`: the routing layer from the shell.
//
//   edgecloud route --cloud-url URL [--cloud-model NAME] [--api-key KEY] [--config routing.json]
//                   [--force-cloud|--force-edge] [--offline] [--timeout-ms N] [--json|--jsonl] "query"
//   edgecloud route ... --stream [--json|--jsonl]   the answer's events as they happen: with
//       --json/--jsonl one JSON object a line, {"event":"delta","text":...,"source":"edge|cloud"},
//       {"event":"reset","reason":...} (withdraw the text shown so far: the cloud stream was
//       abandoned and the fallback answer follows), then the response with "event":"done";
//       without them, the text itself on stdout, a reset as a "[reset: reason]" line.
//   edgecloud eval --data labeled.jsonl [--config routing.json] [--bins 10] [--json] [--records]
//                  [--model M [--labels a,b,c] [--threads N]]   (the engine predicts the intents)
//                  [--cloud-quality Q]   (every record's cloud quality, e.g. 1: the cloud is right)
//   edgecloud calibrate --data labeled.jsonl (--target-cloud-rate R | --target-quality Q |
//                   --target-edge-accuracy A [--oos-share S]) [--config routing.json] [--out routing.json] [--json]
//
// --config is a deployment config (deploy_config.hpp): the routing policy plus an optional
// "task" section (the classification prompt a trained model expects), which eval --model and
// route --model apply to the engine's intent task and calibrate --out writes back unchanged.
// eval --records prints one line per request first, {"text", "label", "predicted",
// "confidence", "latency_ms", "out_of_set", "route"}, then the report; with --json the report is the last line.
//
// `route --model M` runs the assistant on the SDK's engine (local_edge: the edge tasks over the
// GGUF model); without --model (or with --stand-in-edge) on the deterministic keyword stand-in
// edge, announced on stderr. Extra options: --threads N --context N --edge-max-tokens N (64)
// --cloud-max-tokens N (256) --tokenizer tokenizer.json, --labels a,b,... (the intent labels,
// e.g. a trained model's from its manifest), --no-safety-check (skip the edge safety check).
// `route --model` and `eval --model` take --lora FILE[:SCALE] (repeatable): LoRA adapters the
// edge tasks run under.
#include <edgecloud/assistant.hpp>
#include <edgecloud/transport/failover_transport.hpp>
#include <edgecloud/assistant/local_edge.hpp>
#include <edgecloud/routing.hpp>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <string>

#include "args.hpp"
#include "commands.hpp"
#include "deploy_config.hpp"
#include "lora_options.hpp"

namespace {

using namespace edgecloud;

routing::policy_config read_policy_config(const cli::args& a) {
  return cli::read_deployment_config(a.get("config")).policy;
}

std::vector<std::string> split_labels(const std::string& s) {
  std::vector<std::string> labels;
  std::string cur;
  for (char c : s + ",") {
    if (c != ',') {
      cur += c;
      continue;
    }
    if (!cur.empty()) labels.push_back(cur);
    cur.clear();
  }
  return labels;
}

std::vector<routing::labeled_record> read_records(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw config_error("cannot open labeled data " + path);
  std::vector<routing::labeled_record> records;
  std::string line;
  for (size_t n = 1; std::getline(in, line); ++n) {
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
    auto j = nlohmann::json::parse(line, nullptr, false);
    if (j.is_discarded()) throw config_error(path + ":" + std::to_string(n) + ": not valid JSON");
    try {
      records.push_back(j.get<routing::labeled_record>());
    } catch (const config_error& e) {
      throw config_error(path + ":" + std::to_string(n) + ": " + e.what());
    }
  }
  if (records.empty()) throw config_error(path + " holds no records");
  return records;
}

std::string fixed(double v, int digits = 3) {
  if (std::isnan(v)) return "n/a";
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*f", digits, v);
  return buf;
}

// One route invocation on an assistant (the engine edge or the stand-in): --json/--jsonl/text.
template <class Assistant>
int route_with(Assistant& assistant, const cli::args& a) {
  if (a.flag("offline")) assistant.set_online(false);

  auto one = [&](assistant_request q) {
    q.override_route = a.flag("force-cloud") ? routing::route_override::force_cloud
                       : a.flag("force-edge") ? routing::route_override::force_edge
                                              : routing::route_override::none;
    q.user_id = a.value_or("user", "");
    q.user_never_send = a.flag("never-send");
    const bool as_json = a.flag("json") || a.flag("jsonl");
    if (a.flag("stream"))
      q.on_delta = [as_json](const answer_event& e) {
        const bool reset = e.type == answer_event::kind::reset;
        if (as_json) {
          nlohmann::json j = reset ? nlohmann::json{{"event", "reset"}, {"reason", std::string(e.reason)}}
                                   : nlohmann::json{{"event", "delta"},
                                                    {"text", std::string(e.text)},
                                                    {"source", std::string(routing::to_string(e.source))}};
          std::cout << j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) << "\n";
        } else if (reset) {
          std::cout << "\n[reset: " << e.reason << "]\n";
        } else {
          std::cout << e.text;
        }
        std::cout.flush();
        return true;
      };
    return assistant.ask(q);
  };
  auto print = [&](const assistant_response& r) {
    if (a.flag("json") || a.flag("jsonl")) {
      auto j = to_json_value(r);
      if (a.flag("stream")) j["event"] = "done";
      std::cout << j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) << "\n";
    } else {
      if (a.flag("stream")) std::cout << "\n";
      std::cout << "route:   " << routing::to_string(r.route) << (r.fallback ? " (fallback)" : "")
                << (r.degraded ? " (degraded)" : "") << "\nrule:    " << r.decision.rule
                << "\nreason:  " << (r.fallback ? r.fallback_reason : r.decision.reason)
                << "\nintent:  " << r.intent.label << " " << fixed(r.intent.confidence)
                << "\nlatency: " << fixed(r.latency_ms, 1) << " ms\n"
                << (r.answered ? "answer:  " + r.answer : "error:   " + r.error) << "\n";
    }
    std::cout.flush();
  };
  int failures = 0;
  if (a.flag("jsonl")) {
    std::string line;
    for (size_t n = 1; std::getline(std::cin, line); ++n) {
      if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
      auto j = nlohmann::json::parse(line, nullptr, false);
      if (j.is_discarded() || !j.is_object() || !j.contains("text") || !j["text"].is_string())
        throw config_error("stdin line " + std::to_string(n) + ": expected {\"text\": ...}");
      assistant_request q;
      q.text = j["text"].get<std::string>();
      if (j.contains("task")) q.task = routing::parse_task_type(j["task"].get<std::string>());
      auto r = one(q);
      failures += !r.answered;
      print(r);
    }
  } else {
    if (a.positionals().size() != 1) throw config_error("route takes exactly one query (or --jsonl on stdin)");
    assistant_request q;
    q.text = a.positionals()[0];
    auto r = one(q);
    failures += !r.answered;
    print(r);
  }
  if (a.flag("telemetry")) {
    std::cerr << assistant.telemetry().to_json().dump(2) << "\n";
    if constexpr (requires { assistant.transport().to_json(); })
      std::cerr << assistant.transport().to_json().dump(2) << "\n";  // per cloud endpoint
  }
  return failures ? 1 : 0;
}

// The assistant on the engine edge (--model) or the stand-in, over `Transport` built from `tc`.
template <class Transport, class TransportArg>
int route_on(const cli::args& a, TransportArg tc, const assistant_config& ac,
             const cli::deployment_config& deployment) {
  if (a.has("model") && !a.flag("stand-in-edge")) {
    // The real edge: the SDK's engine running the edge tasks (local_edge over tasks::engine_edge).
    local_edge_config ec;
    const long long threads = a.integer("threads", 0), context = a.integer("context", 2048);
    if (threads < 0 || threads > 1024) throw config_error("--threads must be 0 (all) to 1024");
    if (context < 64 || context > 1 << 20) throw config_error("--context must be in 64..1048576");
    ec.threads = static_cast<size_t>(threads);
    ec.context = static_cast<size_t>(context);
    ec.tokenizer_json = a.value_or("tokenizer", "");
    ec.lora = cli::lora_files(a);
    ec.access = cli::file_access_from(a);
    deployment.apply(ec.tasks.intent);
    basic_assistant<local_edge, routing::confidence_policy, Transport> assistant(local_edge(*a.get("model"), ec), tc, deployment.policy, ac);
    return route_with(assistant, a);
  }
  if (!a.all(cli::lora_option).empty())
    throw config_error("--lora needs --model (the stand-in edge runs no model)");
  // No --model (or --stand-in-edge): the deterministic keyword stand-in, said so on stderr.
  std::fprintf(stderr, "edgecloud route: edge = deterministic keyword stand-in (no --model given); "
                       "its answers are placeholders\n");
  basic_assistant<stand_in_edge, routing::confidence_policy, Transport> assistant(stand_in_edge{}, tc, deployment.policy, ac);
  return route_with(assistant, a);
}

int run_route(const std::vector<std::string>& argv) {
  cli::args a(argv, {"cloud-url", "cloud-model", "api-key", "config", "model", "timeout-ms", "user",
                     "threads", "context", "edge-max-tokens", "cloud-max-tokens", "tokenizer",
                     "labels"},
              {"force-cloud", "force-edge", "offline", "json", "jsonl", "never-send", "telemetry",
               "stand-in-edge", "stream", "no-safety-check", cli::no_mmap_flag},
              {cli::lora_option, "cloud-url"});
  if (a.flag("force-cloud") && a.flag("force-edge")) throw config_error("--force-cloud and --force-edge exclude each other");
  transport::openai_transport_config tc;
  tc.base_url = a.required("cloud-url");
  tc.model = a.value_or("cloud-model", "");
  tc.api_key = a.value_or("api-key", "");
  if (tc.api_key.empty())
    if (const char* k = std::getenv("EDGECLOUD_API_KEY")) tc.api_key = k;
  tc.timeouts.total = std::chrono::milliseconds(a.integer("timeout-ms", 30000));
  assistant_config ac;
  const long long edge_max = a.integer("edge-max-tokens", 64), cloud_max = a.integer("cloud-max-tokens", 256);
  if (edge_max < 1 || edge_max > 4096 || cloud_max < 1 || cloud_max > 1 << 20)
    throw config_error("--edge-max-tokens must be in 1..4096 and --cloud-max-tokens >= 1");
  ac.edge_max_tokens = static_cast<int>(edge_max);
  ac.cloud_max_tokens = static_cast<int>(cloud_max);
  ac.cloud_model = tc.model;
  // A model trained for classification only (scripts/train-edge-model) has no safety head.
  if (a.flag("no-safety-check")) ac.check_safety = false;
  if (auto l = a.get("labels")) {
    ac.intent_labels = split_labels(*l);
    if (ac.intent_labels.empty()) throw config_error("--labels is empty");
  }
  const cli::deployment_config deployment = cli::read_deployment_config(a.get("config"));

  // Several endpoints (--cloud-url A,B or the option repeated): health-aware failover between
  // them (transport/failover_transport.hpp) before the edge falls back.
  std::vector<std::string> urls;
  for (const auto& given : a.all("cloud-url")) {
    std::string cur;
    for (char c : given + ",") {
      if (c != ',') { cur += c; continue; }
      if (!cur.empty()) urls.push_back(cur);
      cur.clear();
    }
  }
  if (urls.empty()) throw config_error("--cloud-url is empty");
  if (urls.size() == 1) {
    tc.base_url = urls.front();
    return route_on<transport::openai_transport>(a, tc, ac, deployment);
  }
  transport::failover_config fc;
  for (const auto& u : urls) {
    tc.base_url = u;
    fc.endpoints.push_back(tc);
  }
  return route_on<transport::failover_transport>(a, fc, ac, deployment);
}

// eval --model: the engine classifies every intent record's query (over --labels, or the
// assistant's default labels plus every gold label in the file); its prediction, confidence,
// latency and per-label log-probabilities replace what the record carried.
size_t predict_with_engine(std::vector<routing::labeled_record>& records, const cli::args& a,
                           const cli::deployment_config& deployment) {
  local_edge_config ec;
  ec.threads = static_cast<size_t>(std::max(0LL, a.integer("threads", 0)));
  ec.context = static_cast<size_t>(std::max(64LL, a.integer("context", 2048)));
  ec.lora = cli::lora_files(a);
  ec.access = cli::file_access_from(a);
  local_edge edge(*a.get("model"), ec);
  std::vector<std::string> labels;
  if (auto l = a.get("labels")) {
    labels = split_labels(*l);
  } else {
    labels = assistant_config{}.intent_labels;
    for (const auto& r : records)
      if (r.task == routing::task_type::intent && !r.gold.empty() &&
          std::find(labels.begin(), labels.end(), r.gold) == labels.end())
        labels.push_back(r.gold);
  }
  if (labels.empty()) throw config_error("--labels is empty");
  size_t n = 0;
  for (auto& r : records) {
    if (r.task != routing::task_type::intent) continue;
    tasks::intent_config c = edge.tasks_config().intent;
    c.labels = labels;
    c.lang = has_cjk(r.query) ? tasks::language::zh : tasks::language::en;
    deployment.apply(c);  // a trained model's prompt (and options) from --config
    const auto res = edge.engine().classify(r.query, c);
    r.edge_prediction = res.intent;
    r.edge_confidence = res.confidence;
    r.edge_quality.reset();
    r.edge_latency_ms = res.stats.ms;
    r.out_of_set_mass = res.out_of_set;
    r.routed.reset();
    r.label_scores = res.log_probs;
    const auto gold = std::find(labels.begin(), labels.end(), r.gold);
    r.gold_index = gold == labels.end() ? std::nullopt : std::optional<size_t>(gold - labels.begin());
    ++n;
  }
  return n;
}

int run_eval(const std::vector<std::string>& argv) {
  cli::args a(argv, {"data", "config", "bins", "model", "labels", "threads", "context", "cloud-quality"},
              {"json", "records", cli::no_mmap_flag}, {cli::lora_option});
  auto records = read_records(a.required("data"));
  if (!a.has("model") && !a.all(cli::lora_option).empty())
    throw config_error("--lora needs --model (the engine that predicts the intents)");
  const cli::deployment_config deployment = cli::read_deployment_config(a.get("config"));
  if (a.has("model")) {
    const size_t n = predict_with_engine(records, a, deployment);
    std::fprintf(stderr, "edgecloud eval: %zu intent records classified by the engine (%s)\n", n, a.get("model")->c_str());
  }
  if (a.has("cloud-quality")) {
    const double q = a.number("cloud-quality", 1.0);
    if (!(q >= 0.0 && q <= 1.0)) throw config_error("--cloud-quality must be in [0, 1]");
    for (auto& r : records) r.cloud_quality = q;
  }
  long long bins = a.integer("bins", 10);
  if (bins < 1 || bins > 1000) throw config_error("--bins must be in 1..1000");
  if (a.flag("records")) {
    for (const auto& r : records) {
      const nlohmann::json line{{"text", r.query},
                                {"label", r.gold},
                                {"predicted", r.edge_prediction},
                                {"confidence", r.edge_confidence},
                                {"latency_ms", r.edge_latency_ms},
                                {"out_of_set", r.out_of_set_mass},
                                {"route", routing::routed_to_cloud(r, deployment.policy) ? "cloud" : "edge"}};
      std::cout << line.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) << "\n";
    }
  }
  auto report = routing::evaluate(records, deployment.policy, static_cast<size_t>(bins));
  if (a.flag("json")) {
    std::cout << nlohmann::json(report).dump() << "\n";
    return 0;
  }
  std::cout << "records              " << report.records << "\n"
            << "on-device rate       " << fixed(report.on_device_rate) << "\n"
            << "cloud-call rate      " << fixed(report.cloud_call_rate) << "\n"
            << "edge accuracy        " << fixed(report.edge_accuracy) << " (on-device answers: "
            << fixed(report.edge_accuracy_on_device) << ")\n"
            << "in-scope accuracy    " << fixed(report.in_scope_accuracy) << "\n"
            << "oos to cloud         " << fixed(report.oos_to_cloud) << " (" << report.out_of_scope
            << " out-of-scope records)\n"
            << "routed quality       " << fixed(report.routed_quality) << " (all edge "
            << fixed(report.edge_only_quality) << ", all cloud " << fixed(report.cloud_only_quality) << ")\n"
            << "latency ms P50/95/99 " << fixed(report.latency_p50_ms, 1) << " / " << fixed(report.latency_p95_ms, 1)
            << " / " << fixed(report.latency_p99_ms, 1) << "\n"
            << "CPT(50%)             " << fixed(report.cpt50 * 100, 1) << "% cloud calls\n"
            << "CPT(80%)             " << fixed(report.cpt80 * 100, 1) << "% cloud calls\n"
            << "APGR                 " << fixed(report.apgr) << "\n"
            << "ECE (" << bins << " bins)        " << fixed(report.ece, 4) << "\n";
  return 0;
}

int run_calibrate(const std::vector<std::string>& argv) {
  cli::args a(argv, {"data", "config", "out", "target-cloud-rate", "target-quality", "target-edge-accuracy",
                     "oos-share"},
              {"json"});
  if (a.has("target-cloud-rate") + a.has("target-quality") + a.has("target-edge-accuracy") != 1)
    throw config_error(
        "give exactly one of --target-cloud-rate R, --target-quality Q or --target-edge-accuracy A");
  routing::calibration_target target;
  if (a.has("target-cloud-rate")) {
    target = {routing::calibration_target::kind::cloud_rate, a.number("target-cloud-rate", 0.3)};
  } else if (a.has("target-quality")) {
    target = {routing::calibration_target::kind::quality, a.number("target-quality", 0.9)};
  } else {
    target = {routing::calibration_target::kind::edge_accuracy, a.number("target-edge-accuracy", 0.95)};
    if (!(target.value > 0.0 && target.value <= 1.0))
      throw config_error("--target-edge-accuracy must be in (0, 1]");
    if (a.has("oos-share")) {
      target.cloud_gold_share = a.number("oos-share", 0.0);
      if (!(target.cloud_gold_share > 0.0 && target.cloud_gold_share < 1.0))
        throw config_error("--oos-share must be in (0, 1)");
    }
  }
  if (a.has("oos-share") && !a.has("target-edge-accuracy"))
    throw config_error("--oos-share goes with --target-edge-accuracy");
  auto records = read_records(a.required("data"));
  cli::deployment_config deployment = cli::read_deployment_config(a.get("config"));
  routing::policy_config& config = deployment.policy;
  auto per_task =
      routing::calibrate_thresholds(records, target, &config.thresholds, config.cloud_labels,
                                    config.max_out_of_set_mass);
  config.validate();
  auto temperatures = routing::fit_temperatures(records);
  nlohmann::json j;
  j["config"] = config;
  for (const auto& [task, c] : per_task) j["tasks"][std::string(routing::to_string(task))] = c;
  for (const auto& [task, t] : temperatures) j["temperatures"][std::string(routing::to_string(task))] = t;
  if (auto out = a.get("out")) {
    std::ofstream f(*out);
    if (!f) throw config_error("cannot write " + *out);
    f << cli::deployment_to_json(deployment).dump(2) << "\n";
  }
  if (a.flag("json")) {
    std::cout << j.dump() << "\n";
    return 0;
  }
  std::cout << "task          records  threshold  cloud-rate  quality  temperature\n";
  for (const auto& [task, c] : per_task) {
    auto t = temperatures.find(task);
    std::printf("%-13s %7zu  %9s  %10s  %7s  %11s%s\n", std::string(routing::to_string(task)).c_str(), c.records,
                fixed(c.threshold).c_str(), fixed(c.cloud_rate).c_str(), fixed(c.quality).c_str(),
                t == temperatures.end() ? "-" : fixed(t->second.temperature).c_str(),
                c.reachable ? "" : "  (target not reachable)");
  }
  if (a.has("out")) std::cout << "wrote " << *a.get("out") << "\n";
  return 0;
}

const cli::command_registrar route_cmd("route", "route a query: edge or cloud, with the reason (--json, --jsonl)", run_route);
const cli::command_registrar eval_cmd("eval", "routing metrics of labeled data: on-device rate, CPT, APGR, ECE", run_eval);
const cli::command_registrar calibrate_cmd("calibrate", "per-task thresholds for a target cloud rate or quality, temperatures",
                                           run_calibrate);

}  // namespace
