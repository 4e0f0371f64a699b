// SPDX-License-Identifier: Apache-2.0
// `edgecloud task-prompt`: the exact token ids the engine feeds the model for a classification,
// for a trainer (scripts/train-edge-model) to train on -- computed by the library function
// classify itself calls (tasks::intent_prompt), so trainer and engine cannot drift.
//
//   edgecloud task-prompt (--tokenizer tokenizer.json | --model M.gguf) --labels a,b,...
//                         [--config routing.json] [--context 2048] [--lang en|zh]
//                         (--jsonl < texts.jsonl | "text")
//
// --jsonl prints a header line, then one line per input line {"text": ...}:
//   {"labels": [...], "label_ids": [[...], ...], "end_token": 151645, "context": 2048}
//   {"ids": [...], "fixed": 41, "dropped_input_tokens": 0}
// `ids` is the whole prompt, `fixed` how many leading ids do not depend on the text (the
// prefix the engine keeps in its cache), `label_ids[k]` label k's continuation (its tokens and
// the end token when the task ends labels with <|im_end|>). With a positional text, one object
// holding both. The prompt and options come from --config's "task" section (deploy_config.hpp),
// else the engine's defaults.
#include <edgecloud/generate/tokenizer_loader.hpp>
#include <edgecloud/model/gguf.hpp>
#include <edgecloud/tasks/task_prompt.hpp>
#include <edgecloud/text/vocab.hpp>

#include <cstdio>
#include <iostream>
#include <string>
#include <vector>

#include "args.hpp"
#include "commands.hpp"
#include "deploy_config.hpp"

namespace {

using namespace edgecloud;
using json = nlohmann::json;

std::vector<std::string> split_labels(const std::string& s) {
  std::vector<std::string> out;
  std::string cur;
  for (char c : s + ",") {
    if (c != ',') {
      cur += c;
      continue;
    }
    if (!cur.empty()) out.push_back(cur);
    cur.clear();
  }
  return out;
}

int run_task_prompt(const std::vector<std::string>& argv) {
  cli::args a(argv, {"tokenizer", "model", "labels", "config", "context", "lang", "task"},
              {"jsonl"});
  if (a.value_or("task", "intent") != "intent")
    throw config_error("task-prompt: only --task intent (classification) is supported");
  if (a.has("tokenizer") == a.has("model"))
    throw config_error("task-prompt: give exactly one of --tokenizer tokenizer.json or --model M");
  const text::tokenizer tok(a.has("tokenizer")
                                ? text::read_hf_tokenizer(*a.get("tokenizer"))
                                : generate::read_gguf_vocab(gguf::file::open(*a.get("model"))));
  const auto end = tok.find_token("<|im_end|>");
  if (!end) throw model_error("the tokenizer has no <|im_end|> token (not a Qwen chat model)");
  const long long context = a.integer("context", 2048);
  if (context < 64 || context > 1 << 20) throw config_error("--context must be in 64..1048576");

  tasks::intent_config c;
  c.labels = split_labels(a.required("labels"));
  if (c.labels.empty()) throw config_error("--labels is empty");
  const std::string lang = a.value_or("lang", "en");
  if (lang != "en" && lang != "zh") throw config_error("--lang must be en or zh");
  c.lang = lang == "zh" ? tasks::language::zh : tasks::language::en;
  cli::read_deployment_config(a.get("config")).apply(c);

  auto request = [&](const std::string& text) {
    return tasks::intent_prompt(tok, *end, c, text, static_cast<size_t>(context));
  };
  const auto first = request("");
  const json header{{"labels", c.labels},
                    {"label_ids", first.labels},
                    {"end_token", *end},
                    {"context", context}};
  auto line = [](const tasks::intent_request& r) {
    return json{{"ids", r.prompt.ids},
                {"fixed", r.prompt.fixed},
                {"dropped_input_tokens", r.prompt.dropped_input_tokens}};
  };
  if (!a.flag("jsonl")) {
    if (a.positionals().size() != 1)
      throw config_error("task-prompt: give the text as one argument, or use --jsonl");
    json out = header;
    out.update(line(request(a.positionals()[0])));
    std::printf("%s\n", out.dump().c_str());
    return 0;
  }
  std::printf("%s\n", header.dump().c_str());
  std::string in;
  for (size_t n = 1; std::getline(std::cin, in); ++n) {
    if (in.find_first_not_of(" \t\r") == std::string::npos) continue;
    const auto j = json::parse(in, nullptr, false);
    if (j.is_discarded() || !j.is_object() || !j.contains("text") || !j["text"].is_string())
      throw config_error("stdin line " + std::to_string(n) + ": expected {\"text\": ...}");
    std::fputs(line(request(j["text"].get<std::string>())).dump().c_str(), stdout);
    std::fputc('\n', stdout);
  }
  return 0;
}

const cli::command_registrar task_prompt_cmd(
    "task-prompt", "the token ids the engine feeds for a classification (for training)",
    run_task_prompt);

}  // namespace
