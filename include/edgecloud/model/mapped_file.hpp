// SPDX-License-Identifier: Apache-2.0
// A whole file mapped read-only into memory.
//
// Ownership: a `mapped_file` owns its mapping (POSIX mmap, PROT_READ, MAP_PRIVATE) and unmaps it
// in its destructor. It is move-only; moving transfers the mapping, so pointers into the bytes
// stay valid for as long as some `mapped_file` owns them (the address never changes). The file
// descriptor is closed as soon as the mapping exists. Where mmap is not available the file is
// read into an owned buffer instead, with the same guarantees.
//
// Caveat of every mmap reader: if another process truncates the file while it is mapped, reading
// the lost pages raises SIGBUS. Model files are not expected to change under a running engine.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <edgecloud/error.hpp>
#include <filesystem>
#include <span>
#include <string>
#include <utility>
#include <vector>

#if __has_include(<sys/mman.h>) && __has_include(<unistd.h>)
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#define EDGECLOUD_HAS_MMAP 1
#else
#include <fstream>
#define EDGECLOUD_HAS_MMAP 0
#endif

namespace edgecloud::detail {

class mapped_file {
 public:
  mapped_file() = default;
  mapped_file(const mapped_file&) = delete;
  mapped_file& operator=(const mapped_file&) = delete;
  mapped_file(mapped_file&& o) noexcept { swap(o); }
  mapped_file& operator=(mapped_file&& o) noexcept {
    if (this != &o) {
      release();
      swap(o);
    }
    return *this;
  }
  ~mapped_file() { release(); }

  // Throws model_error naming the path and the system's reason.
  static mapped_file open(const std::filesystem::path& path) {
    mapped_file m;
#if EDGECLOUD_HAS_MMAP
    int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) fail(path, "cannot open", errno);
    struct stat st {};
    if (::fstat(fd, &st) != 0) {
      int e = errno;
      ::close(fd);
      fail(path, "cannot stat", e);
    }
    if (!S_ISREG(st.st_mode)) {
      ::close(fd);
      throw model_error(path.string() + ": not a regular file");
    }
    m.size_ = static_cast<size_t>(st.st_size);
    if (m.size_ > 0) {
      void* p = ::mmap(nullptr, m.size_, PROT_READ, MAP_PRIVATE, fd, 0);
      if (p == MAP_FAILED) {
        int e = errno;
        ::close(fd);
        fail(path, "cannot map", e);
      }
      m.data_ = static_cast<const std::byte*>(p);
      m.mapped_ = true;
    }
    ::close(fd);
#else
    std::ifstream in(path, std::ios::binary | std::ios::ate);
    if (!in) throw model_error(path.string() + ": cannot open");
    auto end = in.tellg();
    m.buffer_.resize(static_cast<size_t>(end));
    in.seekg(0);
    if (!in.read(reinterpret_cast<char*>(m.buffer_.data()), end))
      throw model_error(path.string() + ": cannot read");
    m.data_ = m.buffer_.data();
    m.size_ = m.buffer_.size();
#endif
    return m;
  }

  std::span<const std::byte> bytes() const noexcept {
    return {data_, size_};
  }
  const std::byte* data() const noexcept {
    return data_;
  }
  size_t size() const noexcept {
    return size_;
  }

 private:
  [[noreturn]] static void fail(const std::filesystem::path& path, const char* what, int err) {
    throw model_error(path.string() + ": " + what + ": " + std::strerror(err));
  }
  void release() noexcept {
#if EDGECLOUD_HAS_MMAP
    if (mapped_ && data_) ::munmap(const_cast<std::byte*>(data_), size_);
#endif
    data_ = nullptr;
    size_ = 0;
    mapped_ = false;
    buffer_.clear();
  }
  void swap(mapped_file& o) noexcept {
    std::swap(data_, o.data_);
    std::swap(size_, o.size_);
    std::swap(mapped_, o.mapped_);
    std::swap(buffer_, o.buffer_);  // vector swap keeps the element addresses
  }

  const std::byte* data_ = nullptr;
  size_t size_ = 0;
  bool mapped_ = false;
  std::vector<std::byte> buffer_;  // only without mmap
};

}  // namespace edgecloud::detail
