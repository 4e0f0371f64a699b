// SPDX-License-Identifier: Apache-2.0
// The static KV cache: layout (the stride attention reads with), F16/F32 storage, memory
// reported, capacity errors, O(1) truncate, compile-time vs run-time capacity.
#include <gtest/gtest.h>

#include <cstring>
#include <edgecloud/model/kv_cache.hpp>
#include <vector>

namespace {

using edgecloud::kernels::dtype;
using edgecloud::model::kv_cache;
using edgecloud::model::kv_shape;
using edgecloud::model::static_kv_cache;

static_assert(edgecloud::model::KvCache<kv_cache>);
static_assert(edgecloud::model::KvCache<static_kv_cache<8>>);

const kv_shape shape{3, 2, 8};  // 3 layers, 2 KV heads of 8

TEST(KvCache, ReportsBytesForTheWholeCapacity) {
  kv_cache f16(shape, 100, dtype::f16);
  EXPECT_EQ(f16.bytes(), 3u * 2 /*K,V*/ * 100 * 2 * 8 * 2 /*bytes*/);
  kv_cache f32(shape, 100, dtype::f32);
  EXPECT_EQ(f32.bytes(), 2 * f16.bytes());
  static_kv_cache<64> s(shape, dtype::f32);
  EXPECT_EQ(s.capacity(), 64u);
  EXPECT_EQ(s.bytes(), 3u * 2 * 64 * 16 * 4);
  EXPECT_THROW(static_kv_cache<64>(shape, 65, dtype::f32), edgecloud::config_error);
  EXPECT_THROW(kv_cache(shape, 0, dtype::f32), edgecloud::config_error);
  EXPECT_THROW(kv_cache(shape, 4, dtype::q8_0), edgecloud::config_error);
  EXPECT_THROW(kv_cache(kv_shape{1, 1u << 31, 1u << 31}, 1u << 31, dtype::f32),
               edgecloud::config_error);
}

TEST(KvCache, StoresRowsWhereAttentionReadsThem) {
  for (dtype t : {dtype::f32, dtype::f16}) {
    kv_cache c(shape, 10, t);
    std::vector<float> k(16), v(16);
    for (size_t layer = 0; layer < 3; ++layer)
      for (size_t pos = 0; pos < 10; ++pos) {
        for (size_t i = 0; i < 16; ++i) {
          k[i] = static_cast<float>(layer * 1000 + pos * 10 + i) * 0.25f;
          v[i] = -k[i];
        }
        c.store(layer, pos, k.data(), v.data());
      }
    for (size_t layer = 0; layer < 3; ++layer)
      for (size_t pos = 0; pos < 10; ++pos)
        for (size_t head = 0; head < 2; ++head)
          for (size_t d = 0; d < 8; ++d) {
            const size_t e = pos * c.row_elements() + head * 8 + d;
            const float want = static_cast<float>(layer * 1000 + pos * 10 + head * 8 + d) * 0.25f;
            float gk, gv;
            if (t == dtype::f32) {
              gk = static_cast<const float*>(c.k_data(layer))[e];
              gv = static_cast<const float*>(c.v_data(layer))[e];
            } else {
              gk = edgecloud::kernels::fp16_to_fp32(
                  static_cast<const uint16_t*>(c.k_data(layer))[e]);
              gv = edgecloud::kernels::fp16_to_fp32(
                  static_cast<const uint16_t*>(c.v_data(layer))[e]);
            }
            ASSERT_NEAR(gk, want, t == dtype::f32 ? 0 : want * 1e-3) << layer << " " << pos;
            ASSERT_NEAR(gv, -want, t == dtype::f32 ? 0 : want * 1e-3);
          }
  }
}

TEST(KvCache, CapacityAndTruncate) {
  kv_cache c(shape, 10, dtype::f32);
  EXPECT_EQ(c.size(), 0u);
  c.advance(7);
  EXPECT_EQ(c.size(), 7u);
  EXPECT_THROW(c.require_room(4), edgecloud::capacity_error);
  EXPECT_THROW(c.advance(4), edgecloud::capacity_error);
  EXPECT_EQ(c.size(), 7u) << "a refused advance changes nothing";
  try {
    c.require_room(4);
  } catch (const edgecloud::capacity_error& e) {
    EXPECT_NE(std::string(e.what()).find("capacity 10"), std::string::npos) << e.what();
  }
  c.truncate(3);
  EXPECT_EQ(c.size(), 3u);
  c.truncate(5);  // growing is not truncating
  EXPECT_EQ(c.size(), 3u);
  c.advance(7);
  EXPECT_EQ(c.size(), 10u);
  c.clear();
  EXPECT_EQ(c.size(), 0u);
}

}  // namespace
