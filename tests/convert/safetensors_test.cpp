// SPDX-License-Identifier: Apache-2.0
// convert/safetensors.hpp: values read back against values written (F32 exact, F16/BF16 against
// hand-computed bit patterns), and every lie a header can tell refused with an error naming the
// file and the tensor.
#include <gtest/gtest.h>

#include <cstring>
#include <edgecloud/convert/safetensors.hpp>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace fs = std::filesystem;
using namespace edgecloud::convert;

namespace {

fs::path temp_dir(const std::string& name) {
  fs::path d = fs::temp_directory_path() / ("ec_st_" + name + "_" + std::to_string(::getpid()));
  fs::remove_all(d);
  fs::create_directories(d);
  return d;
}

// A raw file: 8-byte length, `header` verbatim, `data_bytes` zero bytes.
std::vector<std::byte> raw(const std::string& header, size_t data_bytes, uint64_t claimed = 0) {
  std::vector<std::byte> out(8 + header.size() + data_bytes);
  const uint64_t n = claimed ? claimed : header.size();
  for (int i = 0; i < 8; ++i) out[size_t(i)] = std::byte((n >> (8 * i)) & 0xff);
  std::memcpy(out.data() + 8, header.data(), header.size());
  return out;
}

std::string parse_error(const std::vector<std::byte>& b) {
  try {
    st_header::parse(b, "x.safetensors");
  } catch (const edgecloud::model_error& e) {
    return e.what();
  }
  return "accepted";
}

void write_file(const fs::path& p, const std::vector<std::byte>& b) {
  std::ofstream(p, std::ios::binary).write(reinterpret_cast<const char*>(b.data()), b.size());
}

}  // namespace

TEST(Safetensors, RoundTripValuesAndMetadata) {
  safetensors_writer w;
  const std::vector<float> a = {1.0f, -2.5f, 3.25f, 0.0f, 1e-3f, 7.0f};
  w.add_f32("a", st_dtype::f32, {2, 3}, a);
  // F16 1.0 = 0x3c00, -2.0 = 0xc000; BF16 1.0 = 0x3f80, 0.5 = 0x3f00 (hand-computed patterns).
  const uint16_t h[2] = {0x3c00, 0xc000}, bf[2] = {0x3f80, 0x3f00};
  w.add("h", st_dtype::f16, {2}, std::as_bytes(std::span<const uint16_t>(h)));
  w.add("b", st_dtype::bf16, {1, 2}, std::as_bytes(std::span<const uint16_t>(bf)));
  w.set_metadata("format", "pt");
  const fs::path d = temp_dir("rt");
  w.write(d / "m.safetensors");
  auto f = safetensors_file::open(d / "m.safetensors");
  ASSERT_EQ(f.tensors().size(), 3u);
  EXPECT_EQ(f.metadata().at("format"), "pt");
  const st_tensor& ta = *f.find("a");
  EXPECT_EQ(ta.rows(), 2u);
  EXPECT_EQ(ta.cols(), 3u);
  EXPECT_EQ(read_f32(ta), a);
  EXPECT_EQ(read_f32(*f.find("h")), (std::vector<float>{1.0f, -2.0f}));
  EXPECT_EQ(read_f32(*f.find("b")), (std::vector<float>{1.0f, 0.5f}));
  std::vector<float> row(3);
  read_rows_f32(ta, 1, 1, row.data());
  EXPECT_EQ(row, (std::vector<float>{0.0f, 1e-3f, 7.0f}));
  // The header is padded to 8 bytes, so data starts aligned.
  EXPECT_EQ(ta.begin % 8, 0u);
  f.release(ta);  // dropping pages keeps the data readable (re-read from the file)
  EXPECT_EQ(read_f32(ta), a);
  fs::remove_all(d);
}

TEST(Safetensors, HostileHeadersAreRefusedNamingTheProblem) {
  const std::string ok = R"({"t":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}})";
  EXPECT_EQ(parse_error(raw(ok, 8)), "accepted");
  struct bad_case {
    std::vector<std::byte> bytes;
    std::string expect;  // substring of the message
  };
  const std::vector<bad_case> cases = {
      {std::vector<std::byte>(5), "too short"},
      {raw(ok, 8, 200'000'000), "exceeds the 100 MB"},
      {raw(ok, 8, 1000), "runs past the end"},
      {raw("{\"t\":", 0), "not valid JSON"},
      {raw("[1,2]", 0), "not a JSON object"},
      {raw(R"({"t":{"dtype":"F32","shape":[2],"data_offsets":[0,16]}})", 8),
       "tensor t: data_offsets end 16 is past the end"},
      {raw(R"({"t":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}})", 8),
       "tensor t: shape [3] of F32 needs 12 bytes"},
      {raw(R"({"t":{"dtype":"I64","shape":[1],"data_offsets":[0,8]}})", 8),
       "tensor t: dtype I64 is not supported"},
      {raw(R"({"t":{"dtype":"F32","shape":[-1],"data_offsets":[0,8]}})", 8),
       "not a non-negative integer"},
      {raw(R"({"t":{"dtype":"F32","shape":[4294967296,4294967296],"data_offsets":[0,8]}})", 8),
       "overflows"},
      {raw(R"({"t":{"dtype":"F32","shape":[2],"data_offsets":[8,0]}})", 8),
       "end before they begin"},
      {raw(R"({"t":{"dtype":"F32","shape":[2]}})", 8), "tensor t: data_offsets is not"},
      {raw(R"({"t":{"shape":[2],"data_offsets":[0,8]}})", 8), "tensor t: no dtype"},
      {raw(R"({"t":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"t":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}})",
           8),
       "tensor t is named twice"},
      {raw(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}})",
           12),
       "tensor b overlaps"},
      {raw(R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"b":{"dtype":"F32","shape":[1],"data_offsets":[8,12]}})",
           12),
       "tensor b leaves a hole"},
      {raw(ok, 12), "trailing bytes"},
      {raw(R"({"__metadata__":{"k":1}})", 0), "__metadata__ value k is not a string"},
      {raw(R"({"t":[1]})", 0), "tensor t: entry is not an object"},
  };
  for (const auto& c : cases) {
    const std::string msg = parse_error(c.bytes);
    EXPECT_NE(msg.find("x.safetensors: "), std::string::npos) << msg;
    EXPECT_NE(msg.find(c.expect), std::string::npos) << "expected '" << c.expect << "' in: " << msg;
  }
  // Unordered in the JSON but tiling the data once sorted: accepted (offsets decide, as in the
  // reference implementation).
  EXPECT_EQ(
      parse_error(raw(
          R"({"b":{"dtype":"F32","shape":[1],"data_offsets":[4,8]},"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}})",
          8)),
      "accepted");
}

TEST(Safetensors, ShardedCheckpoint) {
  const fs::path d = temp_dir("shard");
  const std::vector<float> x = {1, 2, 3, 4}, y = {5, 6};
  {
    safetensors_writer a, b;
    a.add_f32("x", st_dtype::f32, {2, 2}, x);
    b.add_f32("y", st_dtype::bf16, {2}, y);
    a.write(d / "model-00001-of-00002.safetensors");
    b.write(d / "model-00002-of-00002.safetensors");
  }
  auto write_index = [&](const nlohmann::json& map) {
    std::ofstream(d / "model.safetensors.index.json")
        << nlohmann::json{{"metadata", {{"total_size", 20}}}, {"weight_map", map}}.dump();
  };
  write_index(
      {{"x", "model-00001-of-00002.safetensors"}, {"y", "model-00002-of-00002.safetensors"}});
  {
    auto c = checkpoint::open_dir(d);
    EXPECT_EQ(c.n_files(), 2u);
    EXPECT_EQ(read_f32(c.get("x")), x);
    EXPECT_EQ(read_f32(c.get("y")), y);
    EXPECT_EQ(c.names(), (std::vector<std::string>{"x", "y"}));
  }
  auto error_of = [&]() -> std::string {
    try {
      checkpoint::open_dir(d);
    } catch (const edgecloud::model_error& e) {
      return e.what();
    }
    return "accepted";
  };
  write_index({{"x", "model-00001-of-00002.safetensors"},
               {"y", "model-00002-of-00002.safetensors"},
               {"w", "model-00002-of-00002.safetensors"}});
  EXPECT_NE(error_of().find("tensor w is not in its shard model-00002-of-00002.safetensors"),
            std::string::npos)
      << error_of();
  write_index({{"x", "model-00001-of-00002.safetensors"}});
  EXPECT_NE(error_of().find("missing shard"), std::string::npos) << error_of();
  write_index(
      {{"x", "model-00001-of-00002.safetensors"}, {"y", "model-00002-of-00003.safetensors"}});
  EXPECT_NE(error_of().find("disagree"), std::string::npos) << error_of();
  write_index(
      {{"x", "model-00001-of-00002.safetensors"}, {"y", "../model-00002-of-00002.safetensors"}});
  EXPECT_NE(error_of().find("not a file in the checkpoint directory"), std::string::npos)
      << error_of();
  // A shard holding a tensor the index does not list.
  {
    safetensors_writer b;
    b.add_f32("y", st_dtype::bf16, {2}, y);
    b.add_f32("z", st_dtype::f32, {1}, std::vector<float>{1});
    b.write(d / "model-00002-of-00002.safetensors");
  }
  write_index(
      {{"x", "model-00001-of-00002.safetensors"}, {"y", "model-00002-of-00002.safetensors"}});
  EXPECT_NE(error_of().find("holds tensor z, which the weight_map does not list"),
            std::string::npos)
      << error_of();
  fs::remove(d / "model-00002-of-00002.safetensors");
  EXPECT_NE(error_of().find("shard model-00002-of-00002.safetensors is missing"), std::string::npos)
      << error_of();
  fs::remove(d / "model.safetensors.index.json");
  EXPECT_NE(error_of().find("without model.safetensors.index.json"), std::string::npos)
      << error_of();
  fs::remove_all(d);
  fs::create_directories(d);
  EXPECT_NE(error_of().find("no model.safetensors"), std::string::npos) << error_of();
  // A file truncated after its header.
  {
    safetensors_writer a;
    a.add_f32("x", st_dtype::f32, {2, 2}, x);
    auto b = a.to_bytes();
    b.resize(b.size() - 4);
    write_file(d / "model.safetensors", b);
  }
  EXPECT_NE(error_of().find("tensor x: data_offsets end 16 is past the end"), std::string::npos)
      << error_of();
  fs::remove_all(d);
}
