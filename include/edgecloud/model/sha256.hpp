// SPDX-License-Identifier: Apache-2.0
// SHA-256 of a byte range or a file, as lowercase hex: the optional integrity check of a model or
// adapter update (hot updates compare it with the digest the sender published).
//
// Computed by OpenSSL's EVP interface (libcrypto is already linked for the transport's TLS), so
// the project carries no hash code of its own; OpenSSL picks SHA extensions / AVX2 at run time.
//
// Ownership: a sha256 object owns its EVP_MD_CTX (freed by the destructor). Off the token loop.
#pragma once

#include <openssl/evp.h>

#include <cstddef>
#include <edgecloud/error.hpp>
#include <filesystem>
#include <fstream>
#include <memory>
#include <span>
#include <string>
#include <vector>

namespace edgecloud::model {

class sha256 {
 public:
  sha256() : ctx_(EVP_MD_CTX_new()) {
    if (!ctx_ || EVP_DigestInit_ex(ctx_.get(), EVP_sha256(), nullptr) != 1)
      throw error("sha256: OpenSSL could not start a SHA-256 digest");
  }

  void update(std::span<const std::byte> data) {
    if (EVP_DigestUpdate(ctx_.get(), data.data(), data.size()) != 1)
      throw error("sha256: OpenSSL digest update failed");
  }

  // The digest as 64 lowercase hex digits; the object is spent afterwards.
  std::string hex_digest() {
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int n = 0;
    if (EVP_DigestFinal_ex(ctx_.get(), md, &n) != 1)
      throw error("sha256: OpenSSL digest final failed");
    static const char* digits = "0123456789abcdef";
    std::string out;
    out.reserve(2 * n);
    for (unsigned int i = 0; i < n; ++i) {
      out += digits[md[i] >> 4];
      out += digits[md[i] & 15];
    }
    return out;
  }

  static std::string of(std::span<const std::byte> data) {
    sha256 h;
    h.update(data);
    return h.hex_digest();
  }

  // Throws model_error when the file cannot be read.
  static std::string of_file(const std::filesystem::path& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) throw model_error(path.string() + ": cannot open to compute its sha256");
    sha256 h;
    std::vector<char> buf(size_t{1} << 20);
    while (in) {
      in.read(buf.data(), static_cast<std::streamsize>(buf.size()));
      h.update(std::as_bytes(std::span(buf.data(), static_cast<size_t>(in.gcount()))));
    }
    if (in.bad()) throw model_error(path.string() + ": read error while computing its sha256");
    return h.hex_digest();
  }

 private:
  struct ctx_free {
    void operator()(EVP_MD_CTX* c) const noexcept { EVP_MD_CTX_free(c); }
  };
  std::unique_ptr<EVP_MD_CTX, ctx_free> ctx_;
};

}  // namespace edgecloud::model
