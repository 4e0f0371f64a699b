// SPDX-License-Identifier: Apache-2.0
// SHA-256 against the FIPS 180-4 / NIST example digests, fed whole, byte by byte, and from a file.
#include <gtest/gtest.h>
#include <unistd.h>

#include <edgecloud/model/sha256.hpp>
#include <filesystem>
#include <fstream>
#include <string>

namespace {

using edgecloud::model::sha256;

std::string of(const std::string& s) {
  return sha256::of(std::as_bytes(std::span(s.data(), s.size())));
}

TEST(Sha256, NistVectors) {
  EXPECT_EQ(of(""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(of("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_EQ(of("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"),
            "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
  EXPECT_EQ(of(std::string(1000000, 'a')),
            "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
}

TEST(Sha256, PiecewiseAndFileEqualWhole) {
  std::string text;
  for (int i = 0; i < 3000; ++i) text += static_cast<char>(i * 7 % 251);
  sha256 h;
  for (char c : text) h.update(std::as_bytes(std::span(&c, 1)));
  const std::string whole = of(text);
  EXPECT_EQ(h.hex_digest(), whole);
  const auto path =
      std::filesystem::temp_directory_path() / ("edgecloud_sha256_" + std::to_string(::getpid()));
  std::ofstream(path, std::ios::binary) << text;
  EXPECT_EQ(sha256::of_file(path), whole);
  std::filesystem::remove(path);
  EXPECT_THROW(sha256::of_file(path), edgecloud::model_error);
}

}  // namespace
