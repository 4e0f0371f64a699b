// SPDX-License-Identifier: Apache-2.0
// GGUF writer: metadata of every GGUF value type (nested arrays included) and tensors of any GGML
// type with a known layout, written as GGUF v3 (or v2) with `general.alignment` padding.
//
//   gguf::writer w;
//   w.add_string("general.architecture", "qwen3");
//   w.add_u32("qwen3.block_count", 2);
//   w.add_string_array("tokenizer.ggml.tokens", tokens);
//   w.add_tensor("output_norm.weight", {64}, gguf::type_f32, bytes);          // copied now
//   w.add_tensor("token_embd.weight", {64, 1024}, gguf::type_q8_0,
//                [&](gguf::byte_sink& out) { /* write exactly the tensor's bytes */ });
//   w.write("model.gguf");       // or w.to_bytes() for an in-memory file
//
// Ownership: the writer owns the metadata it was given and copies of tensors added as bytes.
// Tensors added with a producer are streamed: the producer runs during write() and writes the
// tensor's bytes to the sink, so a whole model never has to sit in memory. A producer must
// write exactly the tensor's byte size (checked) and may be called once per write().
//
// Used by `edgecloud make-model`, and by tests that build models of other shapes and, patching
// the bytes afterwards, hostile files for the reader.
#pragma once

#include <algorithm>
#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <edgecloud/error.hpp>
#include <edgecloud/model/gguf_types.hpp>
#include <filesystem>
#include <functional>
#include <optional>
#include <set>
#include <span>
#include <string>
#include <string_view>
#include <system_error>
#include <type_traits>
#include <vector>

namespace edgecloud::gguf {

// Destination of a written file: a file on disk or a buffer.
class byte_sink {
 public:
  virtual ~byte_sink() = default;
  virtual void write(const void* data, size_t n) = 0;
  void write(std::span<const std::byte> b) { write(b.data(), b.size()); }
};

class memory_sink final : public byte_sink {
 public:
  void write(const void* data, size_t n) override {
    const auto* p = static_cast<const std::byte*>(data);
    bytes.insert(bytes.end(), p, p + n);
  }
  std::vector<std::byte> bytes;
};

// Buffered file output; throws config_error on any I/O failure (disk full, no permission).
class file_sink final : public byte_sink {
 public:
  explicit file_sink(const std::filesystem::path& p) : path_(p) {
    f_ = std::fopen(p.c_str(), "wb");
    if (!f_) throw config_error("cannot create " + p.string() + ": " + std::strerror(errno));
    std::setvbuf(f_, nullptr, _IOFBF, 1 << 22);
  }
  file_sink(const file_sink&) = delete;
  file_sink& operator=(const file_sink&) = delete;
  ~file_sink() override {
    if (f_) std::fclose(f_);
  }
  void write(const void* data, size_t n) override {
    if (n && std::fwrite(data, 1, n, f_) != n)
      throw config_error("cannot write " + path_.string() + ": " + std::strerror(errno));
  }
  void close() {
    std::FILE* f = f_;
    f_ = nullptr;
    if (std::fclose(f) != 0)
      throw config_error("cannot write " + path_.string() + ": " + std::strerror(errno));
  }

 private:
  std::filesystem::path path_;
  std::FILE* f_ = nullptr;
};

namespace detail {
template <class T>
void append_raw(std::string& out, const T& v) {
  static_assert(std::is_trivially_copyable_v<T>);
  out.append(reinterpret_cast<const char*>(&v), sizeof(T));
}
inline void append_string(std::string& out, std::string_view s) {
  append_raw(out, static_cast<uint64_t>(s.size()));
  out.append(s);
}
template <class T>
constexpr value_type value_type_of() {
  if constexpr (std::is_same_v<T, uint8_t>)
    return value_type::u8;
  else if constexpr (std::is_same_v<T, int8_t>)
    return value_type::i8;
  else if constexpr (std::is_same_v<T, uint16_t>)
    return value_type::u16;
  else if constexpr (std::is_same_v<T, int16_t>)
    return value_type::i16;
  else if constexpr (std::is_same_v<T, uint32_t>)
    return value_type::u32;
  else if constexpr (std::is_same_v<T, int32_t>)
    return value_type::i32;
  else if constexpr (std::is_same_v<T, float>)
    return value_type::f32;
  else if constexpr (std::is_same_v<T, bool>)
    return value_type::boolean;
  else if constexpr (std::is_same_v<T, uint64_t>)
    return value_type::u64;
  else if constexpr (std::is_same_v<T, int64_t>)
    return value_type::i64;
  else if constexpr (std::is_same_v<T, double>)
    return value_type::f64;
  else
    static_assert(sizeof(T) == 0, "not a GGUF scalar type");
}
}  // namespace detail

// An encoded GGUF array: element type, count and the elements' bytes. Arrays may hold arrays.
struct array_value {
  value_type element_type = value_type::u8;
  uint64_t count = 0;
  std::string encoded;  // the elements as they appear in the file

  template <class T>
  static array_value of(std::span<const T> values) {
    array_value a;
    a.element_type = detail::value_type_of<T>();
    a.count = values.size();
    for (const T& v : values) {
      if constexpr (std::is_same_v<T, bool>)
        detail::append_raw(a.encoded, uint8_t(v ? 1 : 0));
      else
        detail::append_raw(a.encoded, v);
    }
    return a;
  }
  template <class T>
  static array_value of(const std::vector<T>& values) {
    if constexpr (std::is_same_v<T, bool>) {
      std::vector<uint8_t> bytes(values.begin(), values.end());
      array_value a = of<uint8_t>(std::span<const uint8_t>(bytes));
      a.element_type = value_type::boolean;
      return a;
    } else {
      return of<T>(std::span<const T>(values));
    }
  }
  template <class S>
  static array_value of_strings(const S& strings) {
    array_value a;
    a.element_type = value_type::string;
    for (const auto& s : strings) {
      detail::append_string(a.encoded, std::string_view(s));
      ++a.count;
    }
    return a;
  }
  static array_value of_arrays(std::span<const array_value> arrays) {
    array_value a;
    a.element_type = value_type::array;
    a.count = arrays.size();
    for (const auto& x : arrays) {
      detail::append_raw(a.encoded, static_cast<uint32_t>(x.element_type));
      detail::append_raw(a.encoded, x.count);
      a.encoded += x.encoded;
    }
    return a;
  }
};

class writer {
 public:
  using producer = std::function<void(byte_sink&)>;

  writer() = default;

  // GGUF 3 by default; 2 differs only in the version field.
  void set_version(uint32_t v) {
    if (v != 2 && v != 3) throw config_error("GGUF writer: version must be 2 or 3");
    version_ = v;
  }
  // Records `general.alignment` (u32) and pads the data section and every tensor to it.
  void set_alignment(uint32_t a) { add_u32("general.alignment", a); }
  uint32_t alignment() const noexcept { return alignment_; }

  void add_u8(std::string_view key, uint8_t v) { add_scalar(key, v); }
  void add_i8(std::string_view key, int8_t v) { add_scalar(key, v); }
  void add_u16(std::string_view key, uint16_t v) { add_scalar(key, v); }
  void add_i16(std::string_view key, int16_t v) { add_scalar(key, v); }
  // `general.alignment` given as a u32 (here, by set_alignment or add_encoded) sets the padding.
  void add_u32(std::string_view key, uint32_t v) {
    if (key == "general.alignment") note_alignment(v);
    add_scalar(key, v);
  }
  void add_i32(std::string_view key, int32_t v) { add_scalar(key, v); }
  void add_f32(std::string_view key, float v) { add_scalar(key, v); }
  void add_bool(std::string_view key, bool v) { add_scalar(key, v); }
  void add_u64(std::string_view key, uint64_t v) { add_scalar(key, v); }
  void add_i64(std::string_view key, int64_t v) { add_scalar(key, v); }
  void add_f64(std::string_view key, double v) { add_scalar(key, v); }
  void add_string(std::string_view key, std::string_view v) {
    std::string& out = begin_kv(key, value_type::string);
    detail::append_string(out, v);
  }
  void add_array(std::string_view key, const array_value& a) {
    std::string& out = begin_kv(key, value_type::array);
    detail::append_raw(out, static_cast<uint32_t>(a.element_type));
    detail::append_raw(out, a.count);
    out += a.encoded;
  }
  // A value given as its encoded bytes (everything after the u32 type), unchecked: to copy
  // metadata from another file verbatim, or to build deliberately broken files in tests. A valid
  // u32 `general.alignment` sets the padding; an invalid one is written but not followed.
  void add_encoded(std::string_view key, value_type t, std::string_view encoded) {
    if (key == "general.alignment" && t == value_type::u32 && encoded.size() == 4) {
      uint32_t a;
      std::memcpy(&a, encoded.data(), 4);
      if (a != 0 && (a & (a - 1)) == 0 && a <= (1u << 30)) note_alignment(a);
    }
    begin_kv(key, t).append(encoded);
  }
  template <class S>
  void add_string_array(std::string_view key, const S& strings) {
    add_array(key, array_value::of_strings(strings));
  }
  template <class T>
  void add_array(std::string_view key, const std::vector<T>& values) {
    add_array(key, array_value::of(values));
  }

  // A tensor whose bytes are copied now (size must match dims and type).
  void add_tensor(std::string_view name, std::vector<uint64_t> dims, uint32_t type,
                  std::span<const std::byte> data) {
    add_tensor_info(name, std::move(dims), type, data.size());
    tensors_.back().bytes.assign(data.begin(), data.end());
  }
  void add_tensor(std::string_view name, std::vector<uint64_t> dims, std::span<const float> f32) {
    add_tensor(name, std::move(dims), type_f32, std::as_bytes(f32));
  }
  // A tensor whose bytes `produce` streams during write().
  void add_tensor(std::string_view name, std::vector<uint64_t> dims, uint32_t type,
                  producer produce) {
    add_tensor_info(name, std::move(dims), type);
    tensors_.back().produce = std::move(produce);
  }

  size_t n_tensors() const noexcept { return tensors_.size(); }
  size_t n_metadata() const noexcept { return kv_count_; }

  // Total bytes write() will produce.
  uint64_t file_size() const {
    uint64_t end = align(header().size());
    for (const auto& t : tensors_) end = align(end + t.n_bytes);
    return tensors_.empty() ? header().size() : end;
  }

  void write(byte_sink& out) const {
    const std::string h = header();
    out.write(h.data(), h.size());
    if (tensors_.empty()) return;
    write_padding(out, h.size());
    for (const auto& t : tensors_) {
      if (t.produce) {
        counting_sink counted(out);
        t.produce(counted);
        if (counted.n != t.n_bytes)
          throw config_error("GGUF writer: the producer of tensor " + t.name + " wrote " +
                             std::to_string(counted.n) + " bytes, expected " +
                             std::to_string(t.n_bytes));
      } else {
        out.write(t.bytes.data(), t.bytes.size());
      }
      write_padding(out, t.n_bytes);
    }
  }
  // Writes to `path` through a temporary file renamed at the end, so a failed or interrupted
  // write never leaves a truncated model under the final name.
  void write(const std::filesystem::path& path) const {
    std::filesystem::path tmp = path;
    tmp += ".partial";
    try {
      file_sink sink(tmp);
      write(static_cast<byte_sink&>(sink));
      sink.close();
      std::filesystem::rename(tmp, path);
    } catch (...) {
      std::error_code ec;
      std::filesystem::remove(tmp, ec);
      throw;
    }
  }
  std::vector<std::byte> to_bytes() const {
    memory_sink m;
    m.bytes.reserve(static_cast<size_t>(file_size()));
    write(m);
    return std::move(m.bytes);
  }

 private:
  struct tensor_entry {
    std::string name;
    std::vector<uint64_t> dims;
    uint32_t type;
    uint64_t offset;
    uint64_t n_bytes;
    std::vector<std::byte> bytes;
    producer produce;
  };
  struct counting_sink final : byte_sink {
    explicit counting_sink(byte_sink& o) : out(o) {}
    void write(const void* d, size_t k) override {
      n += k;
      out.write(d, k);
    }
    byte_sink& out;
    uint64_t n = 0;
  };

  void note_alignment(uint32_t a) {
    if (a == 0 || (a & (a - 1)) != 0 || a > (1u << 30))
      throw config_error("GGUF writer: alignment must be a power of two");
    if (!tensors_.empty())
      throw config_error("GGUF writer: general.alignment must be set before the first tensor");
    alignment_ = a;
  }
  template <class T>
  void add_scalar(std::string_view key, T v) {
    std::string& out = begin_kv(key, detail::value_type_of<T>());
    if constexpr (std::is_same_v<T, bool>)
      detail::append_raw(out, uint8_t(v ? 1 : 0));
    else
      detail::append_raw(out, v);
  }
  std::string& begin_kv(std::string_view key, value_type t) {
    if (!keys_.insert(std::string(key)).second) {
      // set_alignment() may restate general.alignment; everything else is a caller bug.
      if (key != "general.alignment")
        throw config_error("GGUF writer: duplicate metadata key " + std::string(key));
      erase_kv(key);
    }
    detail::append_string(kv_, key);
    detail::append_raw(kv_, static_cast<uint32_t>(t));
    ++kv_count_;
    kv_starts_.push_back({std::string(key), kv_.size() - 12 - key.size()});
    return kv_;
  }
  void erase_kv(std::string_view key) {
    // Rebuild the KV block without `key` (rare: only a repeated set_alignment()).
    for (size_t i = 0; i < kv_starts_.size(); ++i) {
      if (kv_starts_[i].first != key) continue;
      size_t begin = kv_starts_[i].second;
      size_t end = i + 1 < kv_starts_.size() ? kv_starts_[i + 1].second : kv_.size();
      kv_.erase(begin, end - begin);
      for (size_t j = i + 1; j < kv_starts_.size(); ++j) kv_starts_[j].second -= end - begin;
      kv_starts_.erase(kv_starts_.begin() + static_cast<std::ptrdiff_t>(i));
      --kv_count_;
      return;
    }
  }
  // Validates everything before recording anything, so a rejected tensor leaves no trace.
  void add_tensor_info(std::string_view name, std::vector<uint64_t> dims, uint32_t type,
                       std::optional<uint64_t> given_bytes = std::nullopt) {
    std::string n(name);
    if (n.size() > 64) throw config_error("GGUF writer: tensor name longer than 64 bytes: " + n);
    if (tensor_names_.count(n)) throw config_error("GGUF writer: duplicate tensor " + n);
    if (dims.empty() || dims.size() > 4)
      throw config_error("GGUF writer: tensor " + n + " needs 1 to 4 dims");
    for (uint64_t d : dims)
      if (d == 0) throw config_error("GGUF writer: tensor " + n + " has a zero dim");
    auto bytes = tensor_bytes(type, dims);
    if (!bytes)
      throw config_error("GGUF writer: tensor " + n + ": " + ggml_type_name(type) +
                         " cannot hold these dims (unknown type, row not a whole number of "
                         "blocks, or too large)");
    if (given_bytes && *given_bytes != *bytes)
      throw config_error("GGUF writer: tensor " + n + " needs " + std::to_string(*bytes) +
                         " bytes, got " + std::to_string(*given_bytes));
    tensor_names_.insert(n);
    uint64_t offset = 0;
    if (!tensors_.empty()) offset = align(tensors_.back().offset + tensors_.back().n_bytes);
    tensors_.push_back({std::move(n), std::move(dims), type, offset, *bytes, {}, {}});
  }
  uint64_t align(uint64_t x) const { return (x + alignment_ - 1) / alignment_ * alignment_; }
  void write_padding(byte_sink& out, uint64_t written) const {
    static const char zeros[1 << 10] = {};
    uint64_t pad = align(written) - written;
    while (pad) {
      size_t k = static_cast<size_t>(std::min<uint64_t>(pad, sizeof zeros));
      out.write(zeros, k);
      pad -= k;
    }
  }
  std::string header() const {
    std::string h;
    h.append("GGUF", 4);
    detail::append_raw(h, version_);
    detail::append_raw(h, static_cast<uint64_t>(tensors_.size()));
    detail::append_raw(h, static_cast<uint64_t>(kv_count_));
    h += kv_;
    for (const auto& t : tensors_) {
      detail::append_string(h, t.name);
      detail::append_raw(h, static_cast<uint32_t>(t.dims.size()));
      for (uint64_t d : t.dims) detail::append_raw(h, d);
      detail::append_raw(h, t.type);
      detail::append_raw(h, t.offset);
    }
    return h;
  }

  uint32_t version_ = 3;
  uint32_t alignment_ = 32;
  std::string kv_;  // encoded KV pairs in insertion order
  uint64_t kv_count_ = 0;
  std::vector<std::pair<std::string, size_t>> kv_starts_;
  std::set<std::string> keys_;
  std::set<std::string> tensor_names_;
  std::vector<tensor_entry> tensors_;
};

}  // namespace edgecloud::gguf
