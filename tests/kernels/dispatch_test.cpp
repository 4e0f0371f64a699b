// SPDX-License-Identifier: Apache-2.0
// Run-time dispatch: the generic table is always there, the active table is the best one the
// CPU supports, and every ISA the CPU has is actually registered (so the per-ISA tests of the
// other files really ran it, rather than silently testing only the reference).
#include <gtest/gtest.h>

#include <set>
#include <string>

#include "kernel_test_support.hpp"

using namespace edgecloud::testing;

TEST(Dispatch, GenericIsAlwaysLastAndActiveIsFirst) {
  const auto tables = k::supported_tables();
  ASSERT_FALSE(tables.empty());
  EXPECT_STREQ(tables.back()->isa, "generic");
  const char* forced = std::getenv("EDGECLOUD_ISA");
  if (!forced || !*forced) EXPECT_EQ(&k::active_table(), tables.front());
  EXPECT_STREQ(k::active_isa(), k::active_table().isa);
}

TEST(Dispatch, EveryTableIsComplete) {
  for (const auto* t : k::supported_tables()) {
    EXPECT_TRUE(t->quantize_row_q8_0 && t->dequantize_row && t->matvec && t->matmul &&
                t->rmsnorm && t->rope_neox && t->softmax && t->silu_mul && t->attention_head)
        << t->isa;
  }
}
