// SPDX-License-Identifier: Apache-2.0
// A model file changed under a live mapping (model/mapped_file.hpp, docs/hot-update.md):
//  - truncation and in-place rewrites are seen by check() (fstat), and a session's prefill
//    refuses to compute on such a model with a model_error naming the file (no SIGBUS);
//  - delivery by rename leaves the mapping intact; file_access::read is immune to all of it;
//  - with guard_mapped_files(), a read of a lost page mid-computation is reported on stderr
//    naming the file, reads as zeros, and the next check() throws; without it the process dies
//    (the unguarded behaviour of every mmap reader, asserted so the guard's claim means something).
// The signal cases run in gtest death-test children, so the guard stays out of the other tests.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <edgecloud/model/mapped_file.hpp>
#include <edgecloud/model/qwen3.hpp>
#include <edgecloud/model/session.hpp>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "common/fixtures.hpp"

namespace {

namespace fs = std::filesystem;
using edgecloud::file_access;
using edgecloud::model_error;
using edgecloud::detail::mapped_file;

struct temp_dir {
  fs::path path;
  explicit temp_dir(const std::string& name)
      : path(fs::temp_directory_path() / ("edgecloud_mapped_" + name + "_" + std::to_string(::getpid()))) {
    fs::remove_all(path);
    fs::create_directories(path);
  }
  ~temp_dir() {
    std::error_code ec;
    fs::remove_all(path, ec);
  }
};

const size_t page = static_cast<size_t>(::sysconf(_SC_PAGESIZE));

void write_file(const fs::path& p, size_t n, char fill) {
  std::ofstream out(p, std::ios::binary | std::ios::trunc);
  const std::string bytes(n, fill);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

std::string check_error(const mapped_file& m) {
  try {
    m.check();
  } catch (const model_error& e) {
    return e.what();
  }
  return {};
}

// Moves the file's modification time by `seconds` (a rewrite within the same clock tick as the
// mapping would otherwise be invisible to the assertion, not to the product).
void touch_forward(const fs::path& p, int seconds) {
  struct stat st {};
  ASSERT_EQ(::stat(p.c_str(), &st), 0);
  struct timespec times[2] = {st.st_atim, st.st_mtim};
  times[1].tv_sec += seconds;
  ASSERT_EQ(::utimensat(AT_FDCWD, p.c_str(), times, 0), 0);
}

TEST(MappedFile, TruncationUnderTheMappingIsDetected) {
  temp_dir d("trunc");
  const fs::path f = d.path / "m.bin";
  write_file(f, 3 * page, 'a');
  const auto m = mapped_file::open(f);
  EXPECT_EQ(m.access(), file_access::map);
  EXPECT_EQ(check_error(m), "");
  fs::resize_file(f, page);
  const std::string e = check_error(m);
  EXPECT_NE(e.find(f.string()), std::string::npos) << e;
  EXPECT_NE(e.find("truncated from " + std::to_string(3 * page) + " to " + std::to_string(page)),
            std::string::npos)
      << e;
  EXPECT_FALSE(m.faulted());  // nothing was read past the new end
}

TEST(MappedFile, InPlaceRewriteIsDetectedAndRenameDeliveryIsSafe) {
  temp_dir d("rewrite");
  const fs::path f = d.path / "m.bin";
  write_file(f, 2 * page, 'a');
  {
    const auto m = mapped_file::open(f);
    {
      std::fstream io(f, std::ios::in | std::ios::out | std::ios::binary);
      io.seekp(10);
      io.put('b');
    }
    touch_forward(f, 2);
    const std::string e = check_error(m);
    EXPECT_NE(e.find("rewritten in place"), std::string::npos) << e;
    EXPECT_NE(e.find(f.string()), std::string::npos) << e;
  }
  // Delivery by rename: a new file written beside, renamed over the name. The mapping keeps the
  // old inode: intact, and still the old bytes.
  write_file(f, 2 * page, 'a');
  const auto m = mapped_file::open(f);
  const fs::path next = d.path / "m.bin.tmp";
  write_file(next, page, 'z');
  fs::rename(next, f);
  EXPECT_EQ(check_error(m), "");
  EXPECT_EQ(static_cast<char>(m.data()[2 * page - 1]), 'a');
  EXPECT_EQ(m.size(), 2 * page);
}

TEST(MappedFile, ReadIntoMemoryIsImmuneToTheFileChanging) {
  temp_dir d("read");
  const fs::path f = d.path / "m.bin";
  write_file(f, 3 * page + 5, 'q');
  const auto m = mapped_file::open(f, file_access::read);
  EXPECT_EQ(m.access(), file_access::read);
  EXPECT_EQ(reinterpret_cast<std::uintptr_t>(m.data()) % 64, 0u);
  fs::resize_file(f, 0);
  fs::remove(f);
  EXPECT_EQ(check_error(m), "");
  ASSERT_EQ(m.size(), 3 * page + 5);
  for (size_t i = 0; i < m.size(); i += 97) ASSERT_EQ(static_cast<char>(m.data()[i]), 'q') << i;
}

// Child bodies of the death tests: exit code 0 = every expectation held.
[[noreturn]] void read_lost_page(bool guarded) {
  temp_dir d(guarded ? "guarded" : "unguarded");
  const fs::path f = d.path / "m.bin";
  write_file(f, 3 * page, 'x');
  if (guarded && !edgecloud::model::guard_mapped_files()) std::_Exit(10);
  const auto m = mapped_file::open(f);
  if (static_cast<char>(m.data()[2 * page]) != 'x') std::_Exit(11);
  fs::resize_file(f, 0);
  const volatile std::byte* p = m.data();
  const auto lost = static_cast<int>(p[2 * page + 7]);  // SIGBUS: unguarded, the process ends here
  if (lost != 0) std::_Exit(12);                        // the guard's zero page
  if (!m.faulted()) std::_Exit(13);
  const std::string e = check_error(m);
  if (e.find("faulted (SIGBUS) at byte " + std::to_string(2 * page + 7)) == std::string::npos ||
      e.find(f.string()) == std::string::npos)
    std::_Exit(14);
  std::_Exit(0);
}

TEST(MappedFileDeathTest, TheGuardTurnsAFaultIntoAnError) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  EXPECT_EXIT(read_lost_page(true), ::testing::ExitedWithCode(0),
              "edgecloud: SIGBUS reading .*m\\.bin at byte [0-9]+: the file was truncated");
}

TEST(MappedFileDeathTest, WithoutTheGuardAFaultEndsTheProcess) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  // SIGBUS kills it; under AddressSanitizer, ASan's own SIGBUS report exits non-zero instead.
  EXPECT_EXIT(read_lost_page(false),
              [](int status) {
                return (WIFSIGNALED(status) && WTERMSIG(status) == SIGBUS) ||
                       (WIFEXITED(status) && WEXITSTATUS(status) != 0 && WEXITSTATUS(status) < 10);
              },
              "");
}

std::vector<float> last_logits(edgecloud::model::session& s, const std::vector<int32_t>& prompt) {
  s.truncate(0);
  const auto l = s.prefill(prompt);
  return {l.begin(), l.end()};
}

TEST(SessionFileCheck, PrefillRefusesAModelTruncatedUnderItAndReadCopiesAreImmune) {
  EDGECLOUD_FIXTURE(model, "models/tiny-qwen3-q8_0.gguf");
  temp_dir d("session");
  const fs::path mapped = d.path / "mapped.gguf", copied = d.path / "copied.gguf";
  fs::copy_file(model, mapped);
  fs::copy_file(model, copied);
  const auto m = edgecloud::model::qwen3::load(mapped);
  const auto c = edgecloud::model::qwen3::load(copied, file_access::read);
  edgecloud::model::session sm(m, {.context = 64, .threads = 2});
  edgecloud::model::session sc(c, {.context = 64, .threads = 2});
  const std::vector<int32_t> prompt = {1, 2, 3, 4, 5, 6, 7, 8};
  const auto before = last_logits(sm, prompt);
  ASSERT_EQ(last_logits(sc, prompt), before);

  fs::resize_file(mapped, fs::file_size(mapped) / 2);
  fs::resize_file(copied, 0);
  sm.truncate(0);
  try {
    sm.prefill(prompt);
    ADD_FAILURE() << "prefill computed on a truncated mapping";
  } catch (const model_error& e) {
    EXPECT_NE(std::string(e.what()).find(mapped.string() + ": truncated from"), std::string::npos)
        << e.what();
  }
  EXPECT_EQ(sm.size(), 0u);  // nothing was appended
  EXPECT_EQ(last_logits(sc, prompt), before);
}

// A truncation that lands while prefills run: whichever comes first, the fstat check before a
// pass or a guarded fault inside one, the caller gets a model_error naming the file, and the
// process lives on.
[[noreturn]] void truncate_during_prefills(const std::string& model) {
  if (!edgecloud::model::guard_mapped_files()) std::_Exit(10);
  temp_dir d("race");
  const fs::path f = d.path / "m.gguf";
  fs::copy_file(model, f);
  const auto m = edgecloud::model::qwen3::load(f);
  edgecloud::model::session s(m, {.context = 256, .threads = 2});
  std::vector<int32_t> prompt(200);
  for (size_t i = 0; i < prompt.size(); ++i) prompt[i] = static_cast<int32_t>(i * 31 % 900);
  std::atomic<bool> started{false};
  std::thread cut([&] {
    while (!started.load()) std::this_thread::yield();
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    fs::resize_file(f, 4096);
  });
  std::string error;
  for (int i = 0; i < 100000 && error.empty(); ++i) {
    try {
      s.truncate(0);
      s.prefill(prompt);
      started.store(true);
    } catch (const model_error& e) {
      error = e.what();
    }
  }
  started.store(true);
  cut.join();
  if (error.find(f.string()) == std::string::npos) std::_Exit(11);
  const bool fault = error.find("SIGBUS") != std::string::npos;
  if (!fault && error.find("truncated from") == std::string::npos) std::_Exit(12);
  std::fprintf(stderr, "caught by: %s\n", fault ? "the guard" : "the check");
  try {  // once faulted or truncated, every later pass refuses too
    s.truncate(0);
    s.prefill(prompt);
    std::_Exit(13);
  } catch (const model_error&) {
  }
  std::_Exit(0);
}

TEST(SessionFileCheckDeathTest, TruncationDuringPrefillsIsAnErrorNotACrash) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  EDGECLOUD_FIXTURE(model, "models/tiny-qwen3-q8_0.gguf");
  EXPECT_EXIT(truncate_during_prefills(model), ::testing::ExitedWithCode(0), "caught by: the");
}

}  // namespace
