// SPDX-License-Identifier: Apache-2.0
// `edgecloud inspect` and `edgecloud make-model`: look inside a GGUF model, and write a
// random-weight Qwen3 model of the real Qwen3-0.6B shape (or a tiny one) with a tokenizer.
// `edgecloud make-lora --base BASE.gguf OUT.gguf`: a random LoRA adapter for that base
// (testing/lora_gguf.hpp), for benchmarks and demos of --lora.
#include <charconv>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <edgecloud/convert/gguf_tokenizer.hpp>
#include <edgecloud/error.hpp>
#include <edgecloud/model/gguf.hpp>
#include <edgecloud/model/gguf_random_qwen3.hpp>
#include <edgecloud/model/gguf_writer.hpp>
#include <edgecloud/model/lora.hpp>
#include <edgecloud/model/qwen3.hpp>
#include <edgecloud/testing/lora_gguf.hpp>
#include <edgecloud/text/vocab.hpp>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "args.hpp"
#include "commands.hpp"

namespace {

namespace gguf = edgecloud::gguf;
using edgecloud::config_error;
using nlohmann::json;

std::string human_bytes(uint64_t n) {
  const char* units[] = {"B", "KB", "MB", "GB", "TB"};
  double v = static_cast<double>(n);
  int u = 0;
  while (v >= 1000 && u < 4) v /= 1000, ++u;
  char buf[32];
  std::snprintf(buf, sizeof buf, u ? "%.1f %s" : "%.0f %s", v, units[u]);
  return buf;
}

std::string grouped(uint64_t n) {
  std::string s = std::to_string(n), out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (i && (s.size() - i) % 3 == 0) out += ',';
    out += s[i];
  }
  return out;
}

json opt(const std::optional<uint64_t>& v) {
  return v ? json(*v) : json();
}
json opt(const std::optional<double>& v) {
  return v ? json(*v) : json();
}
// A metadata number as JSON; an f32 is printed at float precision (1e-06, not 9.99999997e-07).
json number(const gguf::file& f, const std::string& key) {
  const gguf::metadata_value* v = f.find(key);
  if (!v) return json();
  if (v->type == gguf::value_type::f32) {
    char buf[32];
    auto r = std::to_chars(buf, buf + sizeof buf, static_cast<float>(*v->as_double()));
    return json(std::strtod(std::string(buf, r.ptr).c_str(), nullptr));
  }
  return opt(f.get_float(key));
}
json opt(const std::optional<std::string_view>& v) {
  return v ? json(std::string(*v)) : json();
}

// Everything `inspect` reports, gathered once (JSON is the single source for both outputs).
json describe(const gguf::file& f, const std::string& path) {
  json j;
  j["file"] = path;
  j["size_bytes"] = f.size_bytes();
  j["gguf_version"] = f.version();
  j["alignment"] = f.alignment();
  const std::string arch(f.get_string("general.architecture").value_or(""));
  j["architecture"] = arch.empty() ? json() : json(arch);
  j["name"] = opt(f.get_string("general.name"));
  const std::string p = arch + ".";
  auto u = [&](const char* k) { return f.get_uint(p + k); };
  const auto hidden = u("embedding_length"), heads = u("attention.head_count");
  auto head_dim = u("attention.key_length");
  if (!head_dim && hidden && heads && *heads) head_dim = *hidden / *heads;
  std::optional<uint64_t> vocab = u("vocab_size");
  const gguf::tensor_info* embd = f.find_tensor("token_embd.weight");
  if (!vocab && embd && embd->dims.size() == 2) vocab = embd->dims[1];
  const auto tokens = f.get_string_array("tokenizer.ggml.tokens");
  if (!vocab && !tokens.empty()) vocab = tokens.size();
  j["hidden"] = opt(hidden);
  j["layers"] = opt(u("block_count"));
  j["heads"] = opt(heads);
  j["kv_heads"] = opt(u("attention.head_count_kv"));
  j["head_dim"] = opt(head_dim);
  j["ffn"] = opt(u("feed_forward_length"));
  j["vocab"] = opt(vocab);
  j["context"] = opt(u("context_length"));
  j["rope_base"] = number(f, p + "rope.freq_base");
  j["rms_eps"] = number(f, p + "attention.layer_norm_rms_epsilon");
  j["tied_output"] = embd ? json(f.find_tensor("output.weight") == nullptr) : json();
  j["file_type"] = opt(f.get_uint("general.file_type"));

  uint64_t params = 0;
  std::map<std::string, std::pair<uint64_t, uint64_t>> types;  // name -> (count, bytes)
  for (const auto& t : f.tensors()) {
    params += t.n_elements();
    auto& e = types[gguf::ggml_type_name(t.type)];
    e.first += 1;
    e.second += t.n_bytes;
  }
  j["parameters"] = params;
  j["tensor_count"] = f.tensors().size();
  json tt = json::object();
  for (const auto& [name, e] : types) tt[name] = {{"count", e.first}, {"bytes", e.second}};
  j["tensor_types"] = tt;

  json tok;
  tok["model"] = opt(f.get_string("tokenizer.ggml.model"));
  tok["pre"] = opt(f.get_string("tokenizer.ggml.pre"));
  tok["tokens"] = tokens.size();
  const gguf::metadata_value* merges = f.find("tokenizer.ggml.merges");
  tok["merges"] = merges && merges->type == gguf::value_type::array ? merges->count : 0;
  for (const char* which : {"bos", "eos", "padding"}) {
    auto id = f.get_uint(std::string("tokenizer.ggml.") + which + "_token_id");
    tok[std::string(which) + "_id"] = opt(id);
    tok[which] = id && *id < tokens.size() ? json(std::string(tokens[*id])) : json();
  }
  tok["has_chat_template"] = f.has("tokenizer.chat_template");
  j["tokenizer"] = tok;
  return j;
}

std::string text_of(const json& v) {
  if (v.is_null()) return "?";
  if (v.is_string()) return v.get<std::string>();
  if (v.is_boolean()) return v.get<bool>() ? "yes" : "no";
  if (v.is_number_float()) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%g", v.get<double>());
    return buf;
  }
  return v.dump();
}

void print_human(const json& j) {
  std::printf("file          %s (%s, GGUF v%u, alignment %u)\n",
              j["file"].get<std::string>().c_str(), human_bytes(j["size_bytes"]).c_str(),
              j["gguf_version"].get<unsigned>(), j["alignment"].get<unsigned>());
  std::printf("architecture  %s%s\n", text_of(j["architecture"]).c_str(),
              j["name"].is_null() ? "" : (" (" + text_of(j["name"]) + ")").c_str());
  std::printf("shape         hidden %s, layers %s, heads %s (kv %s), head dim %s, FFN %s\n",
              text_of(j["hidden"]).c_str(), text_of(j["layers"]).c_str(),
              text_of(j["heads"]).c_str(), text_of(j["kv_heads"]).c_str(),
              text_of(j["head_dim"]).c_str(), text_of(j["ffn"]).c_str());
  std::printf("              vocab %s, context %s, rope base %s, rms eps %s, tied output %s\n",
              text_of(j["vocab"]).c_str(), text_of(j["context"]).c_str(),
              text_of(j["rope_base"]).c_str(), text_of(j["rms_eps"]).c_str(),
              text_of(j["tied_output"]).c_str());
  const uint64_t params = j["parameters"];
  std::printf("parameters    %s (%.2f B)\n", grouped(params).c_str(), params / 1e9);
  std::string types;
  for (const auto& [name, e] : j["tensor_types"].items())
    types += (types.empty() ? "" : ", ") + name + " x" +
             std::to_string(e["count"].get<uint64_t>()) + " (" + human_bytes(e["bytes"]) + ")";
  std::printf("tensors       %s: %s\n", text_of(j["tensor_count"]).c_str(), types.c_str());
  const json& t = j["tokenizer"];
  std::printf("tokenizer     %s / %s, %s tokens, %s merges, chat template %s\n",
              text_of(t["model"]).c_str(), text_of(t["pre"]).c_str(), grouped(t["tokens"]).c_str(),
              grouped(t["merges"]).c_str(), text_of(t["has_chat_template"]).c_str());
  std::printf("              bos %s %s, eos %s %s, pad %s %s\n", text_of(t["bos_id"]).c_str(),
              text_of(t["bos"]).c_str(), text_of(t["eos_id"]).c_str(), text_of(t["eos"]).c_str(),
              text_of(t["padding_id"]).c_str(), text_of(t["padding"]).c_str());
}

std::string short_value(const gguf::metadata_value& v) {
  using gguf::value_type;
  if (v.type == value_type::array)
    return std::string(gguf::value_type_name(v.element_type)) + "[" + std::to_string(v.count) + "]";
  if (v.type == value_type::string) {
    std::string s(v.as_string().substr(0, 60));
    for (char& c : s)
      if (c == '\n') c = ' ';
    return "\"" + s + (v.payload.size() > 60 ? "...\"" : "\"");
  }
  if (v.type == value_type::f32 || v.type == value_type::f64) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%g", *v.as_double());
    return buf;
  }
  if (v.type == value_type::boolean) return *v.as_int() ? "true" : "false";
  if (v.type == value_type::u64) return std::to_string(*v.as_uint());
  return std::to_string(*v.as_int());
}

int run_inspect(const std::vector<std::string>& argv) {
  edgecloud::cli::args a(argv, {}, {"json", "tensors", "metadata"});
  if (a.positionals().size() != 1)
    throw config_error("usage: edgecloud inspect MODEL.gguf [--json] [--tensors] [--metadata]");
  const std::string path = a.positionals()[0];
  auto f = gguf::file::open(path);
  json j = describe(f, path);
  if (a.flag("tensors")) {
    json list = json::array();
    for (const auto& t : f.tensors())
      list.push_back({{"name", t.name},
                      {"type", gguf::ggml_type_name(t.type)},
                      {"dims", t.dims},
                      {"offset", t.offset},
                      {"bytes", t.n_bytes}});
    j["tensors"] = list;
  }
  if (a.flag("metadata")) {
    json m = json::object();
    for (const auto& [key, value] : f.metadata())
      m[std::string(key)] = {{"type", std::string(gguf::value_type_name(value.type))},
                             {"value", short_value(value)}};
    j["metadata"] = m;
  }
  if (a.flag("json")) {
    std::printf("%s\n", j.dump(2).c_str());
    return 0;
  }
  print_human(j);
  if (a.flag("metadata")) {
    std::printf("\nmetadata\n");
    for (const auto& [key, value] : f.metadata())
      std::printf("  %-45s %-7s %s\n", std::string(key).c_str(),
                  std::string(gguf::value_type_name(value.type)).c_str(),
                  short_value(value).c_str());
  }
  if (a.flag("tensors")) {
    std::printf("\ntensors\n");
    for (const auto& t : f.tensors()) {
      std::string dims;
      for (size_t i = 0; i < t.dims.size(); ++i) dims += (i ? "x" : "") + std::to_string(t.dims[i]);
      std::printf("  %-32s %-5s %-14s %12s\n", t.name.c_str(), gguf::ggml_type_name(t.type).c_str(),
                  dims.c_str(), human_bytes(t.n_bytes).c_str());
    }
  }
  return 0;
}

// tokenizer.ggml.* and tokenizer.chat_template as llama.cpp's converter writes them for Qwen3
// (convert/gguf_tokenizer.hpp, shared with `edgecloud convert`): the token list is padded to the
// embedding rows with "[PAD<id>]" tokens. Qwen3's tokenizer_config.json has no bos token;
// llama.cpp takes config.json's bos_token_id, <|endoftext|>, and add_bos_token = false.
void add_tokenizer(gguf::writer& w, const edgecloud::text::vocab_data& v, uint64_t vocab_rows) {
  edgecloud::convert::config_special_ids config;
  for (size_t i = 0; i < v.tokens.size(); ++i)
    if (v.tokens[i] == "<|endoftext|>") config.bos = static_cast<int64_t>(i);
  try {
    edgecloud::convert::add_tokenizer_metadata(
        w, edgecloud::convert::to_gguf_vocab(v, vocab_rows, config, {{"bos", false}}));
  } catch (const edgecloud::text_error& e) {
    throw config_error(e.what());
  }
}

int run_make_model(const std::vector<std::string>& argv) {
  edgecloud::cli::args a(argv, {"shape", "dtype", "seed", "tokenizer", "threads"}, {});
  if (a.positionals().size() != 1)
    throw config_error(
        "usage: edgecloud make-model [--shape qwen3-0.6b|tiny] [--dtype q8_0|f16|bf16|f32] "
        "[--seed N] [--tokenizer tokenizer.json] [--threads N] OUT.gguf");
  const std::string out = a.positionals()[0];
  const std::string shape_name = a.value_or("shape", "qwen3-0.6b");
  gguf::qwen3_shape shape;
  if (shape_name == "qwen3-0.6b")
    shape = gguf::qwen3_shape::qwen3_0_6b();
  else if (shape_name == "tiny")
    shape = gguf::qwen3_shape::tiny();
  else
    throw config_error("--shape must be qwen3-0.6b or tiny, not " + shape_name);
  const std::string dtype = a.value_or("dtype", "q8_0");
  const std::map<std::string, uint32_t> dtypes = {{"q8_0", gguf::type_q8_0},
                                                  {"f16", gguf::type_f16},
                                                  {"bf16", gguf::type_bf16},
                                                  {"f32", gguf::type_f32}};
  if (!dtypes.count(dtype))
    throw config_error("--dtype must be q8_0, f16, bf16 or f32, not " + dtype);
  const long long seed = a.integer("seed", 1);
  shape.name = "random-" + shape_name + "-" + dtype + "-seed" + std::to_string(seed);

  const auto t0 = std::chrono::steady_clock::now();
  edgecloud::text::vocab_data vocab;
  std::string tokenizer_source = "synthetic";
  if (auto tj = a.get("tokenizer")) {
    vocab = edgecloud::text::read_hf_tokenizer(*tj);
    if (!vocab.nfc)  // GGUF has no key for the normalizer; readers assume NFC (vocab.hpp)
      throw config_error(*tj + ": the tokenizer has no NFC normalizer, which a GGUF file cannot "
                               "record; models read from GGUF always normalise to NFC");
    tokenizer_source = *tj;
  } else {
    vocab = edgecloud::text::make_synthetic_vocab();
  }
  gguf::writer w;
  const long long threads = a.integer("threads", 0);
  if (threads < 0 || threads > 1024) throw config_error("--threads must be 0 (all) to 1024");
  gguf::add_random_qwen3(w, shape, dtypes.at(dtype), static_cast<uint64_t>(seed),
                         static_cast<unsigned>(threads));
  add_tokenizer(w, vocab, shape.vocab);
  const auto t1 = std::chrono::steady_clock::now();
  w.write(out);
  const auto t2 = std::chrono::steady_clock::now();
  auto f = gguf::file::open(out);  // read back: the file is valid and complete
  uint64_t params = 0;
  for (const auto& t : f.tensors()) params += t.n_elements();
  std::printf(
      "wrote %s: %s, %zu tensors, %s parameters, %s %s, tokenizer %s (%zu tokens); "
      "%.2f s (tokenizer %.2f s, weights+write %.2f s)\n",
      out.c_str(), human_bytes(f.size_bytes()).c_str(), f.tensors().size(), grouped(params).c_str(),
      shape_name.c_str(), dtype.c_str(), tokenizer_source.c_str(), vocab.tokens.size(),
      std::chrono::duration<double>(t2 - t0).count(),
      std::chrono::duration<double>(t1 - t0).count(),
      std::chrono::duration<double>(t2 - t1).count());
  return 0;
}

int run_make_lora(const std::vector<std::string>& argv) {
  edgecloud::cli::args a(argv, {"base", "rank", "alpha", "targets", "dtype", "seed", "b-std"}, {});
  if (a.positionals().size() != 1)
    throw config_error(
        "usage: edgecloud make-lora --base BASE.gguf [--rank 8] [--alpha 16] "
        "[--targets q,k,v,o,gate,up,down] [--dtype f32|f16|q8_0] [--seed N] [--b-std 0.05] "
        "OUT.gguf");
  const std::string out = a.positionals()[0];
  const auto base = edgecloud::model::qwen3::load(a.required("base"));
  edgecloud::testing::lora_spec spec;
  const long long rank = a.integer("rank", 8);
  if (rank < 1 || rank > 4096) throw config_error("--rank must be in 1..4096");
  spec.rank = static_cast<size_t>(rank);
  spec.alpha = static_cast<float>(a.number("alpha", 16.0));
  spec.b_std = static_cast<float>(a.number("b-std", 0.05));
  spec.seed = static_cast<uint64_t>(a.integer("seed", 1));
  if (auto t = a.get("targets")) {
    spec.targets.clear();
    const std::map<std::string, edgecloud::model::lora_target> names = {
        {"q", edgecloud::model::lora_target::q},       {"k", edgecloud::model::lora_target::k},
        {"v", edgecloud::model::lora_target::v},       {"o", edgecloud::model::lora_target::o},
        {"gate", edgecloud::model::lora_target::gate}, {"up", edgecloud::model::lora_target::up},
        {"down", edgecloud::model::lora_target::down}};
    std::string cur;
    for (char c : *t + ",") {
      if (c != ',') {
        cur += c;
        continue;
      }
      if (cur.empty()) continue;
      if (!names.count(cur))
        throw config_error("--targets: unknown projection '" + cur +
                           "' (q, k, v, o, gate, up, down)");
      spec.targets.push_back(names.at(cur));
      cur.clear();
    }
    if (spec.targets.empty()) throw config_error("--targets is empty");
  }
  const std::string dtype = a.value_or("dtype", "f32");
  using edgecloud::kernels::dtype;
  if (dtype == "f32")
    spec.a_type = spec.b_type = dtype::f32;
  else if (dtype == "f16")
    spec.a_type = spec.b_type = dtype::f16;
  else if (dtype == "q8_0")  // B's rows are `rank` long: Q8_0 only when rank % 32 == 0
    spec.a_type = dtype::q8_0, spec.b_type = spec.rank % 32 == 0 ? dtype::q8_0 : dtype::f16;
  else
    throw config_error("--dtype must be f32, f16 or q8_0, not " + dtype);
  edgecloud::testing::write_random_lora(out, base.config(), spec);
  const auto check = edgecloud::model::lora_adapter::load(out, base);  // read back
  std::printf("wrote %s: rank %zu, alpha %g, %zu pairs, %s of adapter weights\n", out.c_str(),
              spec.rank, static_cast<double>(spec.alpha), check->n_pairs(),
              human_bytes(check->bytes()).c_str());
  return 0;
}

const edgecloud::cli::command_registrar inspect_cmd(
    "inspect", "show a GGUF model's architecture, shapes, tensor types and tokenizer", run_inspect);
const edgecloud::cli::command_registrar make_model_cmd(
    "make-model", "write a random-weight Qwen3 GGUF (qwen3-0.6b or tiny shape)", run_make_model);
const edgecloud::cli::command_registrar make_lora_cmd(
    "make-lora", "write a random LoRA adapter GGUF for a base model (--base M --rank 8)",
    run_make_lora);

}  // namespace
