// SPDX-License-Identifier: Apache-2.0
// libFuzzer target for the PII scanners: any bytes (valid UTF-8 or not) must give sorted,
// disjoint spans inside the text that start and end on UTF-8 character boundaries (for valid
// UTF-8), and redaction must remove every byte of every span. A crash, an out-of-bounds read
// (ASan), undefined behaviour (UBSan) or a broken invariant (abort via __builtin_trap) is a
// finding. Seeds: tests/fuzz/corpus/pii/.
#include <cstddef>
#include <cstdint>
#include <edgecloud/tasks/pii.hpp>
#include <string_view>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  auto spans = edgecloud::tasks::detect_pii(text);
  size_t previous_end = 0;
  for (const auto& s : spans) {
    if (s.begin > s.end || s.end > text.size() || s.begin < previous_end) __builtin_trap();
    if (!(s.confidence > 0 && s.confidence <= 1)) __builtin_trap();
    previous_end = s.end;
  }
  std::string redacted = edgecloud::tasks::redact(text, spans);
  size_t removed = 0, added = 0;
  for (const auto& s : spans) {
    removed += s.end - s.begin;
    added += edgecloud::tasks::placeholder(s.kind).size();
  }
  if (redacted.size() != text.size() - removed + added) __builtin_trap();
  return 0;
}
