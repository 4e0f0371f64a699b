// SPDX-License-Identifier: Apache-2.0
// Incremental detokenization for streaming generation. A byte-level token may end in the middle
// of a UTF-8 character (one Chinese character or emoji is often split over two or three tokens),
// so push() emits only whole characters and holds back an incomplete tail (at most 3 bytes);
// flush() ends the stream. Ill-formed bytes become U+FFFD exactly as tokenizer::decode() does:
// the concatenation of every push() and the final flush() equals decode(all ids).
//
// Ownership: holds a reference to the tokenizer (which must outlive it) and owns two small
// buffers, reused across calls: push() does not allocate once they have grown to a token's size.
// The returned view is valid until the next call.
#pragma once

#include <edgecloud/text/tokenizer.hpp>
#include <edgecloud/text/unicode.hpp>

#include <string>
#include <string_view>

namespace edgecloud::text {

class stream_decoder {
 public:
  explicit stream_decoder(const tokenizer& tok, bool skip_control = false)
      : tok_(&tok), skip_control_(skip_control) {}

  // Feeds one token; returns the text now complete. Throws text_error for an invalid id (the
  // decoder's state is then unchanged).
  std::string_view push(int32_t id) {
    const std::string_view bytes = tok_->token_bytes(id);
    out_.clear();
    if (skip_control_ && tok_->is_control(id)) return out_;
    pending_.append(bytes);
    const auto* s = reinterpret_cast<const unsigned char*>(pending_.data());
    const size_t n = pending_.size();
    size_t i = 0;
    while (i < n) {
      size_t bad = 1;
      const size_t len = unicode::utf8_sequence_length(s + i, n - i, &bad);
      if (len != 0) {
        out_.append(pending_, i, len);
        i += len;
      } else if (i + bad == n && could_continue(s + i, n - i)) {
        break;  // a character cut by the token boundary: wait for its next bytes
      } else {
        unicode::append_utf8(out_, unicode::replacement_character);
        i += bad;
      }
    }
    pending_.erase(0, i);
    return out_;
  }

  // Ends the stream: an incomplete character left over becomes U+FFFD. The decoder can be reused.
  std::string_view flush() {
    out_.clear();
    if (!pending_.empty()) unicode::append_sanitized_utf8(out_, pending_);
    pending_.clear();
    return out_;
  }

  // Bytes held back, waiting for the rest of a character (0..3).
  size_t pending_bytes() const { return pending_.size(); }

 private:
  // Called when the ill-formed subpart at s reaches the end of the buffer: with a valid lead
  // byte, every byte so far was accepted, so more bytes may still complete the character.
  static bool could_continue(const unsigned char* s, size_t) { return s[0] >= 0xC2 && s[0] <= 0xF4; }

  const tokenizer* tok_;
  bool skip_control_;
  std::string pending_, out_;
};

}  // namespace edgecloud::text
