// SPDX-License-Identifier: Apache-2.0
// libFuzzer target for the GGUF reader: any input either opens (and then every value and every
// tensor byte it hands out must be readable) or throws model_error. Anything else — a crash, an
// out-of-bounds read (ASan), undefined behaviour (UBSan), another exception type, a huge
// allocation (-rss_limit_mb) — is a finding. A file that opens must also round-trip: written
// again by gguf::writer from what the reader handed out (each value re-encoded from its parsed
// form, arrays through elements(), tensors from their bytes), it reads back with the same
// version, alignment, metadata (keys, types, values, order) and tensors (names, dims, types,
// bytes); a difference traps. Seeds: tests/fuzz/corpus/gguf/ (tiny files made by gguf::writer,
// see tests/fuzz/make_gguf_corpus.cpp).
#include <bit>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <optional>
#include <edgecloud/model/gguf.hpp>
#include <edgecloud/model/gguf_writer.hpp>
#include <string>
#include <vector>

namespace {

uint64_t touch(const edgecloud::gguf::metadata_value& v, int depth) {
  using edgecloud::gguf::value_type;
  uint64_t h = static_cast<uint64_t>(v.type);
  if (v.type == value_type::array) {
    for (const auto& e : v.elements()) h += touch(e, depth + 1);
  } else if (v.type == value_type::string) {
    auto s = v.as_string();
    for (char c : s) h += static_cast<unsigned char>(c);
  } else {
    h += static_cast<uint64_t>(v.as_int().value_or(0));
    h += v.as_uint().value_or(0);
    double d = v.as_double().value_or(0);
    uint64_t bits;
    std::memcpy(&bits, &d, 8);
    h += bits;
  }
  return h;
}

// The encoded bytes of a value after its u32 type (GGUF: scalars little-endian, strings as u64
// length + bytes, arrays as u32 element type + u64 count + elements), rebuilt from the parsed
// value -- arrays element by element through elements() -- so a reader that walked an array
// wrongly gives a different encoding than the file had.
void append_u64(std::string& out, uint64_t v) {
  out.append(reinterpret_cast<const char*>(&v), 8);
}
std::string encode(const edgecloud::gguf::metadata_value& v) {
  using edgecloud::gguf::value_type;
  std::string out;
  if (v.type == value_type::string) {
    append_u64(out, v.as_string().size());
    out += v.as_string();
  } else if (v.type == value_type::array) {
    const auto t = static_cast<uint32_t>(v.element_type);
    out.append(reinterpret_cast<const char*>(&t), 4);
    const auto elements = v.elements();
    if (elements.size() != v.count) __builtin_trap();
    append_u64(out, elements.size());
    for (const auto& e : elements) {
      if (e.type != v.element_type) __builtin_trap();
      out += encode(e);
    }
  } else {
    out.append(reinterpret_cast<const char*>(v.payload.data()), v.payload.size());
  }
  return out;
}

// Write `f` again from what the reader exposes, read it back, compare.
void check_round_trip(const edgecloud::gguf::file& f) {
  namespace gguf = edgecloud::gguf;
  gguf::writer w;
  w.set_version(f.version());
  std::vector<std::string> encoded;
  for (const auto& e : f.metadata()) {
    encoded.push_back(encode(e.value));
    w.add_encoded(e.key, e.value.type, encoded.back());
  }
  for (const auto& t : f.tensors()) w.add_tensor(t.name, t.dims, t.type, {t.data, t.n_bytes});
  gguf::memory_sink sink;
  w.write(sink);
  if (sink.bytes.size() != w.file_size()) __builtin_trap();
  const auto g = gguf::file::from_memory(sink.bytes);  // throws model_error -> trap below
  if (g.version() != f.version() || g.alignment() != f.alignment()) __builtin_trap();
  if (g.metadata().size() != f.metadata().size()) __builtin_trap();
  for (size_t i = 0; i < f.metadata().size(); ++i) {
    const auto &a = f.metadata()[i], &b = g.metadata()[i];
    if (a.key != b.key || a.value.type != b.value.type || encode(b.value) != encoded[i])
      __builtin_trap();
  }
  if (g.tensors().size() != f.tensors().size()) __builtin_trap();
  for (size_t i = 0; i < f.tensors().size(); ++i) {
    const auto &a = f.tensors()[i], &b = g.tensors()[i];
    if (a.name != b.name || a.dims != b.dims || a.type != b.type || a.n_bytes != b.n_bytes ||
        (a.n_bytes && std::memcmp(a.data, b.data, a.n_bytes) != 0))
      __builtin_trap();
    if (b.offset % g.alignment() != 0) __builtin_trap();
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  namespace gguf = edgecloud::gguf;
  std::optional<gguf::file> opened;
  try {
    opened.emplace(gguf::file::from_memory({reinterpret_cast<const std::byte*>(data), size}));
  } catch (const edgecloud::model_error&) {
    return 0;  // refused with the typed error: fine
  }
  const auto& f = *opened;
  try {
    check_round_trip(f);
  } catch (const edgecloud::error&) {
    __builtin_trap();  // what the reader accepted, the writer must write and the reader re-read
  }
  {
    volatile uint64_t h = f.version() + f.alignment() + f.data_offset();
    for (const auto& e : f.metadata()) {
      h = h + e.key.size() + touch(e.value, 0);
      const auto& v = e.value;
      // Typed accessors: each either answers or throws model_error.
      try {
        h = h + f.get_uint(e.key).value_or(0);
      } catch (const edgecloud::model_error&) {
      }
      try {
        h = h + static_cast<uint64_t>(f.get_int(e.key).value_or(0));
      } catch (const edgecloud::model_error&) {
      }
      try {
        // The bits, not a conversion: a float outside uint64_t's range (or negative, NaN) would
        // be undefined behaviour in the harness itself (UBSan reported this line in a soak).
        h = h + std::bit_cast<uint64_t>(f.get_float(e.key).value_or(0.0));
      } catch (const edgecloud::model_error&) {
      }
      try {
        h = h + f.get_string(e.key).value_or("").size();
      } catch (const edgecloud::model_error&) {
      }
      try {
        h = h + f.get_bool(e.key).value_or(false);
      } catch (const edgecloud::model_error&) {
      }
      try {
        h = h + f.get_string_array(e.key).size();
      } catch (const edgecloud::model_error&) {
      }
      try {
        h = h + f.get_int_array(e.key).size();
      } catch (const edgecloud::model_error&) {
      }
      try {
        h = h + f.get_float_array(e.key).size();
      } catch (const edgecloud::model_error&) {
      }
      (void)v;
    }
    for (const auto& t : f.tensors()) {
      if (f.find_tensor(t.name) != &t) __builtin_trap();
      // First and last byte of every tensor must lie inside the input.
      h = h + static_cast<uint64_t>(t.data[0]) + static_cast<uint64_t>(t.data[t.n_bytes - 1]);
      try {
        f.require_tensor(t.name, {1, 2}, {gguf::type_q8_0});
      } catch (const edgecloud::model_error&) {
      }
    }
  }
  return 0;
}
