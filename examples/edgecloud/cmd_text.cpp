// SPDX-License-Identifier: Apache-2.0
// `edgecloud tokenize` and `edgecloud detokenize`: the text layer from the command line.
//
//   edgecloud tokenize (--tokenizer tokenizer.json | --model M.gguf) [--plain] [--jsonl] < text
//     stdin (raw UTF-8 bytes, nothing stripped) -> one JSON array of ids. Default mode is trusted
//     (control tokens such as <|im_start|> are recognised, = Hugging Face's default); --plain is
//     untrusted (they stay text). --jsonl: every stdin line is a JSON object {"text": ...}; one
//     JSON array per line, in order, in one process.
//   edgecloud detokenize (--tokenizer F | --model M) "1 2 3"
//     prints the text of the ids exactly (no newline added; ill-formed UTF-8 -> U+FFFD).
#include <edgecloud/error.hpp>
#include <edgecloud/generate/tokenizer_loader.hpp>
#include <edgecloud/text/tokenizer.hpp>

#include <cstdio>
#include <iostream>
#include <iterator>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "args.hpp"
#include "commands.hpp"

namespace {

using edgecloud::cli::args;
namespace text = edgecloud::text;

text::tokenizer load(const args& a) {
  const bool has_tok = a.has("tokenizer"), has_model = a.has("model");
  if (has_tok == has_model)
    throw edgecloud::config_error("give exactly one of --tokenizer tokenizer.json or --model M.gguf");
  const std::filesystem::path p = has_tok ? *a.get("tokenizer") : *a.get("model");
  if (!std::filesystem::exists(p)) throw edgecloud::config_error("no such file: " + p.string());
  return edgecloud::generate::load_tokenizer(p);
}

void write_ids(std::string& out, const std::vector<int32_t>& ids) {
  out += '[';
  for (size_t k = 0; k < ids.size(); ++k) {
    if (k) out += ", ";
    out += std::to_string(ids[k]);
  }
  out += "]\n";
}

int tokenize(const std::vector<std::string>& argv) {
  const args a(argv, {"tokenizer", "model"}, {"plain", "jsonl"});
  if (!a.positionals().empty())
    throw edgecloud::config_error("tokenize reads the text on stdin; unexpected argument '" +
                                  a.positionals()[0] + "'");
  const auto tok = load(a);
  const auto mode = a.flag("plain") ? text::encode_mode::untrusted : text::encode_mode::trusted;
  std::ios::sync_with_stdio(false);
  std::string out;
  std::vector<int32_t> ids;
  if (!a.flag("jsonl")) {
    const std::string input((std::istreambuf_iterator<char>(std::cin)), {});
    tok.encode(input, mode, ids);
    write_ids(out, ids);
    std::fwrite(out.data(), 1, out.size(), stdout);
    return 0;
  }
  size_t line_no = 0;
  for (std::string line; std::getline(std::cin, line);) {
    ++line_no;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.find_first_not_of(" \t") == std::string::npos) continue;
    nlohmann::json j;
    try {
      j = nlohmann::json::parse(line);
    } catch (const nlohmann::json::exception& e) {
      throw edgecloud::config_error("stdin line " + std::to_string(line_no) + ": not JSON: " +
                                    e.what());
    }
    if (!j.is_object() || !j.contains("text") || !j["text"].is_string())
      throw edgecloud::config_error("stdin line " + std::to_string(line_no) +
                                    ": expected an object with a string \"text\"");
    ids.clear();
    tok.encode(j["text"].get_ref<const std::string&>(), mode, ids);
    write_ids(out, ids);
    if (out.size() > (1 << 16)) {
      std::fwrite(out.data(), 1, out.size(), stdout);
      out.clear();
    }
  }
  std::fwrite(out.data(), 1, out.size(), stdout);
  return 0;
}

int detokenize(const std::vector<std::string>& argv) {
  const args a(argv, {"tokenizer", "model"}, {"skip-special"});
  std::string list;
  for (const auto& p : a.positionals()) list += p + " ";
  const auto ids = edgecloud::cli::parse_token_list(list);
  const auto tok = load(a);
  const std::vector<int32_t> ids32(ids.begin(), ids.end());
  const std::string s = tok.decode(ids32, a.flag("skip-special"));
  std::fwrite(s.data(), 1, s.size(), stdout);
  return 0;
}

const edgecloud::cli::command_registrar tokenize_cmd(
    "tokenize",
    "text on stdin -> JSON ids (--tokenizer F.json | --model M.gguf) [--plain] [--jsonl]",
    tokenize);
const edgecloud::cli::command_registrar detokenize_cmd(
    "detokenize", "ids -> text (--tokenizer F | --model M) \"1 2 3\" [--skip-special]",
    detokenize);

}  // namespace
