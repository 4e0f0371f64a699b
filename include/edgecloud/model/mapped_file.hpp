// SPDX-License-Identifier: Apache-2.0
// A whole file brought into memory read-only: mapped (the default) or read into an owned buffer.
//
// Ownership: a `mapped_file` owns its mapping (POSIX mmap, PROT_READ, MAP_PRIVATE) or buffer and
// releases it in its destructor. It is move-only; moving transfers the bytes, so pointers into
// them stay valid for as long as some `mapped_file` owns them (the address never changes). A
// mapping keeps its file descriptor open (to see what happens to the file later: check()).
// Where mmap is not available the file is always read into a buffer, with the same guarantees.
//
// A file changed under a live mapping (docs/hot-update.md says what can and cannot be guarded):
//  - Replaced by rename (write a temporary file, rename it over the old name): safe. The mapping
//    keeps the old inode; nothing changes until the app loads the new file.
//  - Truncated or rewritten in place (`cp new old`, `>`, `truncate`, an editor saving over it):
//    pages past the new end raise SIGBUS when read, rewritten pages change the weights under the
//    running model. check() sees it between requests (fstat: size, mtime, inode) and throws
//    model_error naming the file. A read that faults mid-request is caught only when the process
//    installed guard_mapped_files(): the fault is reported (stderr, naming the file and the
//    byte), the lost page reads as zeros so the thread runs on, and the next check() (every
//    prefill does one) throws. Without the guard the process dies with SIGBUS, as with any mmap
//    reader. file_access::read copies the file instead: immune to all of it, at the cost of the
//    file's size in private memory and the copy at load (~0.12 s for Qwen3-0.6B Q8_0 cached).
#pragma once

#include <algorithm>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <edgecloud/error.hpp>
#include <filesystem>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <utility>
#include <vector>

#if __has_include(<sys/mman.h>) && __has_include(<unistd.h>) && __has_include(<signal.h>)
#include <fcntl.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#define EDGECLOUD_HAS_MMAP 1
#else
#include <fstream>
#define EDGECLOUD_HAS_MMAP 0
#endif

namespace edgecloud {

// How a model or adapter file is brought into memory (model::qwen3::load, lora_adapter::load).
enum class file_access {
  map,   // mmap: shared page cache, instant load; see "a file changed under a live mapping"
  read,  // read into private memory: the file may change or vanish afterwards
};

}  // namespace edgecloud

namespace edgecloud::detail {

// Live mappings, for the SIGBUS guard: a fixed table the signal handler can read without
// locks or allocation. A mapping that finds no free slot still works; its faults are then not
// recognised (the process dies with SIGBUS as unguarded). state: 0 free, 1 being written, 2 live.
struct mapping_slot {
  std::atomic<int> state{0};
  std::atomic<std::uintptr_t> begin{0}, end{0};
  std::atomic<bool> faulted{false};
  std::atomic<std::uint64_t> fault_offset{0};
  char path[464] = {};
};
inline constexpr std::size_t max_guarded_mappings = 64;
inline mapping_slot* mapping_slots() noexcept {
  static mapping_slot slots[max_guarded_mappings];
  return slots;
}

#if EDGECLOUD_HAS_MMAP
struct sigbus_guard_state {
  struct sigaction previous {};
  std::atomic<bool> installed{false};
  std::uintptr_t page = 4096;
};
inline sigbus_guard_state& sigbus_guard() noexcept {
  static sigbus_guard_state s;
  return s;
}

// Async-signal-safe pieces: write(2) and a hand-made decimal.
inline void signal_write(const char* s) noexcept {
  std::size_t n = 0;
  while (s[n]) ++n;
  while (n > 0) {
    const ssize_t w = ::write(2, s, n);
    if (w <= 0) return;
    s += w;
    n -= static_cast<std::size_t>(w);
  }
}
inline void signal_write_number(std::uint64_t v) noexcept {
  char buf[24];
  int i = 23;
  buf[i] = '\0';
  do {
    buf[--i] = static_cast<char>('0' + v % 10);
    v /= 10;
  } while (v && i > 0);
  signal_write(buf + i);
}

// SIGBUS inside a live mapping: report it once per mapping, mark the mapping faulted, put a
// zero page where the lost one was (mmap over it: not on POSIX's async-signal-safe list, but a
// plain system call on Linux and the BSDs, used this way by databases and VMs) and return, so
// the read is retried and sees zeros. Anything else goes to the previous disposition.
inline void on_sigbus(int sig, siginfo_t* info, void* context) noexcept {
  auto& g = sigbus_guard();
  const auto addr = reinterpret_cast<std::uintptr_t>(info ? info->si_addr : nullptr);
  if (info && info->si_code > 0) {
    mapping_slot* slots = mapping_slots();
    for (std::size_t i = 0; i < max_guarded_mappings; ++i) {
      mapping_slot& s = slots[i];
      if (s.state.load(std::memory_order_acquire) != 2) continue;
      const auto b = s.begin.load(std::memory_order_relaxed), e = s.end.load(std::memory_order_relaxed);
      if (addr < b || addr >= e) continue;
      const auto page = addr & ~(g.page - 1);
      void* p = ::mmap(reinterpret_cast<void*>(page), g.page, PROT_READ,
                       MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
      if (p == MAP_FAILED) break;  // cannot repair: the previous disposition (death)
      if (!s.faulted.exchange(true)) {
        s.fault_offset.store(addr - b, std::memory_order_relaxed);
        signal_write("edgecloud: SIGBUS reading ");
        signal_write(s.path);
        signal_write(" at byte ");
        signal_write_number(addr - b);
        signal_write(": the file was truncated or rewritten while mapped; what is computed from "
                     "it now fails with model_error until the file is loaded again\n");
      }
      return;
    }
  }
  // Not ours: what was there before. A handler is called; a default disposition is restored
  // and the signal raised again (a fault simply re-executes into it).
  const struct sigaction& prev = g.previous;
  if ((prev.sa_flags & SA_SIGINFO) && prev.sa_sigaction) {
    prev.sa_sigaction(sig, info, context);
    return;
  }
  if (prev.sa_handler != SIG_DFL && prev.sa_handler != SIG_IGN && prev.sa_handler) {
    prev.sa_handler(sig);
    return;
  }
  ::sigaction(SIGBUS, &prev, nullptr);
  if (!info || info->si_code <= 0) ::raise(sig);
}
#endif

}  // namespace edgecloud::detail

namespace edgecloud::model {

// Installs the process-wide SIGBUS guard for mapped model and adapter files (see the header
// comment). Opt-in, because a library should not take a signal from its host uninvited; the
// `edgecloud` CLI installs it. Idempotent and thread-safe; keeps (and chains to) the handler
// that was there before. Returns false where it cannot be installed (no POSIX signals).
inline bool guard_mapped_files() noexcept {
#if EDGECLOUD_HAS_MMAP
  static const bool ok = [] {
    auto& g = edgecloud::detail::sigbus_guard();
    const long page = ::sysconf(_SC_PAGESIZE);
    if (page > 0) g.page = static_cast<std::uintptr_t>(page);
    struct sigaction sa {};
    sa.sa_sigaction = &edgecloud::detail::on_sigbus;
    sa.sa_flags = SA_SIGINFO;
    sigemptyset(&sa.sa_mask);
    if (::sigaction(SIGBUS, &sa, &g.previous) != 0) return false;
    g.installed.store(true);
    return true;
  }();
  return ok;
#else
  return false;
#endif
}

inline bool mapped_files_guarded() noexcept {
#if EDGECLOUD_HAS_MMAP
  return edgecloud::detail::sigbus_guard().installed.load();
#else
  return false;
#endif
}

}  // namespace edgecloud::model

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
  static mapped_file open(const std::filesystem::path& path, file_access access = file_access::map) {
    mapped_file m;
    m.path_ = path.string();
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
    if (access == file_access::read) {
      m.read_all(fd, path);
      ::close(fd);
      return m;
    }
    if (m.size_ > 0) {
      void* p = ::mmap(nullptr, m.size_, PROT_READ, MAP_PRIVATE, fd, 0);
      if (p == MAP_FAILED) {
        int e = errno;
        ::close(fd);
        fail(path, "cannot map", e);
      }
      m.data_ = static_cast<const std::byte*>(p);
      m.mapped_ = true;
      m.fd_ = fd;
      m.seen_ = identity_of(st);
      m.register_slot();
    } else {
      ::close(fd);
    }
#else
    (void)access;
    std::ifstream in(path, std::ios::binary | std::ios::ate);
    if (!in) throw model_error(path.string() + ": cannot open");
    auto end = in.tellg();
    m.size_ = static_cast<size_t>(end);
    m.buffer_.reset(new std::byte[m.size_ + 64]);
    m.data_ = align64(m.buffer_.get());
    in.seekg(0);
    if (m.size_ && !in.read(reinterpret_cast<char*>(const_cast<std::byte*>(m.data_)), end))
      throw model_error(path.string() + ": cannot read");
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
  // file_access::map when the bytes are a mapping of the file, read when they are a copy.
  file_access access() const noexcept {
    return mapped_ ? file_access::map : file_access::read;
  }
  const std::string& path() const noexcept {
    return path_;
  }

  // True once the SIGBUS guard repaired a read of this mapping (what was computed from it since
  // is void). One atomic load: cheap enough for every forward pass.
  bool faulted() const noexcept {
    return slot_ >= 0 && mapping_slots()[slot_].faulted.load(std::memory_order_relaxed);
  }

  // Throws model_error naming the file when the mapped file is no longer what was mapped: a read
  // faulted (SIGBUS, caught by guard_mapped_files()), or fstat shows it truncated or rewritten in
  // place (size, modification time or inode changed). A copy (file_access::read) is always
  // intact. One fstat: cheap enough for every request (each prefill calls it).
  void check() const {
#if EDGECLOUD_HAS_MMAP
    if (!mapped_) return;
    const char* advice =
        "; what is computed from it is void: load the file again (deliver updates by writing a new "
        "file and renaming it over the old name, docs/hot-update.md)";
    if (faulted())
      throw model_error(path_ + ": reading the mapped file faulted (SIGBUS) at byte " +
                        std::to_string(mapping_slots()[slot_].fault_offset.load()) +
                        ": it was truncated or rewritten while mapped" + advice);
    struct stat st {};
    if (::fstat(fd_, &st) != 0) return;  // cannot tell: the reads themselves will
    if (static_cast<size_t>(st.st_size) < size_)
      throw model_error(path_ + ": truncated from " + std::to_string(size_) + " to " +
                        std::to_string(st.st_size) + " bytes while mapped" + advice);
    if (identity_of(st) != seen_)
      throw model_error(path_ + ": rewritten in place while mapped (its size or modification time "
                        "changed)" + advice);
#endif
  }

 private:
  struct identity {
    long long size = 0, mtime_s = 0, mtime_ns = 0;
    unsigned long long inode = 0, device = 0;
    bool operator==(const identity&) const = default;
  };
#if EDGECLOUD_HAS_MMAP
  static identity identity_of(const struct stat& st) noexcept {
#if defined(__APPLE__)
    const auto& t = st.st_mtimespec;
#else
    const auto& t = st.st_mtim;
#endif
    return {static_cast<long long>(st.st_size), static_cast<long long>(t.tv_sec),
            static_cast<long long>(t.tv_nsec), static_cast<unsigned long long>(st.st_ino),
            static_cast<unsigned long long>(st.st_dev)};
  }
  // Anonymous memory (page-aligned) asked for transparent huge pages before the copy faults it
  // in: on the 0.6B Q8_0 file (767 MB, cached) the read took 2.2-2.6 s with 4 KiB pages under a
  // hypervisor (a fault each), ~0.12 s with huge pages (mmap's load: ~0.2 s).
  void read_all(int fd, const std::filesystem::path& path) {
    if (size_ == 0) return;
    void* p = ::mmap(nullptr, size_, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) {
      const int e = errno;
      ::close(fd);
      fail(path, "cannot allocate memory for", e);
    }
#if defined(MADV_HUGEPAGE)
    (void)::madvise(p, size_, MADV_HUGEPAGE);
#endif
    auto* out = static_cast<std::byte*>(p);
    size_t done = 0;
    while (done < size_) {
      const ssize_t r = ::pread(fd, out + done, std::min<size_t>(size_ - done, size_t(1) << 30),
                                static_cast<off_t>(done));
      if (r < 0 && errno == EINTR) continue;
      if (r <= 0) {
        const int e = r < 0 ? errno : 0;
        ::close(fd);
        ::munmap(p, size_);
        if (e) fail(path, "cannot read", e);
        throw model_error(path.string() + ": shorter than its size while being read (" +
                          std::to_string(done) + " of " + std::to_string(size_) + " bytes)");
      }
      done += static_cast<size_t>(r);
    }
    (void)::mprotect(p, size_, PROT_READ);
    data_ = out;
    anonymous_ = true;
  }
  void register_slot() noexcept {
    mapping_slot* slots = mapping_slots();
    for (size_t i = 0; i < max_guarded_mappings; ++i) {
      int expected = 0;
      if (!slots[i].state.compare_exchange_strong(expected, 1)) continue;
      mapping_slot& s = slots[i];
      s.begin.store(reinterpret_cast<std::uintptr_t>(data_));
      s.end.store(reinterpret_cast<std::uintptr_t>(data_) + size_);
      s.faulted.store(false);
      s.fault_offset.store(0);
      const size_t n = std::min(path_.size(), sizeof s.path - 1);
      std::memcpy(s.path, path_.data(), n);
      s.path[n] = '\0';
      s.state.store(2, std::memory_order_release);
      slot_ = static_cast<int>(i);
      return;
    }
  }
#endif
  static std::byte* align64(std::byte* p) noexcept {
    const auto a = reinterpret_cast<std::uintptr_t>(p);
    return p + ((64 - a % 64) % 64);
  }
  [[noreturn]] static void fail(const std::filesystem::path& path, const char* what, int err) {
    throw model_error(path.string() + ": " + what + ": " + std::strerror(err));
  }
  void release() noexcept {
#if EDGECLOUD_HAS_MMAP
    if (slot_ >= 0) {
      mapping_slot& s = mapping_slots()[slot_];
      s.state.store(1, std::memory_order_release);
      s.begin.store(0);
      s.end.store(0);
      s.state.store(0, std::memory_order_release);
    }
    if ((mapped_ || anonymous_) && data_) ::munmap(const_cast<std::byte*>(data_), size_);
    if (fd_ >= 0) ::close(fd_);
#endif
    data_ = nullptr;
    size_ = 0;
    mapped_ = false;
    anonymous_ = false;
    fd_ = -1;
    slot_ = -1;
    buffer_.reset();
  }
  void swap(mapped_file& o) noexcept {
    std::swap(data_, o.data_);
    std::swap(size_, o.size_);
    std::swap(mapped_, o.mapped_);
    std::swap(anonymous_, o.anonymous_);
    std::swap(fd_, o.fd_);
    std::swap(slot_, o.slot_);
    std::swap(seen_, o.seen_);
    std::swap(path_, o.path_);
    std::swap(buffer_, o.buffer_);  // the buffer's address does not change
  }

  const std::byte* data_ = nullptr;
  size_t size_ = 0;
  bool mapped_ = false;
  bool anonymous_ = false;  // data_ is an anonymous mapping holding a copy (file_access::read)
  int fd_ = -1;    // kept open with a mapping, for check()
  int slot_ = -1;  // index in mapping_slots(), -1 when not registered
  identity seen_;
  std::string path_;
  std::unique_ptr<std::byte[]> buffer_;  // without mmap only; data_ is 64-aligned in it
};

}  // namespace edgecloud::detail
