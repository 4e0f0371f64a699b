// SPDX-License-Identifier: Apache-2.0
// libFuzzer target of the text layer. Any bytes, in both encode modes, must:
//  * give ids inside the vocabulary, with no control token in untrusted mode;
//  * decode back to NFC(input with ill-formed UTF-8 replaced by U+FFFD) -- exactly when the
//    input holds no '<' (no added token); otherwise up to NFC, since Hugging Face (and we)
//    normalise the text between added tokens, not across them (">" + U+0338 stays two characters
//    after "<think>", while NFC of the whole would compose them to U+226F);
//  * stream-decode to the same text as decode;
// and as the content of a user message, the rendered Qwen3 prompt encodes to exactly the
// template's control tokens. Uses the real Qwen3 tokenizer when ../shared/fixtures is beside
// the working directory (or $EDGECLOUD_FIXTURES points to it), else the synthetic vocabulary.
#include <edgecloud/text/chat_template.hpp>
#include <edgecloud/text/stream_decoder.hpp>
#include <edgecloud/text/tokenizer.hpp>

#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <string>

namespace {

namespace text = edgecloud::text;

const text::tokenizer& tok() {
  static const std::unique_ptr<text::tokenizer> t = [] {
    std::filesystem::path p = "../shared/fixtures/tokenizer/tokenizer.json";
    if (const char* env = std::getenv("EDGECLOUD_FIXTURES"))
      p = std::filesystem::path(env) / "tokenizer" / "tokenizer.json";
    return std::make_unique<text::tokenizer>(std::filesystem::exists(p) ? text::read_hf_tokenizer(p)
                                                                        : text::make_synthetic_vocab());
  }();
  return *t;
}

void check(bool ok) {
  if (!ok) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const auto& t = tok();
  const std::string input(reinterpret_cast<const char*>(data), size);
  const std::string expected = text::unicode::to_nfc(input);
  check(text::unicode::first_invalid_utf8(expected) == expected.size());
  check(text::unicode::to_nfc(expected) == expected);  // NFC is idempotent
  for (auto mode : {text::encode_mode::trusted, text::encode_mode::untrusted}) {
    const auto ids = t.encode(input, mode);
    for (int32_t id : ids) {
      check(id >= 0 && static_cast<size_t>(id) < t.size());
      if (mode == text::encode_mode::untrusted) check(!t.is_control(id));
    }
    const std::string decoded = t.decode(ids);
    check(text::unicode::to_nfc(decoded) == expected);
    if (input.find('<') == std::string::npos) check(decoded == expected);
    text::stream_decoder dec(t);
    std::string streamed;
    for (int32_t id : ids) streamed += dec.push(id);
    streamed += dec.flush();
    check(streamed == decoded);
  }
  // User text inside a chat prompt never adds control tokens.
  const auto prompt = text::render_qwen3(
      text::ordered_json::array({{{"role", "user"}, {"content", expected}}}), nullptr, {});
  const auto ids = text::encode_chat(t, prompt);
  size_t control = 0;
  for (int32_t id : ids) control += t.is_control(id);
  check(control == 3);  // <|im_start|>user ... <|im_end|> <|im_start|>assistant
  check(text::unicode::to_nfc(t.decode(ids)) == text::unicode::to_nfc(prompt.text));
  return 0;
}
