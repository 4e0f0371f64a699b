// SPDX-License-Identifier: Apache-2.0
// convert/hf_convert.hpp: random Hugging Face checkpoints (testing/hf_checkpoint.hpp) converted
// and checked against references that share nothing with the converter:
//  (a) metadata and tensors against the checkpoint parsed by a minimal safetensors reader here;
//  (b) the engine's logits on the converted file against tests/model/reference_forward.hpp run
//      in double precision on the HF tensors (f32 within 1e-4 of max |logit|, q8_0 within 2e-2);
//  (c) Q8_0 bytes against a scalar implementation of ggml's quantize_row_q8_0_ref written here;
//  (d) the real Qwen3 tokenizer converted as the fixture GGUF holds it;
//  (e) bad checkpoints refused with errors naming the file and the problem.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cmath>
#include <cstring>
#include <edgecloud/convert/hf_convert.hpp>
#include <edgecloud/model/gguf.hpp>
#include <edgecloud/model/qwen3.hpp>
#include <edgecloud/model/session.hpp>
#include <edgecloud/testing/hf_checkpoint.hpp>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

#include "common/fixtures.hpp"
#include "model/reference_forward.hpp"

namespace fs = std::filesystem;
namespace gguf = edgecloud::gguf;
namespace conv = edgecloud::convert;
using edgecloud::testing::hf_checkpoint_spec;

namespace {

fs::path temp_dir(const std::string& name) {
  fs::path d = fs::temp_directory_path() / ("ec_conv_" + name + "_" + std::to_string(::getpid()));
  fs::remove_all(d);
  fs::create_directories(d);
  return d;
}

std::string slurp(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// The test's own safetensors reading: header JSON, then each tensor's bytes as doubles.
struct hf_tensor {
  std::vector<uint64_t> shape;
  std::string dtype;
  std::string bytes;
  std::vector<double> values;
};
std::map<std::string, hf_tensor> read_checkpoint(const fs::path& dir) {
  std::vector<fs::path> files;
  for (const auto& e : fs::directory_iterator(dir))
    if (e.path().extension() == ".safetensors") files.push_back(e.path());
  std::map<std::string, hf_tensor> out;
  for (const auto& f : files) {
    const std::string b = slurp(f);
    uint64_t n;
    std::memcpy(&n, b.data(), 8);
    const auto h = nlohmann::json::parse(b.substr(8, n));
    for (auto it = h.begin(); it != h.end(); ++it) {
      if (it.key() == "__metadata__") continue;
      hf_tensor t;
      t.shape = it.value()["shape"].get<std::vector<uint64_t>>();
      t.dtype = it.value()["dtype"];
      const uint64_t s = it.value()["data_offsets"][0], e = it.value()["data_offsets"][1];
      t.bytes = b.substr(8 + n + s, e - s);
      const size_t es = t.dtype == "F32" ? 4 : 2;
      for (size_t i = 0; i < t.bytes.size() / es; ++i) {
        if (es == 4) {
          float x;
          std::memcpy(&x, t.bytes.data() + 4 * i, 4);
          t.values.push_back(x);
        } else {
          uint16_t x;
          std::memcpy(&x, t.bytes.data() + 2 * i, 2);
          t.values.push_back(t.dtype == "BF16" ? reftest::bf16_to_double(x)
                                               : reftest::half_to_double(x));
        }
      }
      out[it.key()] = std::move(t);
    }
  }
  return out;
}

// ggml's quantize_row_q8_0_ref, written from its definition: per block of 32, amax = max |x|,
// d = amax / 127, id = d ? 1/d : 0, stored d as IEEE half (round to nearest even, via the
// compiler's _Float16), q = roundf(x * id).
std::string ggml_q8_0(const std::vector<float>& x) {
  std::string out;
  for (size_t b = 0; b < x.size() / 32; ++b) {
    float amax = 0;
    for (int j = 0; j < 32; ++j) amax = std::max(amax, std::fabs(x[b * 32 + j]));
    const float d = amax / 127.0f;
    const float id = d != 0.0f ? 1.0f / d : 0.0f;
    const _Float16 h = static_cast<_Float16>(d);
    out.append(reinterpret_cast<const char*>(&h), 2);
    for (int j = 0; j < 32; ++j)
      out.push_back(static_cast<char>(static_cast<int8_t>(std::roundf(x[b * 32 + j] * id))));
  }
  return out;
}

std::string gguf_bytes(const gguf::tensor_info& t) {
  return std::string(reinterpret_cast<const char*>(t.data), t.n_bytes);
}

struct converted {
  fs::path dir, out;
  conv::convert_result result;
};
converted convert(const std::string& tag, const hf_checkpoint_spec& spec, conv::out_type t,
                  bool measure = false) {
  converted c;
  c.dir = temp_dir(tag);
  edgecloud::testing::write_hf_checkpoint(c.dir / "ckpt", spec);
  c.out = c.dir / "out.gguf";
  conv::convert_options opt;
  opt.type = t;
  opt.measure_error = measure;
  c.result = conv::convert_hf_to_gguf(c.dir / "ckpt", c.out, opt);
  return c;
}

// reference_forward's model filled from the HF tensors.
reftest::ref_model reference_from_hf(const std::map<std::string, hf_tensor>& t,
                                     const hf_checkpoint_spec& s) {
  reftest::ref_model m;
  m.vocab = s.vocab, m.embd = s.hidden, m.layers = s.layers, m.ff = s.ffn, m.heads = s.heads;
  m.kv_heads = s.kv_heads, m.head_dim = s.head_dim, m.base = s.rope_theta, m.eps = s.rms_eps;
  m.qwen2 = s.qwen2();
  auto v = [&](const std::string& n) { return t.at(n).values; };
  m.token_embd = v("model.embed_tokens.weight");
  m.output = s.tied ? m.token_embd : v("lm_head.weight");
  m.output_norm = v("model.norm.weight");
  m.blk.resize(s.layers);
  for (size_t l = 0; l < s.layers; ++l) {
    const std::string p = "model.layers." + std::to_string(l) + ".";
    auto& b = m.blk[l];
    b.attn_norm = v(p + "input_layernorm.weight");
    b.wq = v(p + "self_attn.q_proj.weight");
    b.wk = v(p + "self_attn.k_proj.weight");
    b.wv = v(p + "self_attn.v_proj.weight");
    b.wo = v(p + "self_attn.o_proj.weight");
    if (s.qwen2()) {
      b.bq = v(p + "self_attn.q_proj.bias");
      b.bk = v(p + "self_attn.k_proj.bias");
      b.bv = v(p + "self_attn.v_proj.bias");
    } else {
      b.q_norm = v(p + "self_attn.q_norm.weight");
      b.k_norm = v(p + "self_attn.k_norm.weight");
    }
    b.ffn_norm = v(p + "post_attention_layernorm.weight");
    b.gate = v(p + "mlp.gate_proj.weight");
    b.up = v(p + "mlp.up_proj.weight");
    b.down = v(p + "mlp.down_proj.weight");
  }
  return m;
}

// max over positions and vocabulary of |engine - reference| / max |reference|.
double engine_vs_reference(const fs::path& gguf_path, const reftest::ref_model& ref,
                           const std::vector<int32_t>& tokens) {
  const auto model = edgecloud::model::qwen3::load(gguf_path);
  edgecloud::model::session_config sc;
  sc.context = 64;
  sc.kv_type = edgecloud::kernels::dtype::f32;
  sc.threads = 1;
  sc.logits_rows = tokens.size();
  edgecloud::model::session s(model, sc);
  s.prefill(tokens, edgecloud::model::logits_mode::all);
  const auto want = ref.logits(tokens);
  double worst = 0, scale = 0;
  for (const auto& row : want)
    for (double x : row) scale = std::max(scale, std::fabs(x));
  for (size_t p = 0; p < tokens.size(); ++p) {
    const auto got = s.logits(p);
    for (size_t v = 0; v < got.size(); ++v) worst = std::max(worst, std::fabs(got[v] - want[p][v]));
  }
  return worst / scale;
}

const std::vector<int32_t> prompt = {1, 17, 300, 42, 99, 5, 260, 7, 7, 128, 64, 3};

}  // namespace

TEST(HfConvert, TiedQwen3F32MetadataTensorsAndTokenizer) {
  hf_checkpoint_spec spec;  // Qwen3, BF16, tied, one file, synthetic tokenizer
  auto c = convert("tied", spec, conv::out_type::f32);
  const auto f = gguf::file::open(c.out);
  EXPECT_EQ(f.get_string("general.architecture"), "qwen3");
  EXPECT_EQ(f.get_string("general.type"), "model");
  EXPECT_EQ(f.get_string("general.name"), "ckpt");
  EXPECT_EQ(f.get_uint("general.file_type"), 0u);
  EXPECT_EQ(f.get_uint("general.quantization_version"), 2u);
  EXPECT_EQ(f.get_uint("qwen3.block_count"), 2u);
  EXPECT_EQ(f.get_uint("qwen3.context_length"), 4096u);
  EXPECT_EQ(f.get_uint("qwen3.embedding_length"), 64u);
  EXPECT_EQ(f.get_uint("qwen3.feed_forward_length"), 128u);
  EXPECT_EQ(f.get_uint("qwen3.attention.head_count"), 4u);
  EXPECT_EQ(f.get_uint("qwen3.attention.head_count_kv"), 2u);
  EXPECT_EQ(f.get_uint("qwen3.attention.key_length"), 16u);
  EXPECT_EQ(f.get_uint("qwen3.attention.value_length"), 16u);
  EXPECT_EQ(f.find("qwen3.rope.freq_base")->type, gguf::value_type::f32);
  EXPECT_FLOAT_EQ(static_cast<float>(*f.get_float("qwen3.rope.freq_base")), 1e6f);
  EXPECT_FLOAT_EQ(static_cast<float>(*f.get_float("qwen3.attention.layer_norm_rms_epsilon")),
                  1e-6f);

  // Tokenizer: 256 bytes + 10 merged tokens + 6 added = 272 tokens, padded to 320.
  const auto tokens = f.get_string_array("tokenizer.ggml.tokens");
  const auto types = f.get_int_array("tokenizer.ggml.token_type");
  ASSERT_EQ(tokens.size(), 320u);
  ASSERT_EQ(types.size(), 320u);
  EXPECT_EQ(f.get_string("tokenizer.ggml.model"), "gpt2");
  EXPECT_EQ(f.get_string("tokenizer.ggml.pre"), "qwen2");
  EXPECT_EQ(tokens[0], "!");  // byte-level alphabet order
  EXPECT_EQ(tokens[266], "<|endoftext|>");
  EXPECT_EQ(types[266], 3);  // special: control
  EXPECT_EQ(tokens[269], "<think>");
  EXPECT_EQ(types[269], 4);  // not special, plain name: user-defined
  EXPECT_EQ(tokens[271], "<|fim_prefix|>");
  EXPECT_EQ(types[271], 3);  // not special but <|...|>: llama.cpp makes it control
  EXPECT_EQ(tokens[272], "[PAD272]");
  EXPECT_EQ(types[272], 5);  // padding: unused
  EXPECT_EQ(tokens[319], "[PAD319]");
  EXPECT_EQ(types[100], 1);
  EXPECT_EQ(f.get_string_array("tokenizer.ggml.merges").size(), 10u);
  EXPECT_EQ(f.get_string_array("tokenizer.ggml.merges")[2], "\xc4\xa0t he");
  EXPECT_EQ(f.get_uint("tokenizer.ggml.eos_token_id"), 268u);      // tokenizer_config <|im_end|>
  EXPECT_EQ(f.get_uint("tokenizer.ggml.padding_token_id"), 266u);  // <|endoftext|>
  EXPECT_EQ(f.get_uint("tokenizer.ggml.bos_token_id"), 266u);      // config.json bos_token_id
  EXPECT_EQ(f.find("tokenizer.ggml.add_bos_token")->type, gguf::value_type::boolean);
  EXPECT_EQ(f.get_string("tokenizer.chat_template"), edgecloud::text::qwen3_chat_template);

  // Tensors: every HF tensor under its llama.cpp name, dims reversed, values exact (BF16 -> F32).
  const auto hf = read_checkpoint(c.dir / "ckpt");
  const std::map<std::string, std::string> names = {
      {"model.embed_tokens.weight", "token_embd.weight"},
      {"model.norm.weight", "output_norm.weight"},
      {"model.layers.1.input_layernorm.weight", "blk.1.attn_norm.weight"},
      {"model.layers.1.self_attn.q_proj.weight", "blk.1.attn_q.weight"},
      {"model.layers.1.self_attn.k_proj.weight", "blk.1.attn_k.weight"},
      {"model.layers.1.self_attn.v_proj.weight", "blk.1.attn_v.weight"},
      {"model.layers.1.self_attn.o_proj.weight", "blk.1.attn_output.weight"},
      {"model.layers.1.self_attn.q_norm.weight", "blk.1.attn_q_norm.weight"},
      {"model.layers.1.self_attn.k_norm.weight", "blk.1.attn_k_norm.weight"},
      {"model.layers.1.post_attention_layernorm.weight", "blk.1.ffn_norm.weight"},
      {"model.layers.1.mlp.gate_proj.weight", "blk.1.ffn_gate.weight"},
      {"model.layers.1.mlp.up_proj.weight", "blk.1.ffn_up.weight"},
      {"model.layers.1.mlp.down_proj.weight", "blk.1.ffn_down.weight"}};
  EXPECT_EQ(f.tensors().size(), hf.size());
  EXPECT_EQ(f.find_tensor("output.weight"), nullptr);  // tied
  for (const auto& [hf_name, g_name] : names) {
    const auto* t = f.find_tensor(g_name);
    ASSERT_NE(t, nullptr) << g_name;
    const auto& h = hf.at(hf_name);
    EXPECT_EQ(t->type, gguf::type_f32) << g_name;
    EXPECT_EQ(t->dims, std::vector<uint64_t>(h.shape.rbegin(), h.shape.rend())) << g_name;
    EXPECT_EQ(reftest::expand(*t), h.values) << g_name;
  }
  // (b) The engine on the F32 file against the double-precision forward on the HF tensors.
  EXPECT_LT(engine_vs_reference(c.out, reference_from_hf(hf, spec), prompt), 1e-4);
  fs::remove_all(c.dir);
}

TEST(HfConvert, UntiedShardedQwen3EachOuttype) {
  hf_checkpoint_spec spec;
  spec.tied = false;
  spec.shards = 2;
  spec.seed = 3;
  const fs::path tmp = temp_dir("sharded");
  edgecloud::testing::write_hf_checkpoint(tmp / "ckpt", spec);
  ASSERT_TRUE(fs::exists(tmp / "ckpt" / "model-00002-of-00002.safetensors"));
  const auto hf = read_checkpoint(tmp / "ckpt");
  const auto ref = reference_from_hf(hf, spec);
  struct expectation {
    conv::out_type type;
    uint32_t ggml, ftype;
    double logits_tolerance;
  };
  for (const auto& e : {expectation{conv::out_type::f32, gguf::type_f32, 0, 1e-4},
                        expectation{conv::out_type::bf16, gguf::type_bf16, 32, 1e-4},
                        expectation{conv::out_type::f16, gguf::type_f16, 1, 2e-3},
                        expectation{conv::out_type::q8_0, gguf::type_q8_0, 7, 2e-2}}) {
    conv::convert_options opt;
    opt.type = e.type;
    opt.measure_error = true;
    const auto out = tmp / "out.gguf";
    const auto r = conv::convert_hf_to_gguf(tmp / "ckpt", out, opt);
    const auto f = gguf::file::open(out);
    SCOPED_TRACE(gguf::ggml_type_name(e.ggml));
    EXPECT_EQ(f.get_uint("general.file_type"), e.ftype);
    ASSERT_NE(f.find_tensor("output.weight"), nullptr);
    EXPECT_EQ(f.find_tensor("blk.0.attn_norm.weight")->type, gguf::type_f32);  // norms stay F32
    EXPECT_EQ(f.find_tensor("blk.0.attn_q_norm.weight")->type, gguf::type_f32);
    for (const char* name : {"token_embd.weight", "output.weight", "blk.1.ffn_down.weight"})
      EXPECT_EQ(f.find_tensor(name)->type, e.ggml) << name;
    const std::map<std::string, std::string> matrices = {
        {"lm_head.weight", "output.weight"},
        {"model.layers.0.mlp.down_proj.weight", "blk.0.ffn_down.weight"},
        {"model.layers.1.self_attn.k_proj.weight", "blk.1.attn_k.weight"}};
    for (const auto& [hf_name, g_name] : matrices) {
      const auto& h = hf.at(hf_name);
      const auto& t = *f.find_tensor(g_name);
      std::vector<float> x(h.values.begin(), h.values.end());
      if (e.ggml == gguf::type_bf16) {
        EXPECT_EQ(gguf_bytes(t), h.bytes) << g_name;  // BF16 -> BF16 is a copy
      } else if (e.ggml == gguf::type_q8_0) {
        EXPECT_EQ(gguf_bytes(t), ggml_q8_0(x)) << g_name;  // (c)
      } else if (e.ggml == gguf::type_f16) {
        const auto back = reftest::expand(t);
        for (size_t i = 0; i < x.size(); ++i)  // nearest half: within half an ulp (2^-11 relative)
          ASSERT_LE(std::fabs(back[i] - x[i]), std::fabs(x[i]) * 0x1p-11 + 0x1p-25)
              << g_name << " " << i;
      } else {
        EXPECT_EQ(reftest::expand(t), h.values) << g_name;
      }
    }
    // Per-tensor error: zero where exact, the Q8_0 rounding bound where quantized (|err| <= d/2
    // with d = amax/127 per block, so <= max|x|/254 over the tensor).
    ASSERT_EQ(r.errors.size(), f.tensors().size());
    for (const auto& err : r.errors) {
      if (err.type == "F32" || err.type == "BF16") {
        EXPECT_EQ(err.max_abs, 0.0) << err.name;
      } else if (err.type == "Q8_0") {
        EXPECT_GT(err.max_abs, 0.0) << err.name;
        EXPECT_LT(err.rel_rms, 0.02) << err.name;
      } else {  // F16 from BF16: exact but for values below F16's normal range
        EXPECT_LT(err.rel_rms, 1e-3) << err.name;
      }
    }
    EXPECT_LT(engine_vs_reference(out, ref, prompt), e.logits_tolerance);
  }
  fs::remove_all(tmp);
}

TEST(HfConvert, Qwen2WithBiases) {
  hf_checkpoint_spec spec;
  spec.architecture = "Qwen2ForCausalLM";
  spec.dtype = conv::st_dtype::f16;
  spec.rope_theta = 1e4;
  spec.tied = false;
  auto c = convert("qwen2", spec, conv::out_type::f32);
  const auto f = gguf::file::open(c.out);
  EXPECT_EQ(f.get_string("general.architecture"), "qwen2");
  EXPECT_EQ(f.get_uint("qwen2.attention.key_length"), 16u);  // hidden / heads without head_dim
  EXPECT_EQ(f.find_tensor("blk.0.attn_q_norm.weight"), nullptr);
  const auto hf = read_checkpoint(c.dir / "ckpt");
  for (const char* b : {"q", "k", "v"}) {
    const auto* t = f.find_tensor(std::string("blk.1.attn_") + b + ".bias");
    ASSERT_NE(t, nullptr) << b;
    EXPECT_EQ(t->type, gguf::type_f32);
    EXPECT_EQ(reftest::expand(*t),
              hf.at(std::string("model.layers.1.self_attn.") + b + "_proj.bias").values);
  }
  EXPECT_LT(engine_vs_reference(c.out, reference_from_hf(hf, spec), prompt), 1e-4);
  fs::remove_all(c.dir);
}

// (d) The real Qwen3 tokenizer: the same tokens, merges, special ids and template as the fixture
// GGUF. Token types differ from the fixture (written by an older converter) exactly where
// llama.cpp's converter changed: [PAD] padding is now UNUSED (5) instead of USER_DEFINED (4), and
// added tokens that look special (<|fim_prefix|>, <|repo_name|>, ...) are CONTROL (3).
TEST(HfConvert, RealTokenizerMatchesFixtureGguf) {
  EDGECLOUD_FIXTURE(tokenizer, "tokenizer/tokenizer.json");
  EDGECLOUD_FIXTURE(fixture, "models/tiny-qwen3-fullvocab-q8_0.gguf");
  hf_checkpoint_spec spec;
  spec.vocab = 151936;
  spec.layers = 1;
  spec.tokenizer_from = fs::path(tokenizer).parent_path();
  auto c = convert("tok", spec, conv::out_type::q8_0);
  const auto mine = gguf::file::open(c.out);
  const auto ref = gguf::file::open(fixture);
  const auto a = mine.get_string_array("tokenizer.ggml.tokens"),
             b = ref.get_string_array("tokenizer.ggml.tokens");
  ASSERT_EQ(a.size(), b.size());
  for (size_t i = 0; i < a.size(); ++i) ASSERT_EQ(a[i], b[i]) << i;
  EXPECT_EQ(mine.get_string_array("tokenizer.ggml.merges"),
            ref.get_string_array("tokenizer.ggml.merges"));
  for (const char* key : {"tokenizer.ggml.eos_token_id", "tokenizer.ggml.padding_token_id",
                          "tokenizer.ggml.bos_token_id"})
    EXPECT_EQ(mine.get_uint(key), ref.get_uint(key)) << key;
  EXPECT_EQ(mine.get_string("tokenizer.chat_template"), ref.get_string("tokenizer.chat_template"));
  EXPECT_EQ(mine.get_string("tokenizer.ggml.pre"), ref.get_string("tokenizer.ggml.pre"));
  const auto ta = mine.get_int_array("tokenizer.ggml.token_type"),
             tb = ref.get_int_array("tokenizer.ggml.token_type");
  ASSERT_EQ(ta.size(), tb.size());
  size_t pad = 0, looks_special = 0;
  for (size_t i = 0; i < ta.size(); ++i) {
    if (ta[i] == tb[i]) continue;
    const std::string t(a[i]);
    if (t.starts_with("[PAD") && ta[i] == 5 && tb[i] == 4) {
      ++pad;
    } else if (t.starts_with("<|") && t.ends_with("|>") && ta[i] == 3 && tb[i] == 4) {
      ++looks_special;
    } else {
      ADD_FAILURE() << "token " << i << " " << t << ": type " << ta[i] << ", fixture " << tb[i];
    }
  }
  EXPECT_EQ(pad, 151936u - 151669u);
  EXPECT_EQ(
      looks_special,
      6u);  // <|fim_prefix|> <|fim_middle|> <|fim_suffix|> <|fim_pad|> <|repo_name|> <|file_sep|>
  fs::remove_all(c.dir);
}

// (e) Refusals: each names the file and what is wrong.
TEST(HfConvert, BadCheckpointsAreRefused) {
  const fs::path tmp = temp_dir("bad");
  const fs::path ck = tmp / "ckpt";
  hf_checkpoint_spec spec;
  auto fresh = [&](const hf_checkpoint_spec& s) {
    fs::remove_all(ck);
    edgecloud::testing::write_hf_checkpoint(ck, s);
  };
  auto error_of = [&]() -> std::string {
    try {
      conv::convert_hf_to_gguf(ck, tmp / "out.gguf");
    } catch (const edgecloud::error& e) {
      return e.what();
    }
    return "accepted";
  };
  auto edit_config = [&](auto&& change) {
    auto j = nlohmann::json::parse(slurp(ck / "config.json"));
    change(j);
    std::ofstream(ck / "config.json") << j.dump();
  };
  fresh(spec);
  ASSERT_EQ(error_of(), "accepted");
  fs::remove(tmp / "out.gguf");
  edit_config([](auto& j) { j["architectures"] = {"LlamaForCausalLM"}; });
  EXPECT_NE(error_of().find("config.json: architecture LlamaForCausalLM is not supported"),
            std::string::npos)
      << error_of();
  fresh(spec);
  edit_config([](auto& j) { j["rope_scaling"] = {{"type", "yarn"}, {"factor", 4.0}}; });
  EXPECT_NE(error_of().find("config.json: rope_scaling"), std::string::npos) << error_of();
  fresh(spec);
  edit_config([](auto& j) { j["vocab_size"] = 200; });  // the tokenizer has 272 tokens
  EXPECT_NE(
      error_of().find("embed_tokens.weight has shape [320, 64], config.json implies [200, 64]"),
      std::string::npos)
      << error_of();
  {
    auto s = spec;
    s.vocab = 256;  // embeddings agree with config.json, the tokenizer does not fit
    fresh(s);
    EXPECT_NE(
        error_of().find(
            "tokenizer.json: the tokenizer has 272 tokens but config.json's vocab_size is 256"),
        std::string::npos)
        << error_of();
  }
  fresh(spec);
  edit_config([](auto& j) { j["num_hidden_layers"] = 3; });
  EXPECT_NE(error_of().find("missing tensor model.layers.2.input_layernorm.weight"),
            std::string::npos)
      << error_of();
  fresh(spec);
  edit_config([](auto& j) { j["num_hidden_layers"] = 1; });
  EXPECT_NE(error_of().find("tensor model.layers.1."), std::string::npos) << error_of();
  fresh(spec);
  edit_config([](auto& j) { j["tie_word_embeddings"] = false; });
  EXPECT_NE(error_of().find("missing tensor lm_head.weight"), std::string::npos) << error_of();
  fresh(spec);
  edit_config([](auto& j) { j["head_dim"] = 32; });
  EXPECT_NE(error_of().find("q_proj.weight has shape [64, 64], config.json implies [128, 64]"),
            std::string::npos)
      << error_of();
  fresh(spec);
  fs::remove(ck / "tokenizer.json");
  EXPECT_NE(error_of().find("no tokenizer.json"), std::string::npos) << error_of();
  // A tensor the architecture does not have.
  {
    fresh(spec);
    edgecloud::convert::safetensors_writer w;
    auto cp = edgecloud::convert::checkpoint::open_dir(ck);
    for (const auto& n : cp.names()) {
      const auto& t = cp.get(n);
      w.add(n, t.dtype, t.shape, {t.data, static_cast<size_t>(t.n_bytes())});
    }
    w.add_f32("model.layers.0.mlp.extra_proj.weight", conv::st_dtype::f32, {1},
              std::vector<float>{1});
    w.write(tmp / "new.safetensors");
    fs::rename(tmp / "new.safetensors", ck / "model.safetensors");
    EXPECT_NE(error_of().find("tensor model.layers.0.mlp.extra_proj.weight has no GGUF name"),
              std::string::npos)
        << error_of();
  }
  // A header that lies reaches the user as the reader's error.
  {
    fresh(spec);
    std::string b = slurp(ck / "model.safetensors");
    b.resize(b.size() - 10);
    std::ofstream(ck / "model.safetensors", std::ios::binary) << b;
    EXPECT_NE(error_of().find("model.safetensors: tensor"), std::string::npos) << error_of();
  }
  EXPECT_FALSE(fs::exists(tmp / "out.gguf"));  // nothing written on failure
  fs::remove_all(tmp);
}

TEST(HfConvert, SizeLabelAsLlamaCpp) {
  EXPECT_EQ(conv::size_label(596'049'920), "596M");
  EXPECT_EQ(conv::size_label(1'543'714'304), "1.5B");
  EXPECT_EQ(conv::size_label(7'615'616'512), "7.6B");
  EXPECT_EQ(conv::size_label(40'000), "40K");
}
