// SPDX-License-Identifier: Apache-2.0
// Incremental parser of Server-Sent Events (WHATWG HTML §9.2 "event stream interpretation"),
// the framing of streamed Chat Completions: `data: {...}\n\n` per chunk, `data: [DONE]` at the
// end. Bytes may arrive split anywhere (inside a field name, between CR and LF, inside a UTF-8
// sequence); the parser keeps the unfinished line and never looks past what it was given.
//
// Lines end in CRLF, LF or CR. `:` starts a comment (servers send `: ping` keep-alives).
// `field: value` strips one space after the colon; several `data:` lines of one event are
// joined with "\n". An empty line dispatches the event; an event without data is dropped.
// A line or event longer than `max_event_bytes` is an error (a hostile or broken server must not
// make us buffer without bound).
//
// Owns its buffers; holds no reference to the input after feed() returns.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace edgecloud::transport {

struct sse_event {
  std::string event = "message";  // the `event:` field, "message" when absent
  std::string data;
  std::string id;                 // last event id seen (persists across events, per the spec)
};

class sse_parser {
 public:
  explicit sse_parser(std::size_t max_event_bytes = std::size_t(1) << 20)
      : max_event_bytes_(max_event_bytes) {}

  // Parses `bytes`, calling `on_event(const sse_event&) -> bool` for each complete event.
  // Returns false when on_event returned false (stop requested) or on an error (see error()).
  template <class OnEvent>
  bool feed(std::string_view bytes, OnEvent&& on_event) {
    if (!error_.empty()) return false;
    if (!bom_checked_) {
      // A UTF-8 BOM may open the stream; it may itself arrive split.
      static constexpr std::string_view bom = "\xEF\xBB\xBF";
      while (!bytes.empty() && bom_matched_ < bom.size() && bytes.front() == bom[bom_matched_]) {
        bytes.remove_prefix(1);
        ++bom_matched_;
      }
      if (bom_matched_ == bom.size() || !bytes.empty()) {
        if (bom_matched_ != 0 && bom_matched_ != bom.size()) {
          line_.append(bom.substr(0, bom_matched_));  // not a BOM after all
        }
        bom_checked_ = true;
      } else {
        return true;  // only a BOM prefix so far
      }
    }
    while (!bytes.empty()) {
      if (pending_cr_) {
        pending_cr_ = false;
        if (bytes.front() == '\n') {  // the LF of a CRLF split across feeds
          bytes.remove_prefix(1);
          continue;
        }
      }
      const std::size_t end = bytes.find_first_of("\r\n");
      if (end == std::string_view::npos) {
        line_.append(bytes);
        return check_size();
      }
      line_.append(bytes.substr(0, end));
      if (!check_size()) return false;
      if (bytes[end] == '\r') {
        if (end + 1 < bytes.size()) {
          bytes.remove_prefix(bytes[end + 1] == '\n' ? end + 2 : end + 1);
        } else {
          pending_cr_ = true;
          bytes.remove_prefix(end + 1);
        }
      } else {
        bytes.remove_prefix(end + 1);
      }
      if (!process_line(on_event)) return false;
    }
    return true;
  }

  // True when bytes of an unfinished event are buffered (the stream ended mid-event).
  bool has_partial_event() const { return !line_.empty() || has_data_; }
  const std::string& error() const { return error_; }
  std::size_t events_dispatched() const { return dispatched_; }

 private:
  bool check_size() {
    if (line_.size() + current_.data.size() > max_event_bytes_) {
      error_ = "server-sent event larger than " + std::to_string(max_event_bytes_) + " bytes";
      return false;
    }
    return true;
  }

  template <class OnEvent>
  bool process_line(OnEvent& on_event) {
    std::string_view line = line_;
    if (line.empty()) {
      bool keep_going = true;
      if (has_data_) {
        if (!current_.data.empty() && current_.data.back() == '\n') current_.data.pop_back();
        ++dispatched_;
        keep_going = static_cast<bool>(on_event(static_cast<const sse_event&>(current_)));
      }
      current_.data.clear();
      current_.event = "message";
      has_data_ = false;
      line_.clear();
      return keep_going;
    }
    if (line.front() != ':') {
      std::string_view field = line, value;
      if (auto colon = line.find(':'); colon != std::string_view::npos) {
        field = line.substr(0, colon);
        value = line.substr(colon + 1);
        if (!value.empty() && value.front() == ' ') value.remove_prefix(1);
      }
      if (field == "data") {
        current_.data.append(value);
        current_.data.push_back('\n');
        has_data_ = true;
      } else if (field == "event") {
        current_.event.assign(value);
      } else if (field == "id") {
        if (value.find('\0') == std::string_view::npos) current_.id.assign(value);
      }
      // "retry" and unknown fields are ignored, as the spec says.
    }
    line_.clear();
    return true;
  }

  std::size_t max_event_bytes_;
  std::string line_;
  sse_event current_;
  bool has_data_ = false;
  bool pending_cr_ = false;
  bool bom_checked_ = false;
  std::size_t bom_matched_ = 0;
  std::size_t dispatched_ = 0;
  std::string error_;
};

}  // namespace edgecloud::transport
