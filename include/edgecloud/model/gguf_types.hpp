// SPDX-License-Identifier: Apache-2.0
// GGUF metadata value types and GGML tensor types: ids, names and storage sizes.
//
// A GGML tensor type stores `block_elems` consecutive elements of a row in `block_bytes` bytes
// (Q8_0: 32 int8 values plus one fp16 scale = 34 bytes; F32: 1 element in 4 bytes). A row of
// n elements therefore takes n / block_elems * block_bytes bytes and n must be a multiple of
// block_elems. Only types whose layout is listed here can be opened at all; of these the engine
// computes with F32, F16, BF16 and Q8_0 (the model checks that with `file::require_tensor`),
// the others are known so that `edgecloud inspect` can describe files made for other engines.
// Pure data, no ownership.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>

namespace edgecloud::gguf {

// GGUF metadata value types, numbered as in the GGUF specification.
enum class value_type : uint32_t {
  u8 = 0,
  i8 = 1,
  u16 = 2,
  i16 = 3,
  u32 = 4,
  i32 = 5,
  f32 = 6,
  boolean = 7,
  string = 8,
  array = 9,
  u64 = 10,
  i64 = 11,
  f64 = 12,
};

inline constexpr uint32_t value_type_count = 13;

constexpr std::string_view value_type_name(value_type t) noexcept {
  switch (t) {
    case value_type::u8:
      return "u8";
    case value_type::i8:
      return "i8";
    case value_type::u16:
      return "u16";
    case value_type::i16:
      return "i16";
    case value_type::u32:
      return "u32";
    case value_type::i32:
      return "i32";
    case value_type::f32:
      return "f32";
    case value_type::boolean:
      return "bool";
    case value_type::string:
      return "string";
    case value_type::array:
      return "array";
    case value_type::u64:
      return "u64";
    case value_type::i64:
      return "i64";
    case value_type::f64:
      return "f64";
  }
  return "unknown";
}

// Bytes of one scalar of a fixed-size type; 0 for string and array (variable size).
constexpr uint64_t value_type_size(value_type t) noexcept {
  switch (t) {
    case value_type::u8:
    case value_type::i8:
    case value_type::boolean:
      return 1;
    case value_type::u16:
    case value_type::i16:
      return 2;
    case value_type::u32:
    case value_type::i32:
    case value_type::f32:
      return 4;
    case value_type::u64:
    case value_type::i64:
    case value_type::f64:
      return 8;
    case value_type::string:
    case value_type::array:
      return 0;
  }
  return 0;
}

constexpr bool is_integer(value_type t) noexcept {
  switch (t) {
    case value_type::u8:
    case value_type::i8:
    case value_type::u16:
    case value_type::i16:
    case value_type::u32:
    case value_type::i32:
    case value_type::u64:
    case value_type::i64:
      return true;
    default:
      return false;
  }
}

constexpr bool is_signed_integer(value_type t) noexcept {
  return t == value_type::i8 || t == value_type::i16 || t == value_type::i32 ||
         t == value_type::i64;
}

// GGML tensor type ids used by the engine (equal to kernels::dtype values).
inline constexpr uint32_t type_f32 = 0;
inline constexpr uint32_t type_f16 = 1;
inline constexpr uint32_t type_q8_0 = 8;
inline constexpr uint32_t type_bf16 = 30;

struct ggml_type_traits {
  uint32_t id;
  std::string_view name;
  uint32_t block_elems;  // elements per block (1 for plain float/int types)
  uint32_t block_bytes;  // bytes per block
};

// The GGML type ids with a fixed block layout (ggml/include/ggml.h, ggml/src/ggml-common.h).
// Ids 4 and 5 (Q4_2, Q4_3) were removed from GGML; 31-33 were short-lived Q4_0_4_4... repacks.
inline constexpr ggml_type_traits ggml_types[] = {
    {0, "F32", 1, 4},         {1, "F16", 1, 2},         {2, "Q4_0", 32, 18},
    {3, "Q4_1", 32, 20},      {6, "Q5_0", 32, 22},      {7, "Q5_1", 32, 24},
    {8, "Q8_0", 32, 34},      {9, "Q8_1", 32, 36},      {10, "Q2_K", 256, 84},
    {11, "Q3_K", 256, 110},   {12, "Q4_K", 256, 144},   {13, "Q5_K", 256, 176},
    {14, "Q6_K", 256, 210},   {15, "Q8_K", 256, 292},   {16, "IQ2_XXS", 256, 66},
    {17, "IQ2_XS", 256, 74},  {18, "IQ3_XXS", 256, 98}, {19, "IQ1_S", 256, 50},
    {20, "IQ4_NL", 32, 18},   {21, "IQ3_S", 256, 110},  {22, "IQ2_S", 256, 82},
    {23, "IQ4_XS", 256, 136}, {24, "I8", 1, 1},         {25, "I16", 1, 2},
    {26, "I32", 1, 4},        {27, "I64", 1, 8},        {28, "F64", 1, 8},
    {29, "IQ1_M", 256, 56},   {30, "BF16", 1, 2},       {34, "TQ1_0", 256, 54},
    {35, "TQ2_0", 256, 66},    {39, "MXFP4", 32, 17},
};

// nullptr for an id whose layout is unknown.
constexpr const ggml_type_traits* find_ggml_type(uint32_t id) noexcept {
  for (const auto& t : ggml_types)
    if (t.id == id) return &t;
  return nullptr;
}

// "Q8_0", or "type 99" for an unknown id (for messages).
inline std::string ggml_type_name(uint32_t id) {
  if (const auto* t = find_ggml_type(id)) return std::string(t->name);
  return "type " + std::to_string(id);
}

// Bytes of a tensor of `type` with GGUF dims (dims[0] = row length), or nullopt when the type is
// unknown, dims[0] is not a whole number of blocks, or the size overflows 64 bits.
inline std::optional<uint64_t> tensor_bytes(uint32_t type,
                                            std::span<const uint64_t> dims) noexcept {
  const auto* t = find_ggml_type(type);
  if (!t || dims.empty()) return std::nullopt;
  if (dims[0] % t->block_elems != 0) return std::nullopt;
  uint64_t bytes = dims[0] / t->block_elems;
  if (bytes != 0 && t->block_bytes > UINT64_MAX / bytes) return std::nullopt;
  bytes *= t->block_bytes;
  for (size_t i = 1; i < dims.size(); ++i) {
    if (dims[i] != 0 && bytes > UINT64_MAX / dims[i]) return std::nullopt;
    bytes *= dims[i];
  }
  return bytes;
}

}  // namespace edgecloud::gguf
