// SPDX-License-Identifier: Apache-2.0
// gguf::writer -> gguf::file round trip: every metadata type (limits included), nested arrays,
// tensors of each supported type, alignments, GGUF v2; the byte layout is checked by hand for a
// minimal file (independent of the reader).
#include <gtest/gtest.h>
#include <unistd.h>

#include <cmath>
#include <cstring>
#include <edgecloud/model/gguf.hpp>
#include <edgecloud/model/gguf_writer.hpp>
#include <filesystem>
#include <limits>
#include <numeric>
#include <string>

#include "common/fixtures.hpp"

namespace gguf = edgecloud::gguf;
using edgecloud::config_error;
using edgecloud::model_error;

namespace {

template <class T>
T scalar(const gguf::file& f, std::string_view key, gguf::value_type want) {
  const gguf::metadata_value* v = f.find(key);
  EXPECT_NE(v, nullptr) << key;
  if (!v) return T{};
  EXPECT_EQ(v->type, want) << key;
  EXPECT_EQ(v->payload.size(), sizeof(T)) << key;
  T out;
  std::memcpy(&out, v->payload.data(), sizeof(T));
  return out;
}

}  // namespace

TEST(GgufWriter, MinimalFileLayoutByHand) {
  gguf::writer w;
  w.add_u8("k", 7);
  w.add_tensor("t", {2}, std::vector<float>{1.5f, -2.0f});
  auto b = w.to_bytes();
  // "GGUF", v3, 1 tensor, 1 kv | "k" u8 7 | "t" 1 dim [2] F32 offset 0 | pad to 32 | 1.5 -2
  std::string expect("GGUF", 4);
  auto u32 = [&](uint32_t v) { expect.append(reinterpret_cast<char*>(&v), 4); };
  auto u64 = [&](uint64_t v) { expect.append(reinterpret_cast<char*>(&v), 8); };
  u32(3);
  u64(1);
  u64(1);
  u64(1);
  expect += 'k';
  u32(0);
  expect += char(7);
  u64(1);
  expect += 't';
  u32(1);
  u64(2);
  u32(0);
  u64(0);
  expect.resize((expect.size() + 31) / 32 * 32, '\0');
  float fl[2] = {1.5f, -2.0f};
  expect.append(reinterpret_cast<char*>(fl), 8);
  expect.resize((expect.size() + 31) / 32 * 32, '\0');
  ASSERT_EQ(b.size(), expect.size());
  EXPECT_EQ(std::memcmp(b.data(), expect.data(), b.size()), 0);
  EXPECT_EQ(w.file_size(), b.size());
}

TEST(GgufWriter, EveryScalarTypeRoundTrips) {
  gguf::writer w;
  w.add_u8("u8", 255);
  w.add_i8("i8", -128);
  w.add_u16("u16", 65535);
  w.add_i16("i16", -32768);
  w.add_u32("u32", 4294967295u);
  w.add_i32("i32", std::numeric_limits<int32_t>::min());
  w.add_f32("f32", 1e-6f);
  w.add_bool("t", true);
  w.add_bool("f", false);
  w.add_string("s", "Qwen3 \xE4\xB8\xAD");
  w.add_string("empty", "");
  w.add_string("nul", std::string_view("a\0b", 3));
  w.add_u64("u64", std::numeric_limits<uint64_t>::max());
  w.add_i64("i64", std::numeric_limits<int64_t>::min());
  w.add_f64("f64", 1e6);
  auto bytes = w.to_bytes();
  auto f = gguf::file::from_memory(bytes);
  EXPECT_EQ(f.metadata().size(), 15u);
  EXPECT_EQ(f.metadata()[0].key, "u8");  // file order kept
  EXPECT_EQ(scalar<uint8_t>(f, "u8", gguf::value_type::u8), 255);
  EXPECT_EQ(scalar<int8_t>(f, "i8", gguf::value_type::i8), -128);
  EXPECT_EQ(scalar<uint16_t>(f, "u16", gguf::value_type::u16), 65535);
  EXPECT_EQ(scalar<int16_t>(f, "i16", gguf::value_type::i16), -32768);
  EXPECT_EQ(scalar<uint32_t>(f, "u32", gguf::value_type::u32), 4294967295u);
  EXPECT_EQ(scalar<int32_t>(f, "i32", gguf::value_type::i32), std::numeric_limits<int32_t>::min());
  EXPECT_EQ(scalar<float>(f, "f32", gguf::value_type::f32), 1e-6f);
  EXPECT_EQ(scalar<uint64_t>(f, "u64", gguf::value_type::u64),
            std::numeric_limits<uint64_t>::max());
  EXPECT_EQ(scalar<int64_t>(f, "i64", gguf::value_type::i64), std::numeric_limits<int64_t>::min());
  EXPECT_EQ(scalar<double>(f, "f64", gguf::value_type::f64), 1e6);
  // Typed accessors and their range checks.
  EXPECT_EQ(f.get_uint("u8"), 255u);
  EXPECT_EQ(f.get_int("i8"), -128);
  EXPECT_EQ(f.get_uint("u32"), 4294967295u);
  EXPECT_EQ(f.get_uint("u64"), std::numeric_limits<uint64_t>::max());
  EXPECT_THROW(f.get_int("u64"), model_error);  // does not fit int64
  EXPECT_THROW(f.get_uint("i8"), model_error);  // negative
  EXPECT_EQ(f.get_int("i64"), std::numeric_limits<int64_t>::min());
  EXPECT_EQ(f.get_float("f32"), static_cast<double>(1e-6f));
  EXPECT_EQ(f.get_float("f64"), 1e6);
  EXPECT_EQ(f.get_float("i16"), -32768.0);
  EXPECT_EQ(f.get_bool("t"), true);
  EXPECT_EQ(f.get_bool("f"), false);
  EXPECT_EQ(f.get_string("s"), "Qwen3 \xE4\xB8\xAD");
  EXPECT_EQ(f.get_string("empty"), "");
  EXPECT_EQ(f.get_string("nul"), std::string_view("a\0b", 3));
  EXPECT_THROW(f.get_float("s"), model_error);
  EXPECT_EQ(f.version(), 3u);
  EXPECT_TRUE(f.tensors().empty());
}

TEST(GgufWriter, ArraysOfEveryTypeAndNesting) {
  gguf::writer w;
  w.add_array("u8", std::vector<uint8_t>{0, 1, 255});
  w.add_array("i8", std::vector<int8_t>{-128, 0, 127});
  w.add_array("u16", std::vector<uint16_t>{1, 65535});
  w.add_array("i16", std::vector<int16_t>{-32768, 5});
  w.add_array("u32", std::vector<uint32_t>{7, 4294967295u});
  w.add_array("i32", std::vector<int32_t>{-1, 2, -3});
  w.add_array("f32", std::vector<float>{0.5f, -1.25f});
  w.add_array("bool", std::vector<bool>{true, false, true});
  w.add_array("u64", std::vector<uint64_t>{1ull << 40});
  w.add_array("i64", std::vector<int64_t>{-(1ll << 40)});
  w.add_array("f64", std::vector<double>{3.25});
  w.add_array("empty", std::vector<int32_t>{});
  w.add_string_array("strings", std::vector<std::string>{"a", "", "\xC4\xA0the"});
  std::vector<gguf::array_value> inner = {
      gguf::array_value::of(std::vector<uint32_t>{1, 2, 3}),
      gguf::array_value::of_strings(std::vector<std::string>{"x", "yz"}),
      gguf::array_value::of(std::vector<float>{})};
  std::vector<gguf::array_value> outer = {gguf::array_value::of_arrays(inner),
                                          gguf::array_value::of(std::vector<int8_t>{-5})};
  w.add_array("nested", gguf::array_value::of_arrays(outer));
  auto bytes = w.to_bytes();
  auto f = gguf::file::from_memory(bytes);

  EXPECT_EQ(f.get_int_array("u8"), (std::vector<int64_t>{0, 1, 255}));
  EXPECT_EQ(f.get_int_array("i8"), (std::vector<int64_t>{-128, 0, 127}));
  EXPECT_EQ(f.get_int_array("u16"), (std::vector<int64_t>{1, 65535}));
  EXPECT_EQ(f.get_int_array("i16"), (std::vector<int64_t>{-32768, 5}));
  EXPECT_EQ(f.get_int_array("u32"), (std::vector<int64_t>{7, 4294967295ll}));
  EXPECT_EQ(f.get_int_array("i32"), (std::vector<int64_t>{-1, 2, -3}));
  EXPECT_EQ(f.get_float_array("f32"), (std::vector<double>{0.5, -1.25}));
  EXPECT_EQ(f.get_int_array("u64"), (std::vector<int64_t>{1ll << 40}));
  EXPECT_EQ(f.get_int_array("i64"), (std::vector<int64_t>{-(1ll << 40)}));
  EXPECT_EQ(f.get_float_array("f64"), (std::vector<double>{3.25}));
  EXPECT_TRUE(f.get_int_array("empty").empty());
  EXPECT_EQ(f.find("empty")->element_type, gguf::value_type::i32);
  EXPECT_EQ(f.find("bool")->element_type, gguf::value_type::boolean);
  auto bools = f.find("bool")->elements();
  ASSERT_EQ(bools.size(), 3u);
  EXPECT_EQ(bools[0].as_int(), 1);
  EXPECT_EQ(bools[1].as_int(), 0);
  EXPECT_EQ(f.get_string_array("strings"), (std::vector<std::string_view>{"a", "", "\xC4\xA0the"}));

  const gguf::metadata_value* nested = f.find("nested");
  ASSERT_NE(nested, nullptr);
  EXPECT_EQ(nested->element_type, gguf::value_type::array);
  auto level1 = nested->elements();
  ASSERT_EQ(level1.size(), 2u);
  auto level2 = level1[0].elements();
  ASSERT_EQ(level2.size(), 3u);
  auto nums = level2[0].elements();
  ASSERT_EQ(nums.size(), 3u);
  EXPECT_EQ(nums[2].as_uint(), 3u);
  auto strs = level2[1].elements();
  ASSERT_EQ(strs.size(), 2u);
  EXPECT_EQ(strs[1].as_string(), "yz");
  EXPECT_EQ(level2[2].count, 0u);
  EXPECT_EQ(level2[2].element_type, gguf::value_type::f32);
  EXPECT_EQ(level1[1].elements()[0].as_int(), -5);
}

TEST(GgufWriter, TensorsOfEachTypeWithAlignment) {
  for (uint32_t alignment : {1u, 8u, 32u, 64u, 4096u}) {
    SCOPED_TRACE(alignment);
    gguf::writer w;
    if (alignment != 32) w.set_alignment(alignment);
    std::vector<float> f32(3 * 5);
    std::iota(f32.begin(), f32.end(), 0.0f);
    std::vector<std::byte> f16(2 * 7 * 3), bf16(2 * 9), q8(34 * 2 * 3), q4k(144);
    for (size_t i = 0; i < q8.size(); ++i) q8[i] = std::byte(i * 7);
    for (size_t i = 0; i < f16.size(); ++i) f16[i] = std::byte(i + 1);
    w.add_tensor("a.f32", {5, 3}, f32);
    w.add_tensor("b.f16", {7, 3}, gguf::type_f16, f16);
    w.add_tensor("c.bf16", {9}, gguf::type_bf16, bf16);
    w.add_tensor("d.q8_0", {64, 3}, gguf::type_q8_0, [&](gguf::byte_sink& out) {
      out.write(q8.data(), 100);  // streamed in pieces
      out.write(q8.data() + 100, q8.size() - 100);
    });
    w.add_tensor("e.q4_k", {256, 1, 1, 1}, 12, q4k);
    auto bytes = w.to_bytes();
    auto f = gguf::file::from_memory(bytes);
    EXPECT_EQ(f.alignment(), alignment);
    EXPECT_EQ(f.data_offset() % alignment, 0u);
    ASSERT_EQ(f.tensors().size(), 5u);
    const auto& a = f.require_tensor("a.f32", {5, 3}, {gguf::type_f32});
    EXPECT_EQ(a.n_bytes, 60u);
    EXPECT_EQ(std::memcmp(a.data, f32.data(), 60), 0);
    const auto& b = f.require_tensor("b.f16", {7, 3}, {gguf::type_f16});
    EXPECT_EQ(std::memcmp(b.data, f16.data(), f16.size()), 0);
    EXPECT_EQ(f.require_tensor("c.bf16", {9}, {gguf::type_bf16}).n_bytes, 18u);
    const auto& d = f.require_tensor("d.q8_0", {64, 3}, {gguf::type_q8_0});
    EXPECT_EQ(d.n_bytes, q8.size());
    EXPECT_EQ(std::memcmp(d.data, q8.data(), q8.size()), 0);
    EXPECT_EQ(f.require_tensor("e.q4_k", {256, 1, 1, 1}, {}).n_bytes, 144u);
    for (const auto& t : f.tensors()) {
      EXPECT_EQ(t.offset % alignment, 0u) << t.name;
      EXPECT_EQ((t.data - bytes.data()) % alignment, 0u) << t.name;
    }
    EXPECT_THROW(f.require_tensor("e.q4_k", {256, 1, 1, 1}, {gguf::type_q8_0}), model_error);
  }
}

TEST(GgufWriter, Version2ReadsLikeVersion3) {
  gguf::writer w;
  w.set_version(2);
  w.add_string("general.architecture", "qwen3");
  w.add_tensor("x", {4}, std::vector<float>{1, 2, 3, 4});
  auto bytes = w.to_bytes();
  auto f = gguf::file::from_memory(bytes);
  EXPECT_EQ(f.version(), 2u);
  EXPECT_EQ(f.get_string("general.architecture"), "qwen3");
  EXPECT_EQ(f.find_tensor("x")->n_bytes, 16u);
}

TEST(GgufWriter, WritesFilesThatOpenMapped) {
  auto path = std::filesystem::temp_directory_path() /
              ("edgecloud_gguf_writer_" + std::to_string(::getpid()) + ".gguf");
  auto partial = path;
  partial += ".partial";
  {
    gguf::writer w;
    w.add_u32("n", 3);
    w.add_tensor("x", {32}, gguf::type_q8_0, [](gguf::byte_sink& out) {
      std::vector<std::byte> block(34, std::byte{1});
      out.write(block);
    });
    w.write(path);
    auto f = gguf::file::open(path);
    EXPECT_EQ(f.size_bytes(), w.file_size());
    EXPECT_EQ(f.get_uint("n"), 3u);
    EXPECT_EQ(f.find_tensor("x")->data[33], std::byte{1});
    EXPECT_FALSE(std::filesystem::exists(partial));
  }
  std::filesystem::remove(path);
  {
    // A failing producer leaves neither the file nor the temporary behind.
    gguf::writer w;
    w.add_tensor("x", {4}, gguf::type_f32,
                 [](gguf::byte_sink&) { throw std::runtime_error("generator failed"); });
    EXPECT_THROW(w.write(path), std::runtime_error);
    EXPECT_FALSE(std::filesystem::exists(path));
    EXPECT_FALSE(std::filesystem::exists(partial));
  }
}

TEST(GgufWriter, RejectsInvalidInput) {
  gguf::writer w;
  w.add_u32("k", 1);
  EXPECT_THROW(w.add_u32("k", 2), config_error);
  EXPECT_THROW(w.add_tensor("t", {}, gguf::type_f32, std::span<const std::byte>{}), config_error);
  EXPECT_THROW(w.add_tensor("t", {0}, gguf::type_f32, std::span<const std::byte>{}), config_error);
  EXPECT_THROW(w.add_tensor("t", {1, 1, 1, 1, 1}, std::vector<float>{1}), config_error);
  EXPECT_THROW(w.add_tensor("t", {31}, gguf::type_q8_0, std::span<const std::byte>{}),
               config_error);
  EXPECT_THROW(w.add_tensor("t", {1}, 99u, std::span<const std::byte>{}), config_error);
  w.add_tensor("t", {1}, std::vector<float>{1});
  EXPECT_THROW(w.add_tensor("t", {1}, std::vector<float>{1}), config_error);
  EXPECT_THROW(w.set_alignment(64), config_error);  // after a tensor
  gguf::writer v;
  EXPECT_THROW(v.set_alignment(48), config_error);
  EXPECT_THROW(v.set_version(1), config_error);
  // A producer that writes the wrong number of bytes is caught at write time.
  v.add_tensor("p", {4}, gguf::type_f32, [](gguf::byte_sink& out) { out.write("abc", 3); });
  EXPECT_THROW(v.to_bytes(), config_error);
}

// Rewriting every fixture model through reader -> writer reproduces the file byte for byte: the
// writer lays files out exactly as the independent numpy writer that made the fixtures did.
TEST(GgufWriter, RewritesFixturesByteForByte) {
  for (const char* rel : {"models/tiny-qwen3-f32.gguf", "models/tiny-qwen3-f16.gguf",
                          "models/tiny-qwen3-q8_0.gguf", "models/tiny-qwen3-fullvocab-q8_0.gguf"}) {
    SCOPED_TRACE(rel);
    EDGECLOUD_FIXTURE(path, rel);
    auto f = gguf::file::open(path);
    gguf::writer w;
    w.set_version(f.version());
    for (const auto& [key, value] : f.metadata()) {
      std::string encoded;
      if (value.type == gguf::value_type::string) {
        uint64_t n = value.payload.size();
        encoded.append(reinterpret_cast<const char*>(&n), 8);
      } else if (value.type == gguf::value_type::array) {
        uint32_t et = static_cast<uint32_t>(value.element_type);
        encoded.append(reinterpret_cast<const char*>(&et), 4);
        encoded.append(reinterpret_cast<const char*>(&value.count), 8);
      }
      encoded.append(reinterpret_cast<const char*>(value.payload.data()), value.payload.size());
      w.add_encoded(key, value.type, encoded);
    }
    for (const auto& t : f.tensors())
      w.add_tensor(t.name, t.dims, t.type, std::span(t.data, t.n_bytes));
    auto bytes = w.to_bytes();
    ASSERT_EQ(bytes.size(), f.size_bytes());
    EXPECT_EQ(std::memcmp(bytes.data(), f.bytes().data(), bytes.size()), 0);
  }
}
