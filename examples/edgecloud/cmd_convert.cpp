// SPDX-License-Identifier: Apache-2.0
// `edgecloud convert` (Hugging Face Qwen3/Qwen2 checkpoint -> GGUF, optionally with an accuracy
// report) and `edgecloud convert-lora` (PEFT LoRA adapter -> llama.cpp GGUF LoRA).
#include <chrono>
#include <cstdio>
#include <edgecloud/convert.hpp>
#include <edgecloud/error.hpp>
#include <edgecloud/testing/hf_checkpoint.hpp>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>
#include <system_error>
#include <vector>

#include "args.hpp"
#include "commands.hpp"

namespace {

namespace conv = edgecloud::convert;
using edgecloud::config_error;
using nlohmann::json;

double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

int run_convert(const std::vector<std::string>& argv) {
  edgecloud::cli::args a(argv, {"outtype", "name", "threads"}, {"report", "json"});
  if (a.positionals().size() != 2)
    throw edgecloud::cli::usage_error("needs the checkpoint directory HF_DIR and OUT.gguf");
  const std::string dir = a.positionals()[0], out = a.positionals()[1];
  conv::convert_options opt;
  opt.type = conv::parse_out_type(a.value_or("outtype", "f32"));
  opt.measure_error = a.flag("report");
  opt.name = a.value_or("name", "");
  const long long threads = a.integer("threads", 0);
  if (threads < 0 || threads > 1024) throw config_error("--threads must be 0 (all) to 1024");
  const auto t0 = std::chrono::steady_clock::now();
  const conv::convert_result r = conv::convert_hf_to_gguf(dir, out, opt);
  const double convert_s = seconds_since(t0);

  std::vector<conv::logits_difference> logits;
  if (a.flag("report") && opt.type != conv::out_type::f32) {
    // The F32 conversion of the same checkpoint is the reference; it lives beside OUT only while
    // the engine compares the two.
    std::filesystem::path ref = out;
    ref += ".f32-reference.gguf";
    try {
      conv::convert_options ref_opt;
      ref_opt.name = opt.name;
      conv::convert_hf_to_gguf(dir, ref, ref_opt);
      logits = conv::compare_logits(ref, out, static_cast<size_t>(threads));
    } catch (...) {
      std::error_code ec;
      std::filesystem::remove(ref, ec);
      throw;
    }
    std::error_code ec;
    std::filesystem::remove(ref, ec);
  }

  const std::string type_name = a.value_or("outtype", "f32");
  if (a.flag("json")) {
    json j = {{"file", out},          {"source", dir},        {"architecture", r.config.arch},
              {"outtype", type_name}, {"tensors", r.tensors}, {"parameters", r.parameters},
              {"bytes", r.bytes},     {"seconds", convert_s}};
    if (a.flag("report")) j["report"] = conv::report_json(r.errors, logits);
    std::printf("%s\n", j.dump(2).c_str());
    return 0;
  }
  std::printf("wrote %s: %s %s, %zu tensors, %llu parameters, %llu bytes, %.2f s\n", out.c_str(),
              r.config.arch.c_str(), type_name.c_str(), r.tensors,
              static_cast<unsigned long long>(r.parameters),
              static_cast<unsigned long long>(r.bytes), convert_s);
  if (a.flag("report")) {
    std::printf("\n%s", conv::report_table(r.errors, logits).c_str());
    if (opt.type == conv::out_type::f32)
      std::printf("(F32 output: it is the reference, no logits comparison)\n");
  }
  return 0;
}

int run_convert_lora(const std::vector<std::string>& argv) {
  edgecloud::cli::args a(argv, {"base", "outtype"}, {"json"});
  if (a.positionals().size() != 2 || !a.has("base"))
    throw edgecloud::cli::usage_error(
        "needs the adapter directory PEFT_DIR, --base BASE.gguf and OUT.gguf");
  const std::string dir = a.positionals()[0], out = a.positionals()[1];
  const std::string type_name = a.value_or("outtype", "f32");
  const auto type = conv::parse_out_type(type_name);
  const auto t0 = std::chrono::steady_clock::now();
  const auto r = conv::convert_peft_to_gguf(dir, a.required("base"), out, type);
  const double s = seconds_since(t0);
  if (a.flag("json")) {
    json pairs = json::array();
    for (const auto& p : r.pairs)
      pairs.push_back({{"tensor", p.base_name}, {"r", p.r}, {"in", p.in}, {"out", p.out}});
    std::printf("%s\n", json{{"file", out},
                             {"source", dir},
                             {"architecture", r.architecture},
                             {"outtype", type_name},
                             {"r", r.config.r},
                             {"lora_alpha", r.config.lora_alpha},
                             {"use_rslora", r.config.use_rslora},
                             {"alpha", r.alpha},
                             {"tensors", pairs},
                             {"bytes", r.bytes},
                             {"seconds", s}}
                            .dump(2)
                            .c_str());
    return 0;
  }
  std::printf(
      "wrote %s: %s LoRA, %zu adapted matrices, r %llu, alpha %g%s, %s, %llu bytes, %.2f s\n",
      out.c_str(), r.architecture.c_str(), r.pairs.size(),
      static_cast<unsigned long long>(r.config.r), r.alpha,
      r.config.use_rslora ? " (rsLoRA: lora_alpha * sqrt(r))" : "", type_name.c_str(),
      static_cast<unsigned long long>(r.bytes), s);
  return 0;
}

// A random-weight Hugging Face checkpoint (testing/hf_checkpoint.hpp), to try or measure the
// converter without downloading a model.
int run_make_checkpoint(const std::vector<std::string>& argv) {
  edgecloud::cli::args a(argv, {"shape", "arch", "dtype", "shards", "seed", "tokenizer"},
                         {"untied"});
  if (a.positionals().size() != 1)
    throw edgecloud::cli::usage_error("needs the output directory OUT_DIR");
  const std::string shape = a.value_or("shape", "tiny");
  edgecloud::testing::hf_checkpoint_spec s;
  if (shape == "qwen3-0.6b")
    s = edgecloud::testing::hf_checkpoint_spec::qwen3_0_6b();
  else if (shape != "tiny")
    throw config_error("--shape must be qwen3-0.6b or tiny, not " + shape);
  const std::string arch = a.value_or("arch", "qwen3");
  if (arch == "qwen2")
    s.architecture = "Qwen2ForCausalLM";
  else if (arch != "qwen3")
    throw config_error("--arch must be qwen3 or qwen2, not " + arch);
  const std::string dtype = a.value_or("dtype", "bf16");
  if (dtype == "f16")
    s.dtype = conv::st_dtype::f16;
  else if (dtype == "f32")
    s.dtype = conv::st_dtype::f32;
  else if (dtype != "bf16")
    throw config_error("--dtype must be bf16, f16 or f32, not " + dtype);
  const long long shards = a.integer("shards", 1), seed = a.integer("seed", 1);
  if (shards < 1 || shards > 99) throw config_error("--shards must be 1 to 99");
  s.shards = static_cast<unsigned>(shards);
  s.seed = static_cast<uint64_t>(seed);
  s.tied = !a.flag("untied");
  if (auto t = a.get("tokenizer")) s.tokenizer_from = *t;
  const auto t0 = std::chrono::steady_clock::now();
  edgecloud::testing::write_hf_checkpoint(a.positionals()[0], s);
  std::printf("wrote %s: %s %s, %s, %u file(s), %s, %.2f s\n", a.positionals()[0].c_str(),
              s.architecture.c_str(), shape.c_str(), dtype.c_str(), s.shards,
              s.tied ? "tied" : "untied", seconds_since(t0));
  return 0;
}

const edgecloud::cli::command_registrar make_checkpoint_cmd(
    "make-checkpoint", "write a random-weight Hugging Face Qwen3/Qwen2 checkpoint (tiny or 0.6B)",
    run_make_checkpoint);
const edgecloud::cli::command_registrar convert_cmd(
    "convert", "convert a Hugging Face Qwen3/Qwen2 checkpoint to GGUF (f32, f16, bf16, q8_0)",
    run_convert);
const edgecloud::cli::command_registrar convert_lora_cmd(
    "convert-lora", "convert a PEFT LoRA adapter to a llama.cpp GGUF LoRA for a base GGUF",
    run_convert_lora);

}  // namespace
