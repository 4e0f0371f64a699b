// SPDX-License-Identifier: Apache-2.0
// What of a streamed answer may be shown, piece by piece: OpenAI's `stop` sequences end the
// answer before the first one (which is not part of it), and with tool calls on, a
// "<tool_call>" starts the calls: from there the text is captured, not shown, for
// parse_tool_calls at the end. Text that could be the start of a stop sequence or of the tool
// marker is held back until it is known not to be, so what was shown is always a prefix of the
// final answer. Pieces are whole UTF-8 characters (text::stream_decoder's output); a held-back
// suffix equals a marker's prefix, which starts at a character boundary, so every piece given
// out is whole characters too.
#pragma once

#include <algorithm>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace edgecloud::text {

class answer_filter {
 public:
  static constexpr std::string_view tool_open = "<tool_call>";

  answer_filter(std::vector<std::string> stops, bool capture_tool_calls)
      : stops_(std::move(stops)), tools_(capture_tool_calls) {
    std::erase_if(stops_, [](const std::string& s) { return s.empty(); });
  }

  // Gives `show` the text of `piece` (with what was held before) that may be shown now, if
  // any. Without stops and tool capture `piece` itself goes through (nothing copied); otherwise
  // only the held-back tail is kept between calls.
  template <class Show>
  void push(std::string_view piece, Show&& show) {
    if (stopped_) return;
    if (capturing_) {
      captured_.append(piece);
      return;
    }
    if (stops_.empty() && !tools_) {
      show(piece);
      return;
    }
    held_.append(piece);
    size_t cut = std::string::npos;
    bool at_tool = false;
    for (const std::string& st : stops_) cut = std::min(cut, held_.find(st));
    if (tools_) {
      if (const size_t t = held_.find(tool_open); t != std::string::npos && t < cut) {
        cut = t;
        at_tool = true;
      }
    }
    if (cut != std::string::npos) {
      if (cut) show(std::string_view(held_).substr(0, cut));
      if (at_tool) {
        capturing_ = true;
        captured_.assign(held_, cut);
      } else {
        stopped_ = true;
      }
      held_.clear();
      return;
    }
    size_t hold = 0;
    const auto hold_for = [&](std::string_view marker) {
      for (size_t k = std::min(marker.size() - 1, held_.size()); k > hold; --k)
        if (std::string_view(held_).substr(held_.size() - k) == marker.substr(0, k)) {
          hold = k;
          break;
        }
    };
    for (const std::string& st : stops_) hold_for(st);
    if (tools_) hold_for(tool_open);
    if (held_.size() > hold) show(std::string_view(held_).substr(0, held_.size() - hold));
    held_.erase(0, held_.size() - hold);
  }

  // The end of the answer: gives `show` what is still held (text that turned out not to be a
  // marker). The captured tool-call text is not included: see captured().
  template <class Show>
  void finish(Show&& show) {
    if (!stopped_ && !held_.empty()) show(std::string_view(held_));
    held_.clear();
  }

  bool stopped() const noexcept { return stopped_; }      // a stop sequence came: end generation
  bool capturing() const noexcept { return capturing_; }  // a "<tool_call>" came
  const std::string& captured() const noexcept { return captured_; }

 private:
  std::vector<std::string> stops_;
  bool tools_ = false;
  bool stopped_ = false, capturing_ = false;
  std::string held_, captured_;
};

}  // namespace edgecloud::text
