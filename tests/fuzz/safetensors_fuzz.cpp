// SPDX-License-Identifier: Apache-2.0
// libFuzzer target for the safetensors reader (convert/safetensors.hpp): any input either parses
// or throws model_error. When it parses, the reader's promises must hold: every tensor lies inside
// the input after the header, the tensors tile the data in offset order (so none overlap), each
// has prod(shape) * element-size bytes and reads as floats without leaving the buffer (ASan); and
// writing the parsed tensors back with safetensors_writer and parsing that gives the same names,
// dtypes, shapes, bytes and metadata. Anything else (a crash, UB, another exception, a trap) is a
// finding. Seeds: tests/fuzz/corpus/safetensors/.
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <edgecloud/convert/safetensors.hpp>
#include <span>
#include <vector>

namespace {

void require(bool ok) {
  if (!ok) __builtin_trap();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace edgecloud::convert;
  const std::span<const std::byte> bytes(reinterpret_cast<const std::byte*>(data), size);
  st_header h;
  try {
    h = st_header::parse(bytes, "fuzz.safetensors");
  } catch (const edgecloud::model_error&) {
    return 0;
  }
  require(h.data_start >= 8 && h.data_start <= size);
  uint64_t at = h.data_start;
  safetensors_writer w;
  for (const st_tensor& t : h.tensors) {
    require(t.begin == at && t.begin <= t.end && t.end <= size);
    require(t.data == bytes.data() + t.begin);
    require(t.n_bytes() == t.n_elements() * st_dtype_size(t.dtype));
    at = t.end;
    if (t.n_elements() <= (1u << 20)) {
      const std::vector<float> v = read_f32(t);
      require(v.size() == t.n_elements());
    }
    w.add(t.name, t.dtype, t.shape, {t.data, static_cast<size_t>(t.n_bytes())});
  }
  require(at == size);
  for (const auto& [k, v] : h.metadata) w.set_metadata(k, v);
  const std::vector<std::byte> again = w.to_bytes();
  st_header h2 = st_header::parse(again, "round-trip");  // must not throw
  require(h2.tensors.size() == h.tensors.size() && h2.metadata == h.metadata);
  for (size_t i = 0; i < h.tensors.size(); ++i) {
    const st_tensor &a = h.tensors[i], &b = h2.tensors[i];
    require(a.name == b.name && a.dtype == b.dtype && a.shape == b.shape && a.n_bytes() == b.n_bytes());
    require(a.n_bytes() == 0 || std::memcmp(a.data, b.data, static_cast<size_t>(a.n_bytes())) == 0);
  }
  return 0;
}
