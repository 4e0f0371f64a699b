// SPDX-License-Identifier: Apache-2.0
// Shared helpers of the transport tests: a real openai_server on loopback, transport configs
// with short timeouts, a raw TCP server for faults httplib's server cannot produce, and a
// self-signed TLS certificate made with OpenSSL at test time.
#pragma once

#include <edgecloud/transport.hpp>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

namespace edgecloud::testing {

namespace et = edgecloud::transport;
using namespace std::chrono_literals;

// The server counts a streamed answer as completed after it has written the last chunk, so a
// client may see [DONE] a moment before the counter moves. Waits (bounded) for `counter()` to
// reach `expected` and returns the last value seen; the caller asserts on it.
template <class Counter>
std::uint64_t wait_for_count(Counter counter, std::uint64_t expected,
                             std::chrono::milliseconds limit = std::chrono::milliseconds(5000)) {
  const auto deadline = std::chrono::steady_clock::now() + limit;
  std::uint64_t seen = counter();
  while (seen < expected && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
    seen = counter();
  }
  return seen;
}

// A started openai_server on 127.0.0.1 with an echo backend (or the given callback).
struct test_server {
  explicit test_server(et::openai_server_config cfg = {},
                       et::generate_function generate = et::echo_backend{})
      : server(std::move(cfg), std::move(generate)) {
    server.start();
  }
  std::string url() const { return server.base_url(); }
  et::openai_server server;
};

// Short limits so failing paths end quickly in tests.
inline et::openai_transport_config quick_config(const std::string& url) {
  et::openai_transport_config c;
  c.base_url = url;
  c.model = "test-model";
  c.timeouts.connect = 1000ms;
  c.timeouts.first_byte = 3000ms;
  c.timeouts.idle = 3000ms;
  c.timeouts.total = 5000ms;
  c.retry.max_attempts = 3;
  c.retry.initial_backoff = 10ms;
  c.retry.max_backoff = 50ms;
  c.breaker.failure_threshold = 1000;  // tests of the breaker set their own
  c.jitter_seed = 7;
  return c;
}

inline et::chat_request user_request(const std::string& text, bool stream = false) {
  et::chat_request r;
  r.messages = {{"user", text}};
  r.stream = stream;
  return r;
}

inline double elapsed_ms(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
}

// A TCP server on 127.0.0.1 that hands each accepted connection to `behaviour(fd)` on its own
// thread and closes it afterwards. For faults below HTTP: silence, byte-by-byte headers,
// garbage, immediate close.
class raw_server {
 public:
  explicit raw_server(std::function<void(int fd)> behaviour) : behaviour_(std::move(behaviour)) {
    listen_fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    int one = 1;
    ::setsockopt(listen_fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = 0;
    ::bind(listen_fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
    ::listen(listen_fd_, 64);
    socklen_t len = sizeof addr;
    ::getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&addr), &len);
    port_ = ntohs(addr.sin_port);
    acceptor_ = std::thread([this] {
      while (!stopping_) {
        int fd = ::accept(listen_fd_, nullptr, nullptr);
        if (fd < 0) break;
        if (stopping_) {
          ::close(fd);
          break;
        }
        ++accepted_;
        workers_.emplace_back([this, fd] {
          behaviour_(fd);
          ::close(fd);
        });
      }
    });
  }
  ~raw_server() {
    stopping_ = true;
    ::shutdown(listen_fd_, SHUT_RDWR);
    ::close(listen_fd_);
    acceptor_.join();
    for (auto& w : workers_) w.join();
  }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_) + "/v1"; }
  int accepted() const { return accepted_.load(); }
  bool stopping() const { return stopping_.load(); }

  // Reads the request head and body (Content-Length) so the client is done sending.
  static void read_request(int fd) {
    std::string buf;
    char c[4096];
    std::size_t need = std::string::npos;
    while (true) {
      const auto head_end = buf.find("\r\n\r\n");
      if (head_end != std::string::npos && need == std::string::npos) {
        need = head_end + 4;
        const auto cl = buf.find("Content-Length: ");
        if (cl != std::string::npos && cl < head_end) need += std::stoul(buf.substr(cl + 16));
      }
      if (need != std::string::npos && buf.size() >= need) return;
      const auto n = ::recv(fd, c, sizeof c, 0);
      if (n <= 0) return;
      buf.append(c, static_cast<std::size_t>(n));
    }
  }
  static bool send_all(int fd, const std::string& s) {
    return ::send(fd, s.data(), s.size(), MSG_NOSIGNAL) == static_cast<ssize_t>(s.size());
  }

 private:
  std::function<void(int)> behaviour_;
  int listen_fd_ = -1;
  int port_ = 0;
  std::atomic<bool> stopping_{false};
  std::atomic<int> accepted_{0};
  std::thread acceptor_;
  std::vector<std::thread> workers_;
};

// A self-signed certificate for 127.0.0.1 / localhost (EC P-256), written as PEM files into a
// fresh temporary directory that is removed with the object.
struct self_signed_cert {
  std::filesystem::path dir, cert, key;
  self_signed_cert() {
    dir = std::filesystem::temp_directory_path() /
          ("edgecloud-tls-" + std::to_string(::getpid()) + "-" + std::to_string(counter()++));
    std::filesystem::create_directories(dir);
    cert = dir / "cert.pem";
    key = dir / "key.pem";
    EVP_PKEY* pkey = EVP_EC_gen("P-256");
    X509* x = X509_new();
    X509_set_version(x, 2);
    ASN1_INTEGER_set(X509_get_serialNumber(x), 1);
    X509_gmtime_adj(X509_getm_notBefore(x), -60);
    X509_gmtime_adj(X509_getm_notAfter(x), 3600);
    X509_set_pubkey(x, pkey);
    X509_NAME* name = X509_get_subject_name(x);
    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                               reinterpret_cast<const unsigned char*>("127.0.0.1"), -1, -1, 0);
    X509_set_issuer_name(x, name);
    add_ext(x, NID_subject_alt_name, "IP:127.0.0.1,DNS:localhost");
    add_ext(x, NID_basic_constraints, "critical,CA:TRUE");
    X509_sign(x, pkey, EVP_sha256());
    FILE* f = std::fopen(cert.c_str(), "wb");
    PEM_write_X509(f, x);
    std::fclose(f);
    f = std::fopen(key.c_str(), "wb");
    PEM_write_PrivateKey(f, pkey, nullptr, nullptr, 0, nullptr, nullptr);
    std::fclose(f);
    X509_free(x);
    EVP_PKEY_free(pkey);
  }
  ~self_signed_cert() {
    std::error_code ec;
    std::filesystem::remove_all(dir, ec);
  }

 private:
  static std::atomic<int>& counter() {
    static std::atomic<int> c{0};
    return c;
  }
  static void add_ext(X509* x, int nid, const char* value) {
    X509V3_CTX ctx;
    X509V3_set_ctx_nodb(&ctx);
    X509V3_set_ctx(&ctx, x, x, nullptr, nullptr, 0);
    X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value);
    X509_add_ext(x, ext, -1);
    X509_EXTENSION_free(ext);
  }
};

}  // namespace edgecloud::testing
