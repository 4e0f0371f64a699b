// SPDX-License-Identifier: Apache-2.0
// GGUF reader: metadata and tensor directory of a GGUF v2/v3 model file, tensor data in place.
//
// Layout (https://github.com/ggml-org/ggml/blob/master/docs/gguf.md), all little-endian:
//   "GGUF" u32 version, u64 n_tensors, u64 n_kv,
//   n_kv x { string key, u32 value_type, value }            string = u64 length + bytes
//   n_tensors x { string name, u32 n_dims, u64 dims[n_dims], u32 ggml_type, u64 offset }
//   padding to `general.alignment` (default 32), then the data section; each tensor's bytes
//   start at data_start + offset, offset a multiple of the alignment.
// An array value is u32 element_type, u64 count, then count values (arrays may nest).
//
// Ownership: `file::open` maps the file read-only and the `file` owns that mapping (move-only;
// moving keeps every pointer valid). Every string_view and `tensor_info::data` handed out points
// into the mapping and lives as long as the `file` that produced it. `file::from_memory` does not
// own its bytes: the caller keeps them alive and unchanged for the life of the `file`.
//
// Trust: the whole header is validated when the file is opened, before any accessor runs:
// every length and count against the bytes that remain (so a hostile count cannot make us
// allocate more than the file could describe), nesting depth, tensor rank (1..4), dims (>= 1, no
// 64-bit overflow of element or byte counts), known GGML type, offset alignment, each tensor's
// bytes inside the file, no two tensors overlapping, no duplicate key or tensor name. Any failure
// is a `model_error` naming the problem, the key or tensor, and the byte offset.
#pragma once

#include <algorithm>
#include <bit>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <edgecloud/error.hpp>
#include <edgecloud/model/gguf_types.hpp>
#include <edgecloud/model/mapped_file.hpp>
#include <filesystem>
#include <initializer_list>
#include <limits>
#include <numeric>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

static_assert(std::endian::native == std::endian::little,
              "the GGUF reader maps little-endian files directly and needs a little-endian CPU");

namespace edgecloud::gguf {

inline constexpr uint32_t default_alignment = 32;
inline constexpr uint32_t max_dims = 4;
inline constexpr uint64_t max_tensor_name_bytes = 64;  // GGML_MAX_NAME
inline constexpr int max_array_depth = 8;

struct tensor_info {
  std::string name;
  std::vector<uint64_t> dims;       // dims[0] = fastest (columns), as GGUF stores
  uint32_t type = 0;                // GGML type id (== kernels::dtype values)
  uint64_t offset = 0;              // from the start of the data section
  const std::byte* data = nullptr;  // points into the file's bytes
  uint64_t n_bytes = 0;

  uint64_t n_elements() const {
    return std::accumulate(dims.begin(), dims.end(), uint64_t{1}, std::multiplies<>());
  }
};

// A metadata value as it lies in the file (already validated). Scalars and arrays of fixed-size
// elements are read from `payload` on demand; arrays of strings/arrays are walked on demand.
struct metadata_value {
  value_type type = value_type::u8;
  value_type element_type = value_type::u8;  // arrays only
  uint64_t count = 0;                        // arrays: number of elements
  std::span<const std::byte> payload;        // scalar bytes, string bytes, or array elements

  // Scalars of any numeric type (bool counts as 0/1); nullopt for strings and arrays.
  std::optional<double> as_double() const;
  std::optional<int64_t> as_int() const;    // nullopt also for a u64 above INT64_MAX
  std::optional<uint64_t> as_uint() const;  // nullopt also for a negative value
  std::string_view as_string() const;       // empty unless type == string
  // Arrays: elements as values (any element type, including nested arrays).
  std::vector<metadata_value> elements() const;
};

struct metadata_entry {
  std::string_view key;
  metadata_value value;
};

namespace detail {

template <class T>
T load(const std::byte* p) noexcept {
  T v;
  std::memcpy(&v, p, sizeof(T));
  return v;
}

// Bounds-checked reader over the file bytes. All failures throw model_error with the offset.
class cursor {
 public:
  explicit cursor(std::span<const std::byte> bytes) : data_(bytes.data()), size_(bytes.size()) {}

  uint64_t pos() const noexcept { return pos_; }
  uint64_t size() const noexcept { return size_; }
  uint64_t remaining() const noexcept { return size_ - pos_; }
  const std::byte* here() const noexcept { return data_ + pos_; }
  void set_context(std::string c) { context_ = std::move(c); }

  [[noreturn]] void fail(const std::string& what) const {
    throw model_error(context_.empty() ? what : context_ + ": " + what);
  }
  void need(uint64_t n, const char* what) const {
    if (n > remaining())
      fail("file truncated: " + std::string(what) + " needs " + std::to_string(n) +
           " bytes at offset " + std::to_string(pos_) + ", only " + std::to_string(remaining()) +
           " left (file is " + std::to_string(size_) + " bytes)");
  }
  const std::byte* skip(uint64_t n, const char* what) {
    need(n, what);
    const std::byte* p = data_ + pos_;
    pos_ += n;
    return p;
  }
  template <class T>
  T read(const char* what) {
    return load<T>(skip(sizeof(T), what));
  }
  std::string_view read_string(const char* what, uint64_t max_len) {
    uint64_t n = read<uint64_t>(what);
    if (n > remaining())
      fail("file truncated: " + std::string(what) + " of " + std::to_string(n) +
           " bytes at offset " + std::to_string(pos_) + ", only " + std::to_string(remaining()) +
           " left (file is " + std::to_string(size_) + " bytes)");
    if (n > max_len)
      fail(std::string(what) + " is " + std::to_string(n) + " bytes, more than the " +
           std::to_string(max_len) + " allowed");
    const std::byte* p = skip(n, what);
    return {reinterpret_cast<const char*>(p), static_cast<size_t>(n)};
  }

 private:
  const std::byte* data_;
  uint64_t size_;
  uint64_t pos_ = 0;
  std::string context_;
};

// Smallest number of bytes one element of type t can take (for capping counts).
constexpr uint64_t min_encoded_size(value_type t) noexcept {
  if (t == value_type::string) return 8;     // u64 length
  if (t == value_type::array) return 4 + 8;  // u32 type + u64 count
  return value_type_size(t);
}

inline bool valid_value_type(uint32_t t) noexcept {
  return t < value_type_count;
}

// Validates one value of type t at the cursor and returns its description. depth counts arrays.
inline metadata_value parse_value(cursor& c, value_type t, int depth) {
  metadata_value v;
  v.type = t;
  const uint64_t start = c.pos();
  switch (t) {
    case value_type::string: {
      std::string_view s = c.read_string("string value", UINT64_MAX);
      v.payload = {reinterpret_cast<const std::byte*>(s.data()), s.size()};
      return v;
    }
    case value_type::array: {
      if (depth >= max_array_depth)
        c.fail("arrays nested deeper than " + std::to_string(max_array_depth) + " levels");
      uint32_t et = c.read<uint32_t>("array element type");
      if (!valid_value_type(et))
        c.fail("array element type " + std::to_string(et) + " is not a GGUF value type (0..12)");
      v.element_type = static_cast<value_type>(et);
      v.count = c.read<uint64_t>("array length");
      const uint64_t min_size = min_encoded_size(v.element_type);
      if (v.count > c.remaining() / min_size)
        c.fail("array of " + std::to_string(v.count) + " " +
               std::string(value_type_name(v.element_type)) + " elements at offset " +
               std::to_string(start) + " cannot fit in the " + std::to_string(c.remaining()) +
               " bytes left in the file (file truncated or length corrupt)");
      const std::byte* first = c.here();
      if (v.element_type == value_type::string || v.element_type == value_type::array) {
        for (uint64_t i = 0; i < v.count; ++i) parse_value(c, v.element_type, depth + 1);
      } else {
        c.skip(v.count * min_size, "array elements");
        if (v.element_type == value_type::boolean)
          for (uint64_t i = 0; i < v.count; ++i)
            if (static_cast<uint8_t>(first[i]) > 1)
              c.fail("array of bool holds byte " + std::to_string(uint8_t(first[i])) +
                     ", expected 0 or 1");
      }
      v.payload = {first, static_cast<size_t>(c.here() - first)};
      return v;
    }
    default: {
      const uint64_t n = value_type_size(t);
      const std::byte* p = c.skip(n, "value");
      if (t == value_type::boolean && static_cast<uint8_t>(*p) > 1)
        c.fail("bool value holds byte " + std::to_string(uint8_t(*p)) + ", expected 0 or 1");
      v.payload = {p, static_cast<size_t>(n)};
      return v;
    }
  }
}

inline std::string format_dims(std::span<const uint64_t> dims) {
  std::string s;
  for (size_t i = 0; i < dims.size(); ++i) {
    if (i) s += 'x';
    s += std::to_string(dims[i]);
  }
  return s;
}

}  // namespace detail

inline std::optional<int64_t> metadata_value::as_int() const {
  const std::byte* p = payload.data();
  switch (type) {
    case value_type::u8:
      return detail::load<uint8_t>(p);
    case value_type::i8:
      return detail::load<int8_t>(p);
    case value_type::u16:
      return detail::load<uint16_t>(p);
    case value_type::i16:
      return detail::load<int16_t>(p);
    case value_type::u32:
      return detail::load<uint32_t>(p);
    case value_type::i32:
      return detail::load<int32_t>(p);
    case value_type::i64:
      return detail::load<int64_t>(p);
    case value_type::boolean:
      return detail::load<uint8_t>(p);
    case value_type::u64: {
      uint64_t u = detail::load<uint64_t>(p);
      if (u > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) return std::nullopt;
      return static_cast<int64_t>(u);
    }
    default:
      return std::nullopt;
  }
}

inline std::optional<uint64_t> metadata_value::as_uint() const {
  if (type == value_type::u64) return detail::load<uint64_t>(payload.data());
  auto i = as_int();
  if (!i || *i < 0) return std::nullopt;
  return static_cast<uint64_t>(*i);
}

inline std::optional<double> metadata_value::as_double() const {
  if (type == value_type::f32) return detail::load<float>(payload.data());
  if (type == value_type::f64) return detail::load<double>(payload.data());
  if (type == value_type::u64) return static_cast<double>(detail::load<uint64_t>(payload.data()));
  if (auto i = as_int()) return static_cast<double>(*i);
  return std::nullopt;
}

inline std::string_view metadata_value::as_string() const {
  if (type != value_type::string) return {};
  return {reinterpret_cast<const char*>(payload.data()), payload.size()};
}

inline std::vector<metadata_value> metadata_value::elements() const {
  std::vector<metadata_value> out;
  if (type != value_type::array) return out;
  out.reserve(static_cast<size_t>(count));
  detail::cursor c(payload);  // already validated when the file was opened
  for (uint64_t i = 0; i < count; ++i) out.push_back(detail::parse_value(c, element_type, 1));
  return out;
}

class file {
 public:
  file(const file&) = delete;
  file& operator=(const file&) = delete;
  file(file&&) noexcept = default;
  file& operator=(file&&) noexcept = default;

  // Maps (or, with file_access::read, reads) and validates a GGUF file; throws model_error
  // naming the path and the problem.
  static file open(const std::filesystem::path& p, file_access access = file_access::map) {
    file f;
    f.mapping_ = edgecloud::detail::mapped_file::open(p, access);
    try {
      f.parse(f.mapping_.bytes());
    } catch (const model_error& e) {
      throw model_error(p.string() + ": " + e.what());
    }
    return f;
  }

  // Validates GGUF bytes held by the caller (not copied; keep them alive and unchanged).
  static file from_memory(std::span<const std::byte> bytes) {
    file f;
    f.parse(bytes);
    return f;
  }

  // Throws model_error naming the file when it changed under its mapping (truncated, rewritten
  // in place, or a read faulted: detail::mapped_file::check). No-op for copies and from_memory.
  void check_intact() const { mapping_.check(); }
  // True once a read of the mapping faulted (SIGBUS repaired by model::guard_mapped_files()).
  bool faulted() const noexcept { return mapping_.faulted(); }
  // How the bytes are held; from_memory counts as read (the caller's copy).
  file_access access() const noexcept { return mapping_.access(); }

  uint32_t version() const noexcept { return version_; }
  uint64_t size_bytes() const noexcept { return bytes_.size(); }
  uint32_t alignment() const noexcept { return alignment_; }
  uint64_t data_offset() const noexcept { return data_offset_; }  // start of the data section
  std::span<const std::byte> bytes() const noexcept { return bytes_; }

  // Metadata in file order.
  const std::vector<metadata_entry>& metadata() const noexcept { return metadata_; }
  const metadata_value* find(std::string_view key) const {
    auto it = key_index_.find(key);
    return it == key_index_.end() ? nullptr : &metadata_[it->second].value;
  }
  bool has(std::string_view key) const { return find(key) != nullptr; }

  // Typed accessors: nullopt when the key is absent; model_error when it holds another type or a
  // value out of the asked range (e.g. a negative count for get_uint).
  std::optional<std::string_view> get_string(std::string_view key) const {
    const metadata_value* v = find(key);
    if (!v) return std::nullopt;
    if (v->type != value_type::string) wrong_type(key, *v, "a string");
    return v->as_string();
  }
  std::optional<uint64_t> get_uint(std::string_view key) const {
    const metadata_value* v = find(key);
    if (!v) return std::nullopt;
    if (!is_integer(v->type)) wrong_type(key, *v, "an integer");
    auto u = v->as_uint();
    if (!u)
      throw model_error("metadata " + std::string(key) + ": value " + std::to_string(*v->as_int()) +
                        " is negative, expected a count");
    return u;
  }
  std::optional<int64_t> get_int(std::string_view key) const {
    const metadata_value* v = find(key);
    if (!v) return std::nullopt;
    if (!is_integer(v->type)) wrong_type(key, *v, "an integer");
    auto i = v->as_int();
    if (!i)
      throw model_error("metadata " + std::string(key) + ": value " +
                        std::to_string(*v->as_uint()) + " does not fit in int64");
    return i;
  }
  std::optional<double> get_float(std::string_view key) const {
    const metadata_value* v = find(key);
    if (!v) return std::nullopt;
    if (!(is_integer(v->type) || v->type == value_type::f32 || v->type == value_type::f64))
      wrong_type(key, *v, "a number");
    return v->as_double();
  }
  std::optional<bool> get_bool(std::string_view key) const {
    const metadata_value* v = find(key);
    if (!v) return std::nullopt;
    if (v->type != value_type::boolean) wrong_type(key, *v, "a bool");
    return detail::load<uint8_t>(v->payload.data()) != 0;
  }
  // Empty when absent; model_error when the key is not an array of strings.
  std::vector<std::string_view> get_string_array(std::string_view key) const {
    std::vector<std::string_view> out;
    const metadata_value* v = find(key);
    if (!v) return out;
    if (v->type != value_type::array || v->element_type != value_type::string)
      wrong_type(key, *v, "an array of strings");
    out.reserve(static_cast<size_t>(v->count));
    const std::byte* p = v->payload.data();
    for (uint64_t i = 0; i < v->count; ++i) {  // validated at open: lengths stay in bounds
      uint64_t n = detail::load<uint64_t>(p);
      out.emplace_back(reinterpret_cast<const char*>(p + 8), static_cast<size_t>(n));
      p += 8 + n;
    }
    return out;
  }
  // Empty when absent; model_error when the key is not an array of integers or a u64 element
  // does not fit in int64.
  std::vector<int64_t> get_int_array(std::string_view key) const {
    std::vector<int64_t> out;
    const metadata_value* v = find(key);
    if (!v) return out;
    if (v->type != value_type::array || !is_integer(v->element_type))
      wrong_type(key, *v, "an array of integers");
    out.reserve(static_cast<size_t>(v->count));
    const uint64_t w = value_type_size(v->element_type);
    for (uint64_t i = 0; i < v->count; ++i) {
      metadata_value e{v->element_type, value_type::u8, 0, v->payload.subspan(i * w, w)};
      auto x = e.as_int();
      if (!x)
        throw model_error("metadata " + std::string(key) + ": element " + std::to_string(i) +
                          " does not fit in int64");
      out.push_back(*x);
    }
    return out;
  }
  // Empty when absent; model_error unless an array of numbers.
  std::vector<double> get_float_array(std::string_view key) const {
    std::vector<double> out;
    const metadata_value* v = find(key);
    if (!v) return out;
    if (v->type != value_type::array ||
        !(is_integer(v->element_type) || v->element_type == value_type::f32 ||
          v->element_type == value_type::f64))
      wrong_type(key, *v, "an array of numbers");
    out.reserve(static_cast<size_t>(v->count));
    const uint64_t w = value_type_size(v->element_type);
    for (uint64_t i = 0; i < v->count; ++i) {
      metadata_value e{v->element_type, value_type::u8, 0, v->payload.subspan(i * w, w)};
      out.push_back(*e.as_double());
    }
    return out;
  }

  const tensor_info* find_tensor(std::string_view name) const {
    auto it = tensor_index_.find(name);
    return it == tensor_index_.end() ? nullptr : &tensors_[it->second];
  }
  const std::vector<tensor_info>& tensors() const noexcept { return tensors_; }

  // The tensor `name` with exactly these dims (GGUF order, dims[0] = columns) and one of the
  // allowed GGML types (an empty list allows any shape / any type); otherwise model_error like
  // "tensor blk.3.attn_q.weight: expected 1024x2048 Q8_0, file has 1024x1024 F16".
  const tensor_info& require_tensor(std::string_view name, std::initializer_list<uint64_t> dims,
                                    std::initializer_list<uint32_t> allowed_types) const {
    const tensor_info* t = find_tensor(name);
    std::string expected =
        dims.size() ? detail::format_dims({dims.begin(), dims.size()}) : "any shape";
    if (allowed_types.size()) {
      expected += ' ';
      bool first = true;
      for (uint32_t a : allowed_types) {
        if (!first) expected += '|';
        expected += ggml_type_name(a);
        first = false;
      }
    }
    if (!t)
      throw model_error("tensor " + std::string(name) + ": expected " + expected +
                        ", the file has no such tensor");
    bool dims_ok =
        dims.size() == 0 || std::equal(t->dims.begin(), t->dims.end(), dims.begin(), dims.end());
    bool type_ok =
        allowed_types.size() == 0 ||
        std::find(allowed_types.begin(), allowed_types.end(), t->type) != allowed_types.end();
    if (!dims_ok || !type_ok)
      throw model_error("tensor " + std::string(name) + ": expected " + expected + ", file has " +
                        detail::format_dims(t->dims) + " " + ggml_type_name(t->type));
    return *t;
  }

 private:
  file() = default;

  [[noreturn]] static void wrong_type(std::string_view key, const metadata_value& v,
                                      const char* expected) {
    std::string has(value_type_name(v.type));
    if (v.type == value_type::array)
      has = "an array of " + std::string(value_type_name(v.element_type));
    throw model_error("metadata " + std::string(key) + ": expected " + expected + ", file has " +
                      has);
  }

  void parse(std::span<const std::byte> bytes) {
    bytes_ = bytes;
    detail::cursor c(bytes);
    if (bytes.size() < 4 || std::memcmp(bytes.data(), "GGUF", 4) != 0)
      c.fail(bytes.size() < 4
                 ? "file of " + std::to_string(bytes.size()) + " bytes is too short to be GGUF"
                 : "not a GGUF file (the first 4 bytes are not \"GGUF\")");
    c.skip(4, "magic");
    version_ = c.read<uint32_t>("version");
    if (version_ != 2 && version_ != 3) {
      if (version_ == 1) c.fail("GGUF version 1 is not supported (convert to version 3)");
      if (version_ == 0x02000000u || version_ == 0x03000000u)
        c.fail("big-endian GGUF files are not supported");
      c.fail("unsupported GGUF version " + std::to_string(version_) + " (expected 2 or 3)");
    }
    const uint64_t n_tensors = c.read<uint64_t>("tensor count");
    const uint64_t n_kv = c.read<uint64_t>("metadata count");
    // Each KV takes >= 8 (key length) + 4 (type) + 1 bytes; each tensor info >= 8 (name length)
    // + 4 (n_dims) + 8 (one dim) + 4 (type) + 8 (offset).
    if (n_kv > c.remaining() / 13)
      c.fail("metadata count " + std::to_string(n_kv) + " cannot fit in a file of " +
             std::to_string(bytes.size()) + " bytes (file truncated or count corrupt)");
    if (n_tensors > (c.remaining() - n_kv * 13) / 32)
      c.fail("tensor count " + std::to_string(n_tensors) + " cannot fit in a file of " +
             std::to_string(bytes.size()) + " bytes (file truncated or count corrupt)");

    metadata_.reserve(static_cast<size_t>(n_kv));
    key_index_.reserve(static_cast<size_t>(n_kv));
    for (uint64_t i = 0; i < n_kv; ++i) {
      c.set_context("metadata entry " + std::to_string(i));
      std::string_view key = c.read_string("key", 65535);
      c.set_context("metadata " + std::string(key));
      uint32_t t = c.read<uint32_t>("value type");
      if (!detail::valid_value_type(t))
        c.fail("value type " + std::to_string(t) + " is not a GGUF value type (0..12)");
      metadata_value v = detail::parse_value(c, static_cast<value_type>(t), 0);
      if (!key_index_.emplace(key, metadata_.size()).second) c.fail("duplicate key");
      metadata_.push_back({key, v});
    }
    c.set_context("");

    alignment_ = default_alignment;
    if (const metadata_value* a = find("general.alignment")) {
      auto al = is_integer(a->type) ? a->as_uint() : std::nullopt;
      if (!al || *al == 0 || !std::has_single_bit(*al) || *al > (uint64_t{1} << 30))
        c.fail("general.alignment must be a power of two between 1 and 2^30");
      alignment_ = static_cast<uint32_t>(*al);
    }

    tensors_.reserve(static_cast<size_t>(n_tensors));
    tensor_index_.reserve(static_cast<size_t>(n_tensors));
    for (uint64_t i = 0; i < n_tensors; ++i) {
      c.set_context("tensor info " + std::to_string(i));
      tensor_info t;
      std::string_view name = c.read_string("tensor name", max_tensor_name_bytes);
      t.name = std::string(name);
      c.set_context("tensor " + t.name);
      uint32_t n_dims = c.read<uint32_t>("dimension count");
      if (n_dims == 0 || n_dims > max_dims)
        c.fail("has " + std::to_string(n_dims) + " dimensions, expected 1 to " +
               std::to_string(max_dims));
      t.dims.resize(n_dims);
      uint64_t elements = 1;
      for (uint32_t d = 0; d < n_dims; ++d) {
        t.dims[d] = c.read<uint64_t>("dimension");
        if (t.dims[d] == 0) c.fail("dimension " + std::to_string(d) + " is 0");
        if (elements > static_cast<uint64_t>(std::numeric_limits<int64_t>::max()) / t.dims[d])
          c.fail("dims " + detail::format_dims(t.dims) + " overflow the element count");
        elements *= t.dims[d];
      }
      t.type = c.read<uint32_t>("tensor type");
      const ggml_type_traits* traits = find_ggml_type(t.type);
      if (!traits) c.fail("unknown GGML tensor type id " + std::to_string(t.type));
      if (t.dims[0] % traits->block_elems != 0)
        c.fail("row length " + std::to_string(t.dims[0]) + " is not a multiple of the " +
               std::to_string(traits->block_elems) + "-element blocks of " +
               std::string(traits->name));
      auto nb = tensor_bytes(t.type, t.dims);
      if (!nb) c.fail("byte size of " + detail::format_dims(t.dims) + " overflows");
      t.n_bytes = *nb;
      t.offset = c.read<uint64_t>("data offset");
      if (t.offset % alignment_ != 0)
        c.fail("data offset " + std::to_string(t.offset) + " is not a multiple of the alignment " +
               std::to_string(alignment_));
      tensors_.push_back(std::move(t));
    }
    c.set_context("");
    // Names are indexed only once the vector stops growing (views point into its strings).
    for (size_t i = 0; i < tensors_.size(); ++i)
      if (!tensor_index_.emplace(tensors_[i].name, i).second)
        throw model_error("tensor " + tensors_[i].name + ": duplicate tensor name");

    // Data section: header end rounded up to the alignment.
    const uint64_t header_end = c.pos();
    data_offset_ = (header_end + alignment_ - 1) / alignment_ * alignment_;
    const uint64_t size = bytes.size();
    const uint64_t data_size = data_offset_ <= size ? size - data_offset_ : 0;
    if (!tensors_.empty() && data_offset_ > size)
      c.fail("file truncated: the data section would start at offset " +
             std::to_string(data_offset_) + " but the file is " + std::to_string(size) + " bytes");
    for (auto& t : tensors_) {
      if (t.offset > data_size || t.n_bytes > data_size - t.offset)
        throw model_error("tensor " + t.name + ": data [" + std::to_string(t.offset) + ", " +
                          std::to_string(t.offset) + "+" + std::to_string(t.n_bytes) +
                          ") lies outside the data section of " + std::to_string(data_size) +
                          " bytes (file truncated or offset corrupt)");
      t.data = bytes.data() + data_offset_ + t.offset;
    }
    std::vector<size_t> order(tensors_.size());
    std::iota(order.begin(), order.end(), size_t{0});
    std::sort(order.begin(), order.end(),
              [&](size_t a, size_t b) { return tensors_[a].offset < tensors_[b].offset; });
    for (size_t i = 1; i < order.size(); ++i) {
      const tensor_info& prev = tensors_[order[i - 1]];
      const tensor_info& cur = tensors_[order[i]];
      if (prev.offset + prev.n_bytes > cur.offset)
        throw model_error("tensors " + prev.name + " and " + cur.name + " overlap in the file");
    }
  }

  edgecloud::detail::mapped_file mapping_;  // empty for from_memory
  std::span<const std::byte> bytes_;
  uint32_t version_ = 0;
  uint32_t alignment_ = default_alignment;
  uint64_t data_offset_ = 0;
  std::vector<metadata_entry> metadata_;
  std::unordered_map<std::string_view, size_t> key_index_;  // views into the file bytes
  std::vector<tensor_info> tensors_;
  std::unordered_map<std::string_view, size_t> tensor_index_;  // views into tensors_[i].name
};

}  // namespace edgecloud::gguf
