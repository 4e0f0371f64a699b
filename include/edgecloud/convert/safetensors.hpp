// SPDX-License-Identifier: Apache-2.0
// Reader (and a small writer) of Hugging Face `.safetensors` files and sharded checkpoints.
//
// File layout (https://github.com/huggingface/safetensors):
//   u64 LE  N                      header length
//   N bytes JSON header            {"__metadata__": {str: str}, "<name>": {"dtype": "BF16",
//                                   "shape": [rows, cols], "data_offsets": [begin, end]}, ...}
//   data                           tensors, row-major (last dim fastest), offsets relative here
//
// The reader treats every byte as hostile: it accepts a file only if the header is at most
// 100 MB and inside the file, the JSON is an object without duplicate names, every tensor has a
// supported dtype (BF16, F16, F32; F64, integers, FP8... are refused by name), its byte count
// equals prod(shape) * element size (no overflow), and the tensors, sorted by offset, tile the
// data section exactly: the first starts at 0, each starts where the previous ends, the last
// ends at the end of the file (the rules of the reference Rust implementation). Errors are
// model_error naming the file and the tensor. So an accepted tensor always lies inside the file
// and no two overlap (the fuzz target checks both).
//
// A `checkpoint` is a whole model: `model.safetensors`, or `model.safetensors.index.json` whose
// weight_map names shards (`model-00001-of-00002.safetensors`...). Shard names must be plain
// file names in the directory; every shard of the n-of-m series must be present; every tensor
// of the index must be in its shard and every tensor of a shard in the index.
//
// Tensors are read as f32 rows (BF16/F16 widened exactly) straight from the mapping, a block of
// rows at a time, and release() returns a tensor's pages to the kernel, so converting a
// checkpoint tensor by tensor keeps the resident set at a few tensors, not the whole file.
//
// Ownership: a safetensors_file owns its mapping (move-only); st_tensor::data points into it and
// lives as long as the file. A checkpoint owns its shards.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <edgecloud/error.hpp>
#include <edgecloud/kernels/types.hpp>
#include <edgecloud/model/mapped_file.hpp>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <regex>
#include <set>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#if EDGECLOUD_HAS_MMAP
#include <sys/mman.h>
#include <unistd.h>
#endif

namespace edgecloud::convert {

enum class st_dtype { f32, f16, bf16 };

inline const char* st_dtype_name(st_dtype t) noexcept {
  switch (t) {
    case st_dtype::f32:
      return "F32";
    case st_dtype::f16:
      return "F16";
    case st_dtype::bf16:
      return "BF16";
  }
  return "?";
}
inline size_t st_dtype_size(st_dtype t) noexcept {
  return t == st_dtype::f32 ? 4 : 2;
}

struct st_tensor {
  std::string name;
  st_dtype dtype = st_dtype::f32;
  std::vector<uint64_t> shape;  // as torch: shape.back() is the contiguous (row) dimension
  uint64_t begin = 0, end = 0;  // absolute byte offsets in the file
  const std::byte* data = nullptr;

  uint64_t n_elements() const {
    uint64_t n = 1;
    for (uint64_t d : shape) n *= d;
    return n;
  }
  uint64_t n_bytes() const noexcept { return end - begin; }
  // Row view: the last dim is the row length; all the others multiply into rows (a 1-D or 0-D
  // tensor is one row).
  uint64_t cols() const noexcept { return shape.empty() ? 1 : shape.back(); }
  uint64_t rows() const noexcept {
    uint64_t r = 1;
    for (size_t i = 0; i + 1 < shape.size(); ++i) r *= shape[i];
    return r;
  }
};

namespace detail {

inline constexpr uint64_t max_header_bytes = 100'000'000;  // the reference implementation's limit

inline std::optional<st_dtype> parse_dtype(std::string_view s) {
  if (s == "F32") return st_dtype::f32;
  if (s == "F16") return st_dtype::f16;
  if (s == "BF16") return st_dtype::bf16;
  return std::nullopt;
}

// Widens `n` elements of `t` at `src` (any alignment) to floats.
inline void to_f32(st_dtype t, const std::byte* src, float* out, size_t n) {
  switch (t) {
    case st_dtype::f32:
      std::memcpy(out, src, n * 4);
      return;
    case st_dtype::f16:
      for (size_t i = 0; i < n; ++i) {
        uint16_t h;
        std::memcpy(&h, src + 2 * i, 2);
        out[i] = kernels::fp16_to_fp32(h);
      }
      return;
    case st_dtype::bf16:
      for (size_t i = 0; i < n; ++i) {
        uint16_t h;
        std::memcpy(&h, src + 2 * i, 2);
        out[i] = kernels::bf16_to_fp32(h);
      }
      return;
  }
}

}  // namespace detail

// The parsed header of a safetensors image: tensors in file order of their offsets, metadata.
// `data` pointers point into `bytes`. Throws model_error("<where>: ...") on any violation.
struct st_header {
  std::vector<st_tensor> tensors;  // sorted by offset
  std::map<std::string, std::string> metadata;
  uint64_t data_start = 0;  // 8 + N

  static st_header parse(std::span<const std::byte> bytes, const std::string& where) {
    auto fail = [&](const std::string& msg) -> void { throw model_error(where + ": " + msg); };
    if (bytes.size() < 8)
      fail("file of " + std::to_string(bytes.size()) +
           " bytes is too short for a safetensors header (8-byte length + JSON)");
    uint64_t n = 0;
    for (int i = 7; i >= 0; --i) n = (n << 8) | std::to_integer<uint64_t>(bytes[size_t(i)]);
    if (n > detail::max_header_bytes)
      fail("header length " + std::to_string(n) + " exceeds the 100 MB safetensors limit");
    if (n > bytes.size() - 8)
      fail("header length " + std::to_string(n) + " runs past the end of the " +
           std::to_string(bytes.size()) + "-byte file (truncated or not a safetensors file)");
    if (n < 2) fail("header of " + std::to_string(n) + " bytes cannot hold a JSON object");
    st_header h;
    h.data_start = 8 + n;
    const auto* text = reinterpret_cast<const char*>(bytes.data() + 8);
    // Duplicate names: nlohmann keeps the last silently; the callback sees every key first.
    std::set<std::string> seen;
    std::string duplicate;
    auto on_event = [&](int depth, nlohmann::json::parse_event_t ev, nlohmann::json& parsed) {
      if (ev == nlohmann::json::parse_event_t::key && depth == 1 && parsed.is_string() &&
          !seen.insert(parsed.get<std::string>()).second && duplicate.empty())
        duplicate = parsed.get<std::string>();
      return true;
    };
    nlohmann::json j;
    try {
      j = nlohmann::json::parse(text, text + n, on_event);
    } catch (const nlohmann::json::exception& e) {
      fail(std::string("header is not valid JSON: ") + e.what());
    }
    if (!duplicate.empty()) fail("tensor " + duplicate + " is named twice in the header");
    if (!j.is_object()) fail("header is not a JSON object");
    const uint64_t data_size = bytes.size() - h.data_start;
    for (auto it = j.begin(); it != j.end(); ++it) {
      const std::string& name = it.key();
      const nlohmann::json& v = it.value();
      if (name == "__metadata__") {
        if (v.is_null()) continue;
        if (!v.is_object()) fail("__metadata__ is not an object of strings");
        for (auto m = v.begin(); m != v.end(); ++m) {
          if (!m.value().is_string()) fail("__metadata__ value " + m.key() + " is not a string");
          h.metadata[m.key()] = m.value().get<std::string>();
        }
        continue;
      }
      const std::string t = "tensor " + (name.empty() ? std::string("\"\"") : name) + ": ";
      if (name.empty()) fail("a tensor has an empty name");
      if (!v.is_object()) fail(t + "entry is not an object");
      if (!v.contains("dtype") || !v["dtype"].is_string()) fail(t + "no dtype string");
      const std::string dt = v["dtype"].get<std::string>();
      const auto dtype = detail::parse_dtype(dt);
      if (!dtype)
        fail(t + "dtype " + dt + " is not supported (only BF16, F16 and F32 weights are)");
      if (!v.contains("shape") || !v["shape"].is_array()) fail(t + "no shape array");
      if (v["shape"].size() > 8) fail(t + "more than 8 dims");
      st_tensor s;
      s.name = name;
      s.dtype = *dtype;
      uint64_t count = 1;
      bool overflow = false;
      for (const auto& d : v["shape"]) {
        if (!d.is_number_unsigned() && !(d.is_number_integer() && d.get<int64_t>() >= 0))
          fail(t + "shape " + v["shape"].dump() + " has a dim that is not a non-negative integer");
        const uint64_t dim = d.get<uint64_t>();
        if (dim && count > UINT64_MAX / dim) overflow = true;
        count *= dim;
        s.shape.push_back(dim);
      }
      if (overflow || count > UINT64_MAX / 4) fail(t + "shape " + v["shape"].dump() + " overflows");
      if (!v.contains("data_offsets") || !v["data_offsets"].is_array() ||
          v["data_offsets"].size() != 2)
        fail(t + "data_offsets is not a [begin, end] pair");
      for (const auto& o : v["data_offsets"])
        if (!o.is_number_unsigned() && !(o.is_number_integer() && o.get<int64_t>() >= 0))
          fail(t + "data_offsets " + v["data_offsets"].dump() + " are not non-negative integers");
      const uint64_t b = v["data_offsets"][0].get<uint64_t>(),
                     e = v["data_offsets"][1].get<uint64_t>();
      if (e < b)
        fail(t + "data_offsets [" + std::to_string(b) + ", " + std::to_string(e) +
             "] end before they begin");
      if (e > data_size)
        fail(t + "data_offsets end " + std::to_string(e) + " is past the end of the data (" +
             std::to_string(data_size) + " bytes)");
      const uint64_t want = count * st_dtype_size(*dtype);
      if (e - b != want)
        fail(t + "shape " + v["shape"].dump() + " of " + dt + " needs " + std::to_string(want) +
             " bytes, data_offsets give " + std::to_string(e - b));
      s.begin = h.data_start + b;
      s.end = h.data_start + e;
      s.data = bytes.data() + s.begin;
      h.tensors.push_back(std::move(s));
    }
    std::stable_sort(h.tensors.begin(), h.tensors.end(),
                     [](const st_tensor& a, const st_tensor& b) {
                       return a.begin != b.begin ? a.begin < b.begin : a.end < b.end;
                     });
    uint64_t at = h.data_start;
    for (const st_tensor& s : h.tensors) {
      if (s.begin < at)
        fail("tensor " + s.name + " overlaps the tensor before it (data at " +
             std::to_string(s.begin - h.data_start) + ", previous ends at " +
             std::to_string(at - h.data_start) + ")");
      if (s.begin > at)
        fail("tensor " + s.name + " leaves a hole before it in the data (starts at " +
             std::to_string(s.begin - h.data_start) + ", previous ends at " +
             std::to_string(at - h.data_start) + ")");
      at = s.end;
    }
    if (at != bytes.size())
      fail("the tensors cover " + std::to_string(at - h.data_start) + " of the " +
           std::to_string(data_size) + " data bytes (trailing bytes or missing tensors)");
    return h;
  }

  const st_tensor* find(std::string_view name) const {
    for (const auto& t : tensors)
      if (t.name == name) return &t;
    return nullptr;
  }
};

// One mapped .safetensors file.
class safetensors_file {
 public:
  static safetensors_file open(const std::filesystem::path& path) {
    safetensors_file f;
    f.path_ = path;
    f.map_ = std::make_unique<edgecloud::detail::mapped_file>(
        edgecloud::detail::mapped_file::open(path));
    f.header_ = st_header::parse(f.map_->bytes(), path.string());
    for (size_t i = 0; i < f.header_.tensors.size(); ++i) f.index_[f.header_.tensors[i].name] = i;
    return f;
  }

  const std::filesystem::path& path() const noexcept { return path_; }
  const std::vector<st_tensor>& tensors() const noexcept { return header_.tensors; }
  const std::map<std::string, std::string>& metadata() const noexcept { return header_.metadata; }
  const st_tensor* find(std::string_view name) const {
    auto it = index_.find(std::string(name));
    return it == index_.end() ? nullptr : &header_.tensors[it->second];
  }
  uint64_t size_bytes() const noexcept { return map_ ? map_->size() : 0; }

  // Gives the pages of `t` back to the kernel (they are re-read from the file if touched again):
  // a converter that has finished a tensor calls it so the resident set does not grow with the
  // checkpoint. Only whole pages inside the tensor are dropped.
  void release(const st_tensor& t) const noexcept { release(t, 0, t.n_bytes()); }
  // The same for bytes [from, to) of `t` (a block of rows already converted).
  void release(const st_tensor& t, uint64_t from, uint64_t to) const noexcept {
#if EDGECLOUD_HAS_MMAP
    if (!map_ || !map_->data() || from >= to || to > t.n_bytes()) return;
    const auto page = static_cast<uint64_t>(::sysconf(_SC_PAGESIZE));
    const uint64_t b = (t.begin + from + page - 1) / page * page, e = (t.begin + to) / page * page;
    if (e > b) ::madvise(const_cast<std::byte*>(map_->data()) + b, e - b, MADV_DONTNEED);
#else
    (void)t, (void)from, (void)to;
#endif
  }

 private:
  std::filesystem::path path_;
  std::unique_ptr<edgecloud::detail::mapped_file> map_;
  st_header header_;
  std::map<std::string, size_t> index_;
};

// Reads rows [row0, row0 + n_rows) of `t` as floats into `out` (n_rows * t.cols() floats).
inline void read_rows_f32(const st_tensor& t, uint64_t row0, uint64_t n_rows, float* out) {
  if (row0 + n_rows > t.rows())
    throw config_error("tensor " + t.name + ": rows " + std::to_string(row0) + "+" +
                       std::to_string(n_rows) + " out of range (" + std::to_string(t.rows()) + ")");
  const size_t es = st_dtype_size(t.dtype);
  detail::to_f32(t.dtype, t.data + row0 * t.cols() * es, out,
                 static_cast<size_t>(n_rows * t.cols()));
}
inline std::vector<float> read_f32(const st_tensor& t) {
  std::vector<float> v(static_cast<size_t>(t.n_elements()));
  if (!v.empty()) read_rows_f32(t, 0, t.rows(), v.data());
  return v;
}

// A model's weights: one file, or the shards named by an index.
class checkpoint {
 public:
  // `dir`/model.safetensors.index.json if present, else `dir`/model.safetensors.
  static checkpoint open_dir(const std::filesystem::path& dir) {
    namespace fs = std::filesystem;
    if (!fs::is_directory(dir)) throw model_error(dir.string() + ": not a directory");
    if (fs::exists(dir / "model.safetensors.index.json"))
      return open_index(dir / "model.safetensors.index.json");
    if (fs::exists(dir / "model.safetensors")) return open_file(dir / "model.safetensors");
    static const std::regex shard(R"(model-\d+-of-\d+\.safetensors)");
    for (const auto& e : fs::directory_iterator(dir))
      if (std::regex_match(e.path().filename().string(), shard))
        throw model_error(dir.string() + ": sharded weights (" + e.path().filename().string() +
                          ") without model.safetensors.index.json");
    if (fs::exists(dir / "pytorch_model.bin") || fs::exists(dir / "pytorch_model.bin.index.json"))
      throw model_error(dir.string() +
                        ": only PyTorch .bin weights; convert them to safetensors "
                        "first (safetensors' convert script or save_pretrained)");
    throw model_error(dir.string() + ": no model.safetensors or model.safetensors.index.json");
  }

  static checkpoint open_file(const std::filesystem::path& file) {
    checkpoint c;
    c.files_.push_back(std::make_unique<safetensors_file>(safetensors_file::open(file)));
    for (const auto& t : c.files_[0]->tensors()) c.where_[t.name] = 0;
    return c;
  }

  static checkpoint open_index(const std::filesystem::path& index_path) {
    const std::string where = index_path.string();
    auto fail = [&](const std::string& msg) -> void { throw model_error(where + ": " + msg); };
    nlohmann::json j;
    try {
      std::string text;
      {
        edgecloud::detail::mapped_file m = edgecloud::detail::mapped_file::open(index_path);
        if (m.size() > detail::max_header_bytes) fail("index larger than 100 MB");
        text.assign(reinterpret_cast<const char*>(m.data()), m.size());
      }
      j = nlohmann::json::parse(text);
    } catch (const nlohmann::json::exception& e) {
      fail(std::string("not valid JSON: ") + e.what());
    }
    if (!j.is_object() || !j.contains("weight_map") || !j["weight_map"].is_object())
      fail("no \"weight_map\" object");
    std::map<std::string, std::string> weight_map;
    std::set<std::string> shard_names;
    for (auto it = j["weight_map"].begin(); it != j["weight_map"].end(); ++it) {
      if (!it.value().is_string()) fail("weight_map entry " + it.key() + " is not a file name");
      const std::string file = it.value().get<std::string>();
      if (file.empty() || file.find('/') != std::string::npos ||
          file.find('\\') != std::string::npos || file == "." || file == "..")
        fail("weight_map entry " + it.key() + " names " + file +
             ", not a file in the checkpoint directory");
      weight_map[it.key()] = file;
      shard_names.insert(file);
    }
    if (weight_map.empty()) fail("weight_map is empty");
    // The n-of-m series must be complete and agree on m.
    static const std::regex series(R"((.*)-(\d+)-of-(\d+)\.safetensors)");
    std::map<std::string, std::pair<uint64_t, std::set<uint64_t>>> series_of;
    for (const auto& s : shard_names) {
      std::smatch m;
      if (!std::regex_match(s, m, series)) continue;
      const uint64_t i = std::stoull(m[2].str()), n = std::stoull(m[3].str());
      auto& e = series_of[m[1].str()];
      if (e.first && e.first != n) fail("shards disagree on their count (" + s + ")");
      e.first = n;
      if (i < 1 || i > n) fail("shard " + s + " is numbered outside 1.." + std::to_string(n));
      e.second.insert(i);
    }
    for (const auto& [prefix, e] : series_of)
      for (uint64_t i = 1; i <= e.first; ++i)
        if (!e.second.count(i)) {
          char name[64];
          std::snprintf(name, sizeof name, "-%05llu-of-%05llu.safetensors",
                        static_cast<unsigned long long>(i),
                        static_cast<unsigned long long>(e.first));
          fail("shard " + prefix + name +
               " of the series holds no tensor of the weight_map (missing shard)");
        }
    checkpoint c;
    std::map<std::string, size_t> file_index;
    for (const auto& s : shard_names) {
      const auto p = index_path.parent_path() / s;
      if (!std::filesystem::exists(p)) fail("shard " + s + " is missing");
      file_index[s] = c.files_.size();
      c.files_.push_back(std::make_unique<safetensors_file>(safetensors_file::open(p)));
    }
    for (const auto& [name, file] : weight_map) {
      const size_t fi = file_index.at(file);
      if (!c.files_[fi]->find(name)) fail("tensor " + name + " is not in its shard " + file);
      c.where_[name] = fi;
    }
    for (const auto& f : c.files_)
      for (const auto& t : f->tensors()) {
        auto it = c.where_.find(t.name);
        if (it == c.where_.end())
          fail("shard " + f->path().filename().string() + " holds tensor " + t.name +
               ", which the weight_map does not list");
        if (c.files_[it->second].get() != f.get())
          fail("tensor " + t.name + " is in shard " + f->path().filename().string() + " and in " +
               c.files_[it->second]->path().filename().string());
      }
    return c;
  }

  const st_tensor* find(std::string_view name) const {
    auto it = where_.find(std::string(name));
    return it == where_.end() ? nullptr : files_[it->second]->find(name);
  }
  // Throws model_error naming the tensor when absent.
  const st_tensor& get(std::string_view name) const {
    const st_tensor* t = find(name);
    if (!t) throw model_error(description() + ": no tensor " + std::string(name));
    return *t;
  }
  std::vector<std::string> names() const {
    std::vector<std::string> n;
    for (const auto& [name, fi] : where_) n.push_back(name);
    return n;
  }
  // The file a tensor lives in (for errors) and releasing its pages after use.
  const safetensors_file& file_of(std::string_view name) const {
    return *files_[where_.at(std::string(name))];
  }
  void release(const st_tensor& t) const { file_of(t.name).release(t); }
  void release(const st_tensor& t, uint64_t from, uint64_t to) const {
    file_of(t.name).release(t, from, to);
  }
  size_t n_files() const noexcept { return files_.size(); }
  uint64_t size_bytes() const {
    uint64_t n = 0;
    for (const auto& f : files_) n += f->size_bytes();
    return n;
  }
  std::string description() const {
    if (files_.size() == 1) return files_[0]->path().string();
    return files_.empty() ? std::string("checkpoint")
                          : files_[0]->path().parent_path().string() + " (" +
                                std::to_string(files_.size()) + " shards)";
  }

 private:
  std::vector<std::unique_ptr<safetensors_file>> files_;
  std::map<std::string, size_t> where_;
};

// Writes safetensors files: tensors in the order added, header padded with spaces to a multiple
// of 8 bytes (as the reference implementation does, so data stays 8-byte aligned).
class safetensors_writer {
 public:
  void add(std::string name, st_dtype dtype, std::vector<uint64_t> shape,
           std::span<const std::byte> bytes) {
    uint64_t n = 1;
    for (uint64_t d : shape) n *= d;
    if (n * st_dtype_size(dtype) != bytes.size())
      throw config_error("safetensors writer: tensor " + name + " shape needs " +
                         std::to_string(n * st_dtype_size(dtype)) + " bytes, got " +
                         std::to_string(bytes.size()));
    for (const auto& e : entries_)
      if (e.name == name) throw config_error("safetensors writer: duplicate tensor " + name);
    entries_.push_back(
        {std::move(name), dtype, std::move(shape), {bytes.begin(), bytes.end()}, {}});
  }
  // A tensor whose bytes `produce` returns during write() (one tensor in memory at a time).
  void add_lazy(std::string name, st_dtype dtype, std::vector<uint64_t> shape,
                std::function<std::vector<std::byte>()> produce) {
    for (const auto& e : entries_)
      if (e.name == name) throw config_error("safetensors writer: duplicate tensor " + name);
    entries_.push_back({std::move(name), dtype, std::move(shape), {}, std::move(produce)});
  }
  // Floats stored as `dtype` (rounded to nearest even for F16/BF16).
  void add_f32(std::string name, st_dtype dtype, std::vector<uint64_t> shape,
               std::span<const float> values) {
    std::vector<std::byte> b(values.size() * st_dtype_size(dtype));
    for (size_t i = 0; i < values.size(); ++i) {
      if (dtype == st_dtype::f32) {
        std::memcpy(b.data() + 4 * i, &values[i], 4);
      } else {
        const uint16_t h = dtype == st_dtype::f16 ? kernels::fp32_to_fp16(values[i])
                                                  : kernels::fp32_to_bf16(values[i]);
        std::memcpy(b.data() + 2 * i, &h, 2);
      }
    }
    add(std::move(name), dtype, std::move(shape), b);
  }
  void set_metadata(std::string key, std::string value) {
    metadata_[std::move(key)] = std::move(value);
  }

  std::vector<std::byte> to_bytes() const {
    std::vector<std::byte> out = header_bytes();
    for (const auto& e : entries_) {
      const auto b = e.produce ? checked(e, e.produce()) : e.bytes;
      out.insert(out.end(), b.begin(), b.end());
    }
    return out;
  }
  // Streams the header and the tensors to `path` (no second copy of the data in memory).
  void write(const std::filesystem::path& path) const {
    std::FILE* f = std::fopen(path.c_str(), "wb");
    if (!f) throw config_error("cannot create " + path.string());
    const auto h = header_bytes();
    bool ok = std::fwrite(h.data(), 1, h.size(), f) == h.size();
    for (const auto& e : entries_) {
      if (!ok) break;
      if (e.produce) {
        const auto b = checked(e, e.produce());
        ok = b.empty() || std::fwrite(b.data(), 1, b.size(), f) == b.size();
      } else {
        ok = e.bytes.empty() || std::fwrite(e.bytes.data(), 1, e.bytes.size(), f) == e.bytes.size();
      }
    }
    if (std::fclose(f) != 0 || !ok) throw config_error("cannot write " + path.string());
  }
  size_t size() const noexcept { return entries_.size(); }

 private:
  std::vector<std::byte> header_bytes() const {
    nlohmann::ordered_json h = nlohmann::ordered_json::object();
    if (!metadata_.empty()) h["__metadata__"] = metadata_;
    uint64_t at = 0;
    for (const auto& e : entries_) {
      const uint64_t n = byte_size(e);
      h[e.name] = {
          {"dtype", st_dtype_name(e.dtype)}, {"shape", e.shape}, {"data_offsets", {at, at + n}}};
      at += n;
    }
    std::string text = h.dump();
    while (text.size() % 8) text += ' ';
    std::vector<std::byte> out(8 + text.size());
    const uint64_t n = text.size();
    for (int i = 0; i < 8; ++i) out[size_t(i)] = std::byte((n >> (8 * i)) & 0xff);
    std::memcpy(out.data() + 8, text.data(), text.size());
    return out;
  }
  struct entry {
    std::string name;
    st_dtype dtype;
    std::vector<uint64_t> shape;
    std::vector<std::byte> bytes;
    std::function<std::vector<std::byte>()> produce;
  };
  static uint64_t byte_size(const entry& e) {
    uint64_t n = st_dtype_size(e.dtype);
    for (uint64_t d : e.shape) n *= d;
    return n;
  }
  static std::vector<std::byte> checked(const entry& e, std::vector<std::byte> b) {
    if (b.size() != byte_size(e))
      throw config_error("safetensors writer: the producer of " + e.name + " gave " +
                         std::to_string(b.size()) + " bytes, expected " +
                         std::to_string(byte_size(e)));
    return b;
  }
  std::vector<entry> entries_;
  std::map<std::string, std::string> metadata_;
};

}  // namespace edgecloud::convert
