// SPDX-License-Identifier: Apache-2.0
// Random-weight Qwen3 models (gguf_random_qwen3.hpp): the tiny shape reproduces the fixture's
// directory and architecture metadata exactly; the value encodings (fp16, bf16, Q8_0) are checked
// against independent decoders and against the F32 model of the same seed; distributions match
// the README's; output is a pure function of the seed; Qwen3-0.6B has the published size.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <edgecloud/kernels.hpp>
#include <edgecloud/model/gguf.hpp>
#include <edgecloud/model/gguf_random_qwen3.hpp>
#include <string>
#include <vector>

#include "common/fixtures.hpp"

namespace gguf = edgecloud::gguf;

namespace {

// Independent decoders (plain IEEE definitions, not the bit tricks of the encoder).
float decode_fp16(uint16_t h) {
  const int sign = h >> 15, exp = (h >> 10) & 31, man = h & 1023;
  float v;
  if (exp == 0)
    v = std::ldexp(static_cast<float>(man), -24);
  else if (exp == 31)
    v = man ? NAN : INFINITY;
  else
    v = std::ldexp(static_cast<float>(1024 + man), exp - 25);
  return sign ? -v : v;
}
float decode_bf16(uint16_t b) {
  uint32_t u = uint32_t{b} << 16;
  float f;
  std::memcpy(&f, &u, 4);
  return f;
}

std::vector<std::byte> make(const gguf::qwen3_shape& s, uint32_t type, uint64_t seed,
                            unsigned threads = 0) {
  gguf::writer w;
  gguf::add_random_qwen3(w, s, type, seed, threads);
  return w.to_bytes();
}

std::vector<float> f32_values(const gguf::tensor_info& t) {
  std::vector<float> v(t.n_bytes / 4);
  std::memcpy(v.data(), t.data, t.n_bytes);
  return v;
}

void mean_std(const std::vector<float>& v, double& mean, double& sd) {
  double s = 0, s2 = 0;
  for (float x : v) s += x, s2 += double(x) * x;
  mean = s / v.size();
  sd = std::sqrt(s2 / v.size() - mean * mean);
}

}  // namespace

TEST(RandomQwen3, Fp16AndBf16Encoders) {
  using edgecloud::kernels::fp32_to_bf16;  // the encoders make-model writes with
  using edgecloud::kernels::fp32_to_fp16;
  EXPECT_EQ(fp32_to_fp16(1.0f), 0x3c00);
  EXPECT_EQ(fp32_to_fp16(-2.0f), 0xc000);
  EXPECT_EQ(fp32_to_fp16(65504.0f), 0x7bff);
  EXPECT_EQ(fp32_to_fp16(65520.0f), 0x7c00);             // rounds to infinity
  EXPECT_EQ(fp32_to_fp16(1.0f + 0x1p-11f), 0x3c00);      // tie -> even
  EXPECT_EQ(fp32_to_fp16(1.0f + 3 * 0x1p-11f), 0x3c02);  // tie -> even (up)
  EXPECT_EQ(fp32_to_fp16(0x1p-24f), 0x0001);             // smallest subnormal
  EXPECT_EQ(fp32_to_fp16(0x1p-26f), 0x0000);
  EXPECT_EQ(fp32_to_fp16(NAN) & 0x7c00, 0x7c00);
  EXPECT_EQ(fp32_to_bf16(1.0f), 0x3f80);
  EXPECT_EQ(fp32_to_bf16(1.0f + 0x1p-8f), 0x3f80);  // tie -> even
  EXPECT_EQ(fp32_to_bf16(1.0f + 3 * 0x1p-8f), 0x3f82);
  for (float x = -70000.0f; x < 70000.0f; x += 7.31f) {
    float h = decode_fp16(fp32_to_fp16(x));
    if (std::fabs(x) <= 65504.0f)
      EXPECT_LE(std::fabs(h - x), std::fabs(x) * 0x1p-11f + 0x1p-25f) << x;
    EXPECT_LE(std::fabs(decode_bf16(fp32_to_bf16(x)) - x), std::fabs(x) * 0x1p-8f) << x;
  }
}

TEST(RandomQwen3, TinyMatchesFixtureLayout) {
  EDGECLOUD_FIXTURE(path, "models/tiny-qwen3-q8_0.gguf");
  auto fixture = gguf::file::open(path);
  auto bytes = make(gguf::qwen3_shape::tiny(1024), gguf::type_q8_0, 1);
  auto made = gguf::file::from_memory(bytes);
  ASSERT_EQ(made.tensors().size(), fixture.tensors().size());
  for (size_t i = 0; i < made.tensors().size(); ++i) {
    const auto &a = made.tensors()[i], &b = fixture.tensors()[i];
    EXPECT_EQ(a.name, b.name);
    EXPECT_EQ(a.dims, b.dims) << a.name;
    EXPECT_EQ(a.type, b.type) << a.name;
    EXPECT_EQ(a.offset, b.offset) << a.name;
  }
  for (const auto& [key, value] : fixture.metadata()) {
    if (key.rfind("qwen3.", 0) != 0 && key.rfind("general.", 0) != 0) continue;
    if (key == "general.name") continue;
    const auto* mine = made.find(key);
    ASSERT_NE(mine, nullptr) << key;
    EXPECT_EQ(mine->type, value.type) << key;
    EXPECT_EQ(std::memcmp(mine->payload.data(), value.payload.data(), value.payload.size()), 0)
        << key;
  }
}

TEST(RandomQwen3, EncodingsAgreeWithF32OfSameSeed) {
  auto shape = gguf::qwen3_shape::tiny(256);
  auto f32b = make(shape, gguf::type_f32, 42), f16b = make(shape, gguf::type_f16, 42),
       bf16b = make(shape, gguf::type_bf16, 42), q8b = make(shape, gguf::type_q8_0, 42);
  auto f32 = gguf::file::from_memory(f32b), f16 = gguf::file::from_memory(f16b),
       bf16 = gguf::file::from_memory(bf16b), q8 = gguf::file::from_memory(q8b);
  EXPECT_EQ(f32.get_uint("general.file_type"), 0u);
  EXPECT_EQ(f16.get_uint("general.file_type"), 1u);
  EXPECT_EQ(q8.get_uint("general.file_type"), 7u);
  EXPECT_EQ(bf16.get_uint("general.file_type"), 32u);
  for (const auto& t : f32.tensors()) {
    SCOPED_TRACE(t.name);
    auto ref = f32_values(t);
    if (t.dims.size() == 1) {  // norms stay F32 in every variant, same values
      EXPECT_EQ(std::memcmp(q8.find_tensor(t.name)->data, t.data, t.n_bytes), 0);
      continue;
    }
    const auto& h = *f16.find_tensor(t.name);
    const auto& b = *bf16.find_tensor(t.name);
    const auto& q = *q8.find_tensor(t.name);
    ASSERT_EQ(h.type, gguf::type_f16);
    ASSERT_EQ(q.type, gguf::type_q8_0);
    for (size_t i = 0; i < ref.size(); ++i) {
      uint16_t hv, bv;
      std::memcpy(&hv, h.data + 2 * i, 2);
      std::memcpy(&bv, b.data + 2 * i, 2);
      ASSERT_LE(std::fabs(decode_fp16(hv) - ref[i]), std::fabs(ref[i]) * 0x1p-11f + 0x1p-25f);
      ASSERT_LE(std::fabs(decode_bf16(bv) - ref[i]), std::fabs(ref[i]) * 0x1p-8f);
    }
    // Q8_0 block: fp16 d then 32 int8; d ~ max|x|/127 and |x - q*d| <= d/2 (+ d's fp16 rounding).
    for (size_t blk = 0; blk < ref.size() / 32; ++blk) {
      const std::byte* p = q.data + 34 * blk;
      uint16_t dh;
      std::memcpy(&dh, p, 2);
      const float d = decode_fp16(dh);
      float amax = 0;
      for (int i = 0; i < 32; ++i) amax = std::max(amax, std::fabs(ref[32 * blk + i]));
      ASSERT_NEAR(d, amax / 127, amax / 127 * 0x1p-10f);
      for (int i = 0; i < 32; ++i) {
        const float x = ref[32 * blk + i];
        const float deq = d * static_cast<float>(static_cast<int8_t>(p[2 + i]));
        ASSERT_LE(std::fabs(deq - x), 0.6f * d) << blk << " " << i;
      }
    }
  }
}

TEST(RandomQwen3, DistributionsLikeTheFixtures) {
  auto bytes = make(gguf::qwen3_shape::tiny(2048), gguf::type_f32, 7);
  auto f = gguf::file::from_memory(bytes);
  double m, sd;
  mean_std(f32_values(*f.find_tensor("token_embd.weight")), m, sd);
  EXPECT_NEAR(m, 0.0, 0.01);
  EXPECT_NEAR(sd, 1.0, 0.01);
  mean_std(f32_values(*f.find_tensor("blk.1.ffn_down.weight")), m, sd);
  EXPECT_NEAR(m, 0.0, 0.002);
  EXPECT_NEAR(sd, 0.05, 0.002);
  std::vector<float> norms;
  for (const auto& t : f.tensors())
    if (t.dims.size() == 1) {
      auto v = f32_values(t);
      norms.insert(norms.end(), v.begin(), v.end());
    }
  mean_std(norms, m, sd);
  EXPECT_NEAR(m, 1.0, 0.02);
  EXPECT_NEAR(sd, 0.1, 0.02);
}

TEST(RandomQwen3, DeterministicPerSeed) {
  auto s = gguf::qwen3_shape::tiny(512);
  auto a = make(s, gguf::type_q8_0, 5), b = make(s, gguf::type_q8_0, 5),
       c = make(s, gguf::type_q8_0, 6);
  EXPECT_EQ(a, b);
  // Blocks are seeded by index: the thread count does not change a byte.
  EXPECT_EQ(make(s, gguf::type_q8_0, 5, 1), a);
  EXPECT_EQ(make(s, gguf::type_q8_0, 5, 3), a);
  ASSERT_EQ(a.size(), c.size());
  EXPECT_NE(a, c);
}

TEST(RandomQwen3, Qwen3_0_6BShapeAndSize) {
  gguf::writer w;
  auto s = gguf::qwen3_shape::qwen3_0_6b();
  gguf::add_random_qwen3(w, s, gguf::type_q8_0, 1);
  EXPECT_EQ(w.n_tensors(), 2u + 28 * 11);
  // 596,049,920 parameters (Qwen3-0.6B with tied embeddings); Q8_0 stores 34 bytes per 32.
  const uint64_t matrices =
      1024ull * 151936 + 28ull * (1024 * 2048 + 2 * 1024 * 1024 + 2048 * 1024 + 3 * 1024 * 3072);
  const uint64_t norms = 1024 + 28ull * (2 * 1024 + 2 * 128);
  EXPECT_EQ(matrices + norms, 596049920ull);
  const uint64_t size = w.file_size();
  EXPECT_GT(size, matrices / 32 * 34 + norms * 4);
  EXPECT_LT(size, matrices / 32 * 34 + norms * 4 + 64 * 1024);  // header + padding
  EXPECT_THROW(gguf::add_random_qwen3(w, s, 12 /* Q4_K */, 1), edgecloud::config_error);
}
