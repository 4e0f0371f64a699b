// SPDX-License-Identifier: Apache-2.0
// libFuzzer target for the PII scanners: any bytes (valid UTF-8 or not) must give sorted,
// disjoint, non-empty spans inside the text with a confidence in (0, 1]; for valid UTF-8 every
// span starts and ends on a character boundary; and redaction must be exactly the text with
// every span replaced by its kind's placeholder (rebuilt here from the spans, so a byte of a
// span left in, or a byte outside one lost, is caught). A crash, an out-of-bounds read (ASan),
// undefined behaviour (UBSan) or a broken invariant (__builtin_trap) is a finding.
// Seeds: tests/fuzz/corpus/pii/.
#include <cstddef>
#include <cstdint>
#include <edgecloud/tasks/pii.hpp>
#include <string>
#include <string_view>

namespace {

// RFC 3629 well-formed UTF-8 (no overlongs, surrogates or code points above U+10FFFF).
bool valid_utf8(std::string_view s) {
  for (size_t i = 0; i < s.size();) {
    const auto c = static_cast<unsigned char>(s[i]);
    size_t n;
    uint32_t cp;
    if (c < 0x80) {
      ++i;
      continue;
    } else if (c >= 0xC2 && c <= 0xDF) {
      n = 1, cp = c & 0x1F;
    } else if (c >= 0xE0 && c <= 0xEF) {
      n = 2, cp = c & 0x0F;
    } else if (c >= 0xF0 && c <= 0xF4) {
      n = 3, cp = c & 0x07;
    } else {
      return false;
    }
    for (size_t k = 1; k <= n; ++k) {
      if (i + k >= s.size()) return false;
      const auto d = static_cast<unsigned char>(s[i + k]);
      if ((d & 0xC0) != 0x80) return false;
      cp = cp << 6 | (d & 0x3F);
    }
    if ((n == 2 && cp < 0x800) || (n == 3 && cp < 0x10000) || cp > 0x10FFFF ||
        (cp >= 0xD800 && cp <= 0xDFFF))
      return false;
    i += n + 1;
  }
  return true;
}

bool continuation(std::string_view s, size_t i) {
  return i < s.size() && (static_cast<unsigned char>(s[i]) & 0xC0) == 0x80;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  const auto spans = edgecloud::tasks::detect_pii(text);
  const bool utf8 = valid_utf8(text);
  size_t previous_end = 0;
  for (const auto& s : spans) {
    if (s.begin >= s.end || s.end > text.size() || s.begin < previous_end) __builtin_trap();
    if (!(s.confidence > 0 && s.confidence <= 1)) __builtin_trap();
    if (utf8 && (continuation(text, s.begin) || continuation(text, s.end))) __builtin_trap();
    previous_end = s.end;
  }
  std::string expected;
  size_t at = 0;
  for (const auto& s : spans) {
    expected.append(text.substr(at, s.begin - at));
    expected += edgecloud::tasks::placeholder(s.kind);
    at = s.end;
  }
  expected.append(text.substr(at));
  if (edgecloud::tasks::redact(text, spans) != expected) __builtin_trap();
  return 0;
}
