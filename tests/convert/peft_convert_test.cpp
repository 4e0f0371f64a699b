// SPDX-License-Identifier: Apache-2.0
// convert/peft_convert.hpp: random PEFT adapters (testing/hf_checkpoint.hpp) converted against a
// base GGUF converted from the matching checkpoint; tensors checked one by one against the
// adapter's safetensors read here (names, GGUF dims {in, r} / {r, out}, values, types), alpha
// (lora_alpha, and lora_alpha * sqrt(r) for rsLoRA so that alpha / r = lora_alpha / sqrt(r)), and
// every refused adapter.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cmath>
#include <edgecloud/convert/peft_convert.hpp>
#include <edgecloud/model/gguf.hpp>
#include <edgecloud/model/lora.hpp>
#include <edgecloud/model/qwen3.hpp>
#include <edgecloud/model/session.hpp>
#include <edgecloud/testing/hf_checkpoint.hpp>
#include <filesystem>
#include <fstream>
#include <functional>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>

#include "model/reference_forward.hpp"

namespace fs = std::filesystem;
namespace gguf = edgecloud::gguf;
namespace conv = edgecloud::convert;
using edgecloud::testing::hf_checkpoint_spec;
using edgecloud::testing::peft_spec;

namespace {

struct fixture_dirs {
  fs::path root, base_gguf;
  hf_checkpoint_spec spec;
};

const fixture_dirs& base() {
  static const fixture_dirs d = [] {
    fixture_dirs f;
    f.root = fs::temp_directory_path() / ("ec_peft_" + std::to_string(::getpid()));
    fs::remove_all(f.root);
    edgecloud::testing::write_hf_checkpoint(f.root / "base", f.spec);
    f.base_gguf = f.root / "base.gguf";
    conv::convert_hf_to_gguf(f.root / "base", f.base_gguf);
    return f;
  }();
  return d;
}

std::string error_of(const fs::path& adapter, conv::out_type t = conv::out_type::f32) {
  try {
    conv::convert_peft_to_gguf(adapter, base().base_gguf, base().root / "bad.gguf", t);
  } catch (const edgecloud::error& e) {
    return e.what();
  }
  return "accepted";
}

// The adapter's tensors as floats, parsed here: torch [rows, cols] row-major.
std::vector<double> adapter_tensor(const fs::path& file, const std::string& name) {
  std::ifstream in(file, std::ios::binary);
  std::ostringstream ss;
  ss << in.rdbuf();
  const std::string b = ss.str();
  uint64_t n;
  std::memcpy(&n, b.data(), 8);
  const auto h = nlohmann::json::parse(b.substr(8, n))[name];
  const uint64_t s = h["data_offsets"][0], e = h["data_offsets"][1];
  std::vector<double> v;
  for (uint64_t i = s; i < e; i += 4) {
    float x;
    std::memcpy(&x, b.data() + 8 + n + i, 4);
    v.push_back(x);
  }
  return v;
}

}  // namespace

TEST(PeftConvert, TensorsNamesShapesAndAlpha) {
  const auto& b = base();
  peft_spec p;  // r 4, alpha 8, all seven projections, F32
  const fs::path dir = b.root / "adapter";
  edgecloud::testing::write_peft_adapter(dir, b.spec, p);
  const fs::path out = b.root / "lora.gguf";
  const auto r = conv::convert_peft_to_gguf(dir, b.base_gguf, out, conv::out_type::f32);
  const auto f = gguf::file::open(out);
  EXPECT_EQ(f.get_string("general.architecture"), "qwen3");
  EXPECT_EQ(f.get_string("general.type"), "adapter");
  EXPECT_EQ(f.get_string("adapter.type"), "lora");
  EXPECT_EQ(f.find("adapter.lora.alpha")->type, gguf::value_type::f32);
  EXPECT_EQ(*f.get_float("adapter.lora.alpha"), 8.0);
  EXPECT_EQ(f.tensors().size(), 2u * 7u * b.spec.layers);
  const std::vector<std::pair<std::string, std::string>> modules = {
      {"self_attn.q_proj", "attn_q"}, {"self_attn.k_proj", "attn_k"},
      {"self_attn.v_proj", "attn_v"}, {"self_attn.o_proj", "attn_output"},
      {"mlp.gate_proj", "ffn_gate"},  {"mlp.up_proj", "ffn_up"},
      {"mlp.down_proj", "ffn_down"}};
  const auto base_file = gguf::file::open(b.base_gguf);
  for (uint64_t l = 0; l < b.spec.layers; ++l)
    for (const auto& [hf, g] : modules) {
      const std::string name = "blk." + std::to_string(l) + "." + g + ".weight";
      const auto* w = base_file.find_tensor(name);
      const auto* la = f.find_tensor(name + ".lora_a");
      const auto* lb = f.find_tensor(name + ".lora_b");
      ASSERT_TRUE(w && la && lb) << name;
      EXPECT_EQ(la->dims, (std::vector<uint64_t>{w->dims[0], 4})) << name;  // {in, r}
      EXPECT_EQ(lb->dims, (std::vector<uint64_t>{4, w->dims[1]})) << name;  // {r, out}
      const std::string peft = "base_model.model.model.layers." + std::to_string(l) + "." + hf;
      EXPECT_EQ(reftest::expand(*la),
                adapter_tensor(dir / "adapter_model.safetensors", peft + ".lora_A.weight"));
      EXPECT_EQ(reftest::expand(*lb),
                adapter_tensor(dir / "adapter_model.safetensors", peft + ".lora_B.weight"));
    }
  EXPECT_EQ(r.pairs.size(), 14u);

  // q8_0: lora_a rows (in = 64 or 128 values) quantize; lora_b rows of r = 4 values fall back to
  // F16.
  conv::convert_peft_to_gguf(dir, b.base_gguf, out, conv::out_type::q8_0);
  const auto q = gguf::file::open(out);
  EXPECT_EQ(q.find_tensor("blk.0.attn_q.weight.lora_a")->type, gguf::type_q8_0);
  EXPECT_EQ(q.find_tensor("blk.0.attn_q.weight.lora_b")->type, gguf::type_f16);
  conv::convert_peft_to_gguf(dir, b.base_gguf, out, conv::out_type::f16);
  EXPECT_EQ(gguf::file::open(out).find_tensor("blk.1.ffn_down.weight.lora_a")->type,
            gguf::type_f16);
}

TEST(PeftConvert, RsLoraAlphaAndSubsets) {
  const auto& b = base();
  peft_spec p;
  p.r = 16;
  p.alpha = 8;
  p.use_rslora = true;
  p.target_modules = {"q_proj", "v_proj"};
  p.layers = {1};
  p.dtype = conv::st_dtype::bf16;
  const fs::path dir = b.root / "rslora";
  edgecloud::testing::write_peft_adapter(dir, b.spec, p);
  const fs::path out = b.root / "rslora.gguf";
  const auto r = conv::convert_peft_to_gguf(dir, b.base_gguf, out, conv::out_type::f32);
  const auto f = gguf::file::open(out);
  // PEFT's rsLoRA scale is alpha / sqrt(r) = 8 / 4 = 2; llama.cpp applies alpha_gguf / r, so
  // alpha_gguf = 2 * 16 = 32.
  EXPECT_FLOAT_EQ(static_cast<float>(*f.get_float("adapter.lora.alpha")), 32.0f);
  EXPECT_DOUBLE_EQ(r.alpha, 32.0);
  EXPECT_EQ(f.tensors().size(), 4u);
  EXPECT_NE(f.find_tensor("blk.1.attn_v.weight.lora_b"), nullptr);
  EXPECT_EQ(f.find_tensor("blk.0.attn_q.weight.lora_a"), nullptr);
  EXPECT_EQ(f.find_tensor("blk.1.attn_q.weight.lora_b")->dims, (std::vector<uint64_t>{16, 64}));
}

// The converted adapter end to end: the engine (model/lora.hpp, applied unmerged) on the F32 base
// with the adapter at scales 1 and 0.5 against the double-precision reference forward on the
// base with PEFT's merged weights W + scale * (lora_alpha / r, or / sqrt(r) for rsLoRA) * B A,
// computed here from the adapter's safetensors.
TEST(PeftConvert, EngineLogitsMatchPeftMergedWeights) {
  const auto& b = base();
  const auto model = edgecloud::model::qwen3::load(b.base_gguf);
  const reftest::ref_model plain(model.file());
  const std::vector<int32_t> tokens = {3, 140, 17, 266, 9, 200, 31};
  for (const bool rslora : {false, true}) {
    peft_spec p;
    p.r = 8;
    p.alpha = 16;
    p.use_rslora = rslora;
    const fs::path dir = b.root / (rslora ? "e2e-rs" : "e2e");
    edgecloud::testing::write_peft_adapter(dir, b.spec, p);
    const fs::path out = b.root / (rslora ? "e2e-rs.gguf" : "e2e.gguf");
    conv::convert_peft_to_gguf(dir, b.base_gguf, out, conv::out_type::f32);
    const auto adapter = edgecloud::model::lora_adapter::load(out, model);
    for (const float scale : {1.0f, 0.5f}) {
      SCOPED_TRACE(std::string(rslora ? "rslora" : "lora") + " scale " + std::to_string(scale));
      reftest::ref_model merged = plain;
      const double peft_scale =
          scale * (rslora ? p.alpha / std::sqrt(double(p.r)) : p.alpha / double(p.r));
      const fs::path st = dir / "adapter_model.safetensors";
      for (uint64_t l = 0; l < b.spec.layers; ++l) {
        auto& blk = merged.blk[l];
        const std::pair<const char*, std::vector<double>*> targets[] = {
            {"self_attn.q_proj", &blk.wq}, {"self_attn.k_proj", &blk.wk},
            {"self_attn.v_proj", &blk.wv}, {"self_attn.o_proj", &blk.wo},
            {"mlp.gate_proj", &blk.gate},  {"mlp.up_proj", &blk.up},
            {"mlp.down_proj", &blk.down}};
        for (const auto& [module, w] : targets) {
          const std::string n = "base_model.model.model.layers." + std::to_string(l) + "." + module;
          const auto A = adapter_tensor(st, n + ".lora_A.weight"),
                     B = adapter_tensor(st, n + ".lora_B.weight");
          const size_t r = p.r, in = A.size() / r, out_dim = B.size() / r;
          ASSERT_EQ(w->size(), in * out_dim);
          for (size_t o = 0; o < out_dim; ++o)
            for (size_t i = 0; i < in; ++i) {
              double d = 0;
              for (size_t k = 0; k < r; ++k) d += B[o * r + k] * A[k * in + i];
              (*w)[o * in + i] += peft_scale * d;
            }
        }
      }
      edgecloud::model::session_config sc;
      sc.context = 32;
      sc.kv_type = edgecloud::kernels::dtype::f32;
      sc.threads = 1;
      sc.logits_rows = tokens.size();
      edgecloud::model::session s(model, sc);
      s.set_adapters({{adapter, scale}});
      s.prefill(tokens, edgecloud::model::logits_mode::all);
      const auto want = merged.logits(tokens), base_logits = plain.logits(tokens);
      double worst = 0, max_ref = 0, lora_effect = 0;
      for (size_t pos = 0; pos < tokens.size(); ++pos) {
        const auto got = s.logits(pos);
        for (size_t v = 0; v < got.size(); ++v) {
          worst = std::max(worst, std::fabs(got[v] - want[pos][v]));
          max_ref = std::max(max_ref, std::fabs(want[pos][v]));
          lora_effect = std::max(lora_effect, std::fabs(want[pos][v] - base_logits[pos][v]));
        }
      }
      EXPECT_LT(worst / max_ref, 1e-4);
      EXPECT_GT(lora_effect / max_ref, 1e-2);  // the adapter matters: the check can fail
    }
  }
}

TEST(PeftConvert, RefusedAdapters) {
  const auto& b = base();
  auto make = [&](const std::string& name, peft_spec p) {
    const fs::path dir = b.root / name;
    edgecloud::testing::write_peft_adapter(dir, b.spec, p);
    return dir;
  };
  auto edit = [](const fs::path& dir, auto&& change) {
    std::ifstream in(dir / "adapter_config.json");
    auto j = nlohmann::json::parse(in);
    change(j);
    std::ofstream(dir / "adapter_config.json") << j.dump();
  };
  {
    peft_spec p;
    p.use_dora = true;
    EXPECT_NE(error_of(make("dora", p))
                  .find("adapter_config.json: use_dora = true (DoRA) is not supported"),
              std::string::npos);
  }
  {
    peft_spec p;
    p.bias = "all";
    EXPECT_NE(error_of(make("bias", p)).find("bias = \"all\" is not supported"), std::string::npos);
  }
  {
    const auto dir = make("embed", peft_spec{});
    edit(dir, [](auto& j) { j["target_modules"] = {"q_proj", "embed_tokens"}; });
    const std::string e = error_of(dir);
    EXPECT_NE(e.find("target module embed_tokens is not supported"), std::string::npos) << e;
    EXPECT_NE(e.find("embeddings or the output head"), std::string::npos) << e;
  }
  {
    const auto dir = make("save", peft_spec{});
    edit(dir, [](auto& j) { j["modules_to_save"] = {"lm_head"}; });
    EXPECT_NE(error_of(dir).find("modules_to_save"), std::string::npos) << error_of(dir);
  }
  {
    const auto dir = make("fanin", peft_spec{});
    edit(dir, [](auto& j) { j["fan_in_fan_out"] = true; });
    EXPECT_NE(error_of(dir).find("fan_in_fan_out"), std::string::npos);
  }
  {
    const auto dir = make("rank", peft_spec{});
    edit(dir, [](auto& j) { j["r"] = 8; });  // tensors have rank 4
    EXPECT_NE(error_of(dir).find("has rank 4, adapter_config.json says r = 8"), std::string::npos)
        << error_of(dir);
  }
  // Tensors that are not LoRA A/B of a decoder projection, or do not fit the base.
  auto rewrite = [&](const std::string& name,
                     const std::function<void(conv::safetensors_writer&)>& add) {
    const fs::path dir = make(name, peft_spec{});
    conv::safetensors_writer w;
    add(w);
    w.write(dir / "adapter_model.safetensors");
    return dir;
  };
  {
    const auto dir = rewrite("lmhead", [](conv::safetensors_writer& w) {
      w.add_f32("base_model.model.lm_head.lora_A.weight", conv::st_dtype::f32, {4, 64},
                std::vector<float>(256));
    });
    EXPECT_NE(error_of(dir).find("targets base_model.model.lm_head"), std::string::npos)
        << error_of(dir);
  }
  {
    const auto dir = rewrite("embeds", [](conv::safetensors_writer& w) {
      w.add_f32("base_model.model.model.embed_tokens.weight", conv::st_dtype::f32, {4},
                std::vector<float>(4));
    });
    EXPECT_NE(error_of(dir).find("is not a lora_A / lora_B weight (embeddings"), std::string::npos)
        << error_of(dir);
  }
  {
    const auto dir = rewrite("shape", [](conv::safetensors_writer& w) {
      w.add_f32("base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight",
                conv::st_dtype::f32, {4, 32}, std::vector<float>(128));
      w.add_f32("base_model.model.model.layers.0.self_attn.q_proj.lora_B.weight",
                conv::st_dtype::f32, {64, 4}, std::vector<float>(256));
    });
    EXPECT_NE(error_of(dir).find("give blk.0.attn_q.weight 64x32 (out x in), the base has 64x64"),
              std::string::npos)
        << error_of(dir);
  }
  {
    const auto dir = rewrite("layer", [](conv::safetensors_writer& w) {
      w.add_f32("base_model.model.model.layers.5.self_attn.q_proj.lora_A.weight",
                conv::st_dtype::f32, {4, 64}, std::vector<float>(256));
      w.add_f32("base_model.model.model.layers.5.self_attn.q_proj.lora_B.weight",
                conv::st_dtype::f32, {64, 4}, std::vector<float>(256));
    });
    EXPECT_NE(error_of(dir).find("is for layer 5 but the base has 2 layers"), std::string::npos)
        << error_of(dir);
  }
  {
    const auto dir = rewrite("half", [](conv::safetensors_writer& w) {
      w.add_f32("base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight",
                conv::st_dtype::f32, {4, 64}, std::vector<float>(256));
    });
    EXPECT_NE(error_of(dir).find("has no matching lora_B"), std::string::npos) << error_of(dir);
  }
  // A base that is not a model.
  {
    const fs::path dir = make("ok", peft_spec{});
    const fs::path lora = b.root / "ok.gguf";
    conv::convert_peft_to_gguf(dir, b.base_gguf, lora, conv::out_type::f32);
    try {
      conv::convert_peft_to_gguf(dir, lora, b.root / "x.gguf", conv::out_type::f32);
      ADD_FAILURE() << "an adapter accepted as base";
    } catch (const edgecloud::model_error& e) {
      EXPECT_NE(std::string(e.what()).find("is itself an adapter"), std::string::npos) << e.what();
    }
  }
  fs::remove_all(b.root);
}
