// SPDX-License-Identifier: Apache-2.0
// No allocation in the token loop: this binary replaces the global operator new with a counting
// one and asserts that decode_step, prefill and truncate allocate nothing once the session
// exists, and that generate allocates only its (reserved) result vector -- also with two LoRA
// adapters active (the scratch is sized by set_adapters, outside the token loop).
#include <gtest/gtest.h>

#include <atomic>
#include <cstdlib>
#include <edgecloud/model/qwen3.hpp>
#include <edgecloud/model/session.hpp>
#include <edgecloud/testing/lora_gguf.hpp>
#include <new>
#include <vector>

#include "common/fixtures.hpp"

namespace {
std::atomic<long> g_allocations{0};
}

void* operator new(std::size_t n) {
  g_allocations.fetch_add(1, std::memory_order_relaxed);
  if (void* p = std::malloc(n ? n : 1)) return p;
  throw std::bad_alloc();
}
void* operator new[](std::size_t n) {
  g_allocations.fetch_add(1, std::memory_order_relaxed);
  if (void* p = std::malloc(n ? n : 1)) return p;
  throw std::bad_alloc();
}
void operator delete(void* p) noexcept {
  std::free(p);
}
void operator delete[](void* p) noexcept {
  std::free(p);
}
void operator delete(void* p, std::size_t) noexcept {
  std::free(p);
}
void operator delete[](void* p, std::size_t) noexcept {
  std::free(p);
}

namespace {

TEST(SessionAllocation, TokenLoopAllocatesNothing) {
  for (const char* rel : {"models/tiny-qwen3-q8_0.gguf", "models/tiny-qwen3-f16.gguf"})
    for (bool lora : {false, true}) {
      EDGECLOUD_FIXTURE(path, rel);
      const auto model = edgecloud::model::qwen3::load(path);
      edgecloud::model::session_config cfg;
      cfg.context = 128;
      cfg.threads = 2;
      cfg.logits_rows = 64;
      edgecloud::model::session s(model, cfg);
      if (lora) {
        namespace t = edgecloud::testing;
        const auto d = edgecloud::kernels::dtype::q8_0;
        s.set_adapters(
            {{edgecloud::model::lora_adapter::from_memory(
                  t::random_lora_bytes(model.config(), {.rank = 32, .a_type = d, .b_type = d}),
                  model),
              1.0f},
             {edgecloud::model::lora_adapter::from_memory(
                  t::random_lora_bytes(model.config(), {.rank = 8, .seed = 2}), model),
              0.5f}});
      }
      std::vector<int32_t> prompt(40);
      for (size_t i = 0; i < prompt.size(); ++i) prompt[i] = static_cast<int32_t>(i * 37 % 1000);
      const int32_t stop[] = {1023};

      const long before = g_allocations.load();
      s.prefill(prompt);
      int32_t t = 5;
      for (int i = 0; i < 20; ++i) t = s.argmax(s.decode_step(t));
      s.truncate(10);
      s.prefill(std::span(prompt).first(30), edgecloud::model::logits_mode::all);
      EXPECT_EQ(g_allocations.load() - before, 0)
          << rel << (lora ? " with LoRA" : "") << ": allocations in prefill/decode";

      s.clear();
      const long before_generate = g_allocations.load();
      auto out = s.generate(prompt, 20, stop, [](int32_t) {});
      EXPECT_EQ(g_allocations.load() - before_generate, 1) << "generate allocates only its result";
      EXPECT_FALSE(out.empty());
    }
}

TEST(SessionAllocation, CounterSeesAllocations) {
  // The test above cannot pass vacuously: the replaced operator new is the one in use.
  const long before = g_allocations.load();
  std::vector<int> v(static_cast<size_t>(100 + before % 7));
  v[3] = 1;
  EXPECT_EQ(v[3], 1);
  EXPECT_GE(g_allocations.load() - before, 1);
}

}  // namespace
