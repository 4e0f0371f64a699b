// SPDX-License-Identifier: Apache-2.0
// main() of every test binary (in place of GTest::gtest_main). Besides running the tests it
//  - applies tests/common/skip_policy.hpp: in a strict run a skip that is not allow-listed is
//    turned into a failure of that test, with the skip's own message;
//  - prints one accounting line: how many tests ran, passed, were skipped (allow-listed ones
//    named) and failed; and appends the same as a tab-separated line to the file named by
//    EDGECLOUD_TEST_LEDGER, which scripts/test-summary.sh adds up over a whole ctest run.
// Counting per test case matters: CTest sees one result per binary, so a binary with one
// skipped case among twenty passing ones is "skipped" there; the ledger says which case.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <string>
#include <vector>

#include "common/skip_policy.hpp"

namespace {

class skip_accounting : public ::testing::EmptyTestEventListener {
 public:
  skip_accounting(bool strict, std::set<std::string> allowed)
      : strict_(strict), allowed_(std::move(allowed)) {}

  void OnTestStart(const ::testing::TestInfo& info) override {
    current_ = full_name(info);
    unexpected_skip_.clear();
  }

  // A skip arrives here as a part result of the running test. gtest holds its own lock while
  // it reports one (no assertion may be made here), so the skip is only noted.
  void OnTestPartResult(const ::testing::TestPartResult& r) override {
    if (r.skipped() && strict_ && !allowed_.count(current_))
      unexpected_skip_ = r.message() ? r.message() : "";
  }

  // End events reach listeners in reverse order, so this runs before the default printer's
  // OnTestEnd: the failure added here (the test is still current) makes the test Failed (gtest:
  // Skipped means a skip and no failure), and it is printed as [  FAILED  ], never as
  // [  SKIPPED ] -- so CTest's SKIP_REGULAR_EXPRESSION cannot turn it into a skip.
  void OnTestEnd(const ::testing::TestInfo& info) override {
    if (!unexpected_skip_.empty() || (strict_ && info.result()->Skipped() && !allowed_.count(current_))) {
      ADD_FAILURE() << "skipped in a strict run (EDGECLOUD_REQUIRE_FIXTURES=1 or CI=true) and not "
                       "in EDGECLOUD_ALLOWED_SKIPS: "
                    << unexpected_skip_;
      unexpected_skip_.clear();
    }
    const auto* result = info.result();
    ++ran_;
    if (result->Failed())
      ++failed_;
    else if (result->Skipped())
      skipped_.push_back(full_name(info));
    else
      ++passed_;
  }

  void OnTestProgramEnd(const ::testing::UnitTest& unit) override {
    std::string names;
    for (const auto& n : skipped_) names += (names.empty() ? "" : ",") + n;
    std::printf("[ edgecloud ] %s: %d ran, %d passed, %zu skipped%s%s%s, %d failed\n",
                binary_.c_str(), ran_, passed_, skipped_.size(), names.empty() ? "" : " (",
                names.c_str(), names.empty() ? "" : ")", failed_);
    std::fflush(stdout);
    (void)unit;
    const char* ledger = std::getenv("EDGECLOUD_TEST_LEDGER");
    if (!ledger || !*ledger) return;
    // One write(2) per binary on an O_APPEND file: lines from parallel ctest jobs never mix.
    const std::string line = binary_ + "\t" + std::to_string(ran_) + "\t" +
                             std::to_string(passed_) + "\t" + std::to_string(skipped_.size()) +
                             "\t" + std::to_string(failed_) + "\t" + names + "\n";
    const int fd = ::open(ledger, O_WRONLY | O_CREAT | O_APPEND, 0644);
    if (fd < 0) {
      std::fprintf(stderr, "cannot open EDGECLOUD_TEST_LEDGER %s\n", ledger);
      return;
    }
    if (::write(fd, line.data(), line.size()) != static_cast<ssize_t>(line.size()))
      std::fprintf(stderr, "short write to EDGECLOUD_TEST_LEDGER %s\n", ledger);
    ::close(fd);
  }

  void set_binary(std::string name) { binary_ = std::move(name); }

 private:
  static std::string full_name(const ::testing::TestInfo& info) {
    return std::string(info.test_suite_name()) + "." + info.name();
  }
  bool strict_;
  std::set<std::string> allowed_;
  std::string binary_, current_, unexpected_skip_;
  int ran_ = 0, passed_ = 0, failed_ = 0;
  std::vector<std::string> skipped_;
};

}  // namespace

int main(int argc, char** argv) {
  ::testing::InitGoogleTest(&argc, argv);
  auto* accounting = new skip_accounting(edgecloud::testing::strict_run(),
                                         edgecloud::testing::allowed_skips());
  std::string binary = argc > 0 ? argv[0] : "test";
  if (const auto slash = binary.rfind('/'); slash != std::string::npos)
    binary = binary.substr(slash + 1);
  accounting->set_binary(binary);
  ::testing::UnitTest::GetInstance()->listeners().Append(accounting);  // gtest owns it
  return RUN_ALL_TESTS();
}
