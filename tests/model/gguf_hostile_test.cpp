// SPDX-License-Identifier: Apache-2.0
// Hostile and broken GGUF files: each must give a model_error that names the problem, never a
// crash, an out-of-bounds read (this test runs under ASan/UBSan in CI: every input is copied to
// a heap buffer of exactly its size) or a huge allocation. Files are built with gguf::writer and
// then patched at the byte offsets of the GGUF layout.
#include <gtest/gtest.h>

#include <cstring>
#include <edgecloud/model/gguf.hpp>
#include <edgecloud/model/gguf_writer.hpp>
#include <functional>
#include <limits>
#include <memory>
#include <string>
#include <vector>

#include "common/fixtures.hpp"

namespace gguf = edgecloud::gguf;
using edgecloud::model_error;
using bytes_t = std::vector<std::byte>;

namespace {

constexpr uint64_t kMax = std::numeric_limits<uint64_t>::max();

// A small valid model: every kind of header field the reader walks, three tensors of three types.
bytes_t small_file() {
  gguf::writer w;
  w.add_string("general.architecture", "qwen3");
  w.add_u32("qwen3.block_count", 2);
  w.add_f32("qwen3.rope.freq_base", 1e6f);
  w.add_bool("flag.aa", true);
  w.add_i64("flag.bb", -7);
  w.add_string_array("tokenizer.ggml.tokens", std::vector<std::string>{"a", "bc", "<|im_end|>"});
  w.add_array("tokenizer.ggml.token_type", std::vector<int32_t>{1, 1, 3});
  std::vector<gguf::array_value> inner = {
      gguf::array_value::of(std::vector<uint16_t>{1, 2}),
      gguf::array_value::of_strings(std::vector<std::string>{"x"})};
  w.add_array("nested", gguf::array_value::of_arrays(inner));
  std::vector<float> f(16, 0.25f);
  w.add_tensor("t.a", {8, 2}, f);
  bytes_t q8(68, std::byte{3});
  w.add_tensor("t.b", {32, 2}, gguf::type_q8_0, q8);
  bytes_t f16(8, std::byte{0});
  w.add_tensor("t.c", {4}, gguf::type_f16, f16);
  return w.to_bytes();
}

// Parses exactly these bytes from a heap block of exactly their size.
gguf::file parse_exact(const bytes_t& b, size_t n) {
  auto block = std::make_unique<std::byte[]>(n ? n : 1);
  if (n) std::memcpy(block.get(), b.data(), n);
  auto f = gguf::file::from_memory({block.get(), n});
  // Touch everything the file hands out while the block is alive.
  volatile uint64_t sink = 0;
  for (const auto& e : f.metadata()) {
    sink = sink + e.key.size();
    std::function<void(const gguf::metadata_value&)> walk = [&](const gguf::metadata_value& v) {
      if (v.type == gguf::value_type::array)
        for (const auto& x : v.elements()) walk(x);
      else if (v.type == gguf::value_type::string)
        sink = sink + v.as_string().size();
      else
        sink = sink + static_cast<uint64_t>(v.as_double().value_or(0));
    };
    walk(e.value);
    if (e.value.type == gguf::value_type::array && e.value.element_type == gguf::value_type::string)
      sink = sink + f.get_string_array(e.key).size();
  }
  for (const auto& t : f.tensors())
    sink = sink + static_cast<uint64_t>(t.data[0]) + static_cast<uint64_t>(t.data[t.n_bytes - 1]);
  (void)sink;
  // The returned file's views point into `block`, which dies here: only its scalars are used.
  return f;
}

std::string error_of(const bytes_t& b) {
  try {
    parse_exact(b, b.size());
  } catch (const model_error& e) {
    return e.what();
  }
  return "";
}

#define EXPECT_REJECTED(bytes, fragment)                                      \
  do {                                                                        \
    std::string msg_ = error_of(bytes);                                       \
    EXPECT_NE(msg_, "") << "accepted a broken file";                          \
    EXPECT_NE(msg_.find(fragment), std::string::npos) << "message: " << msg_; \
  } while (0)

void put_u32(bytes_t& b, size_t pos, uint32_t v) {
  std::memcpy(b.data() + pos, &v, 4);
}
void put_u64(bytes_t& b, size_t pos, uint64_t v) {
  std::memcpy(b.data() + pos, &v, 8);
}

// Offset of the first occurrence of the length-prefixed string s (points at the u64 length).
size_t find_gguf_string(const bytes_t& b, std::string_view s) {
  std::string needle(8 + s.size(), '\0');
  uint64_t n = s.size();
  std::memcpy(needle.data(), &n, 8);
  std::memcpy(needle.data() + 8, s.data(), s.size());
  std::string_view hay(reinterpret_cast<const char*>(b.data()), b.size());
  size_t at = hay.find(needle);
  EXPECT_NE(at, std::string_view::npos) << s;
  return at;
}

// Byte offsets of a tensor info's fields.
struct tensor_fields {
  size_t n_dims, dims, type, offset;
};
tensor_fields tensor_at(const bytes_t& b, std::string_view name, uint32_t n_dims) {
  size_t p = find_gguf_string(b, name) + 8 + name.size();
  return {p, p + 4, p + 4 + 8 * n_dims, p + 8 + 8 * n_dims};
}
// Offset of a key's value type field.
size_t value_type_at(const bytes_t& b, std::string_view key) {
  return find_gguf_string(b, key) + 8 + key.size();
}

}  // namespace

TEST(GgufHostile, SmallFileIsValid) {
  bytes_t b = small_file();
  EXPECT_EQ(error_of(b), "");
  auto f = parse_exact(b, b.size());
  EXPECT_EQ(f.tensors().size(), 3u);
}

TEST(GgufHostile, TruncationAtEveryOffset) {
  const bytes_t b = small_file();
  uint64_t needed = 0;
  {
    auto f = gguf::file::from_memory(b);
    for (const auto& t : f.tensors())
      needed = std::max(needed, f.data_offset() + t.offset + t.n_bytes);
  }
  ASSERT_LT(needed, b.size()) << "the last tensor should be followed by padding";
  for (size_t cut = 0; cut < b.size(); ++cut) {
    SCOPED_TRACE(cut);
    if (cut < needed) {
      EXPECT_THROW(parse_exact(b, cut), model_error);
    } else {
      EXPECT_NO_THROW(parse_exact(b, cut));  // only trailing padding is missing
    }
  }
  bytes_t header_only(b.begin(), b.begin() + 200);
  EXPECT_REJECTED(header_only, "truncated");
}

TEST(GgufHostile, TruncatedFixtureHeader) {
  EDGECLOUD_FIXTURE(path, "models/tiny-qwen3-q8_0.gguf");
  auto full = gguf::file::open(path);
  bytes_t b(full.bytes().begin(), full.bytes().end());
  // Every offset of the header and the start of the data, then a stride through the data.
  for (size_t cut = 0; cut < b.size(); cut += cut < full.data_offset() + 64 ? 1 : 4093) {
    EXPECT_THROW(parse_exact(b, cut), model_error) << cut;
  }
}

TEST(GgufHostile, BadMagicAndVersion) {
  bytes_t b = small_file();
  bytes_t m = b;
  m[3] = std::byte{'X'};
  EXPECT_REJECTED(m, "not a GGUF file");
  bytes_t v = b;
  put_u32(v, 4, 1);
  EXPECT_REJECTED(v, "version 1 is not supported");
  put_u32(v, 4, 4);
  EXPECT_REJECTED(v, "unsupported GGUF version 4");
  put_u32(v, 4, 0x03000000u);
  EXPECT_REJECTED(v, "big-endian");
  EXPECT_REJECTED(bytes_t{}, "too short");
  EXPECT_REJECTED(bytes_t(b.begin(), b.begin() + 4), "truncated");
}

TEST(GgufHostile, HugeCounts) {
  const bytes_t b = small_file();
  for (uint64_t huge : {kMax, kMax / 2, uint64_t{1} << 40, uint64_t(b.size())}) {
    SCOPED_TRACE(huge);
    bytes_t t = b;
    put_u64(t, 8, huge);
    EXPECT_REJECTED(t, "tensor count");
    bytes_t k = b;
    put_u64(k, 16, huge);
    EXPECT_REJECTED(k, "metadata count");
    // Length of a key, of a string value, of a string array and of one of its strings.
    bytes_t key = b;
    put_u64(key, find_gguf_string(b, "qwen3.block_count"), huge);
    EXPECT_REJECTED(key, "truncated");
    bytes_t str = b;
    put_u64(str, find_gguf_string(b, "qwen3"), huge);
    EXPECT_REJECTED(str, "truncated");
    bytes_t arr = b;
    put_u64(arr, value_type_at(b, "tokenizer.ggml.tokens") + 8, huge);
    EXPECT_REJECTED(arr, "cannot fit");
    bytes_t elem = b;
    put_u64(elem, find_gguf_string(b, "<|im_end|>"), huge);
    EXPECT_REJECTED(elem, "truncated");
    bytes_t nested = b;
    put_u64(nested, value_type_at(b, "nested") + 8, huge);
    EXPECT_REJECTED(nested, "cannot fit");
    bytes_t name = b;
    put_u64(name, find_gguf_string(b, "t.b"), huge);
    EXPECT_REJECTED(name, "truncated");
  }
  bytes_t t = small_file();
  put_u64(t, find_gguf_string(t, "t.b"), 65);
  EXPECT_REJECTED(t, "more than the 64 allowed");
}

TEST(GgufHostile, CountsOffByOne) {
  const bytes_t b = small_file();
  bytes_t more_kv = b, fewer_kv = b, more_t = b, fewer_t = b;
  put_u64(more_kv, 16, 9);
  put_u64(fewer_kv, 16, 7);
  put_u64(more_t, 8, 4);
  put_u64(fewer_t, 8, 2);
  EXPECT_NE(error_of(more_kv), "");
  EXPECT_NE(error_of(fewer_kv), "");
  EXPECT_NE(error_of(more_t), "");
  // Two tensors instead of three: the header ends early, so the data offsets no longer align
  // with the real data; the reader cannot know, but must still stay inside the file.
  (void)error_of(fewer_t);
}

TEST(GgufHostile, BadValueTypes) {
  const bytes_t b = small_file();
  bytes_t t = b;
  put_u32(t, value_type_at(b, "qwen3.block_count"), 13);
  EXPECT_REJECTED(t, "value type 13");
  bytes_t e = b;
  put_u32(e, value_type_at(b, "tokenizer.ggml.token_type") + 4, 99);
  EXPECT_REJECTED(e, "array element type 99");
  bytes_t bo = b;
  bo[value_type_at(b, "flag.aa") + 4] = std::byte{2};
  EXPECT_REJECTED(bo, "bool value holds byte 2");
  bytes_t dup = b;
  std::memcpy(dup.data() + find_gguf_string(b, "flag.bb") + 8, "flag.aa", 7);
  EXPECT_REJECTED(dup, "flag.aa: duplicate key");
}

TEST(GgufHostile, NestingDepth) {
  auto nested = [](int levels) {
    gguf::array_value a = gguf::array_value::of(std::vector<uint8_t>{1});
    for (int i = 1; i < levels; ++i) a = gguf::array_value::of_arrays(std::vector{a});
    gguf::writer w;
    w.add_array("deep", a);
    return w.to_bytes();
  };
  EXPECT_EQ(error_of(nested(gguf::max_array_depth)), "");
  EXPECT_REJECTED(nested(gguf::max_array_depth + 1), "nested deeper");
  // A chain of empty arrays as deep as the file allows must not exhaust the stack.
  bytes_t deep = nested(2);
  size_t at = value_type_at(deep, "deep") + 4;  // element type of the outer array
  bytes_t chain(deep.begin(), deep.begin() + static_cast<long>(at));
  for (int i = 0; i < 100000; ++i) {
    uint32_t t = 9;
    uint64_t n = 1;
    chain.insert(chain.end(), reinterpret_cast<std::byte*>(&t),
                 reinterpret_cast<std::byte*>(&t) + 4);
    chain.insert(chain.end(), reinterpret_cast<std::byte*>(&n),
                 reinterpret_cast<std::byte*>(&n) + 8);
  }
  EXPECT_REJECTED(chain, "nested deeper");
}

TEST(GgufHostile, BadAlignment) {
  for (uint32_t a : {0u, 3u, 48u, 1u << 31}) {
    gguf::writer w;
    w.add_encoded("general.alignment", gguf::value_type::u32,
                  std::string(reinterpret_cast<const char*>(&a), 4));
    SCOPED_TRACE(a);
    EXPECT_REJECTED(w.to_bytes(), "general.alignment must be a power of two");
  }
  gguf::writer s;
  s.add_string("general.alignment", "32");
  EXPECT_REJECTED(s.to_bytes(), "general.alignment");
}

TEST(GgufHostile, BadTensorInfos) {
  const bytes_t b = small_file();
  const auto ta = tensor_at(b, "t.a", 2), tb = tensor_at(b, "t.b", 2), tc = tensor_at(b, "t.c", 1);
  auto patched = [&](size_t pos, uint64_t v, bool wide) {
    bytes_t c = b;
    if (wide)
      put_u64(c, pos, v);
    else
      put_u32(c, pos, static_cast<uint32_t>(v));
    return c;
  };
  EXPECT_REJECTED(patched(ta.n_dims, 0, false), "t.a: has 0 dimensions");
  EXPECT_REJECTED(patched(ta.n_dims, 5, false), "t.a: has 5 dimensions, expected 1 to 4");
  EXPECT_REJECTED(patched(ta.n_dims, 0xffffffffu, false), "dimensions");
  EXPECT_REJECTED(patched(ta.dims + 8, 0, true), "t.a: dimension 1 is 0");
  EXPECT_REJECTED(patched(tc.dims, 0, true), "t.c: dimension 0 is 0");
  // Element count past int64: 2^32 x 2^32.
  bytes_t ov = b;
  put_u64(ov, ta.dims, uint64_t{1} << 32);
  put_u64(ov, ta.dims + 8, uint64_t{1} << 32);
  EXPECT_REJECTED(ov, "overflow the element count");
  // Element count fits, byte count (x4 for F32) does not.
  bytes_t by = b;
  put_u64(by, ta.dims, uint64_t{1} << 62);
  put_u64(by, ta.dims + 8, 1);
  EXPECT_REJECTED(by, "overflows");
  // Huge but representable: lies outside the file.
  bytes_t big = b;
  put_u64(big, tb.dims, uint64_t{1} << 40);
  EXPECT_REJECTED(big, "t.b: data");
  EXPECT_REJECTED(patched(tb.type, 99, false), "t.b: unknown GGML tensor type id 99");
  EXPECT_REJECTED(patched(tb.type, 4, false), "unknown GGML tensor type id 4");
  EXPECT_REJECTED(patched(tb.dims, 16, true), "not a multiple of the 32-element blocks of Q8_0");
  bytes_t mis = b;
  uint64_t off;
  std::memcpy(&off, b.data() + tb.offset, 8);
  put_u64(mis, tb.offset, off + 4);
  EXPECT_REJECTED(mis, "t.b: data offset");
  EXPECT_REJECTED(patched(tb.offset, uint64_t{1} << 40, true), "outside the data section");
  EXPECT_REJECTED(patched(tb.offset, kMax - 31, true), "outside the data section");
  EXPECT_REJECTED(patched(tc.offset, 0, true), "overlap");
  EXPECT_REJECTED(patched(tb.offset, 0, true), "overlap");
  bytes_t dup = b;
  std::memcpy(dup.data() + find_gguf_string(b, "t.c") + 8, "t.a", 3);
  EXPECT_REJECTED(dup, "t.a: duplicate tensor name");
}

// Deterministic random corruption of the small file: any outcome but a crash, an out-of-bounds
// read (ASan) or an exception other than model_error is a failure.
TEST(GgufHostile, RandomCorruption) {
  const bytes_t b = small_file();
  uint64_t state = 0x9E3779B97F4A7C15ull;
  auto next = [&] {
    state ^= state << 13;
    state ^= state >> 7;
    state ^= state << 17;
    return state;
  };
  const uint64_t interesting[] = {0,
                                  1,
                                  2,
                                  4,
                                  5,
                                  9,
                                  13,
                                  31,
                                  32,
                                  33,
                                  64,
                                  65,
                                  0x7fffffff,
                                  0xffffffff,
                                  uint64_t{1} << 32,
                                  uint64_t{1} << 62,
                                  kMax / 2,
                                  kMax - 31,
                                  kMax};
  int accepted = 0;
  for (int iter = 0; iter < 20000; ++iter) {
    bytes_t c = b;
    int edits = 1 + static_cast<int>(next() % 3);
    for (int e = 0; e < edits && !c.empty(); ++e) {
      size_t pos = next() % c.size();
      switch (next() % 4) {
        case 0:
          c[pos] = std::byte(next());
          break;
        case 1:
          if (pos + 8 <= c.size()) put_u64(c, pos, interesting[next() % std::size(interesting)]);
          break;
        case 2:
          if (pos + 4 <= c.size())
            put_u32(c, pos, static_cast<uint32_t>(interesting[next() % std::size(interesting)]));
          break;
        case 3:
          c.resize(pos);
          break;
      }
    }
    try {
      parse_exact(c, c.size());
      ++accepted;
    } catch (const model_error&) {
    }
  }
  EXPECT_GT(accepted, 0);  // flips in tensor data and padding are harmless
}
