// SPDX-License-Identifier: Apache-2.0
// stand_in_edge: a deterministic EdgeModel without a model, for tests, demos and the CLI before
// a GGUF is given. Intent by keywords (Chinese and English), safety by a block list, rewrite by
// resolving "it/that/它/这个" to the previous user turn, answers as "[edge:<intent>] <query>".
//
// Confidence is a fixed function of the keyword evidence so routing is reproducible: one label
// matched → 0.95, several → 0.6 (split), none → 0.3 with out-of-set mass 0.5.
// It also records how many calls were inside it at once (`max_concurrent_calls`), so tests can
// check that the assistant serialises the edge. Optional per-call delay and failure injection.
// Ownership: owns its tables; copyable while idle.
#pragma once

#include <algorithm>
#include <atomic>
#include <chrono>
#include <edgecloud/assistant/edge_model.hpp>
#include <edgecloud/error.hpp>
#include <map>
#include <memory>
#include <thread>

namespace edgecloud {

struct stand_in_edge_config {
  std::map<std::string, std::vector<std::string>> keywords = {
      {"weather", {"天气", "下雨", "气温", "weather", "rain", "forecast", "temperature"}},
      {"alarm", {"闹钟", "提醒", "叫醒", "alarm", "remind", "wake me"}},
      {"music", {"音乐", "播放", "歌", "music", "play", "song"}},
      {"navigation", {"导航", "怎么走", "路线", "navigate", "directions", "route to"}},
      {"smart_home", {"开灯", "关灯", "空调", "lights", "thermostat", "turn on", "turn off"}},
      {"chitchat", {"你好", "聊聊", "无聊", "hello", "how are you", "chat"}},
      {"knowledge",
       {"为什么", "是什么", "介绍", "历史", "why", "what is", "explain", "history of"}},
      {"reasoning", {"证明", "推导", "计算", "规划", "prove", "derive", "step by step", "plan a"}},
  };
  std::vector<std::string> blocked = {"炸弹", "制造武器", "bomb", "build a weapon"};
  std::chrono::milliseconds delay{0};  // per call, simulating inference time
};

class stand_in_edge {
 public:
  explicit stand_in_edge(stand_in_edge_config config = {})
      : config_(std::move(config)), counters_(std::make_shared<counters>()) {}

  edge_intent classify_intent(std::string_view text, std::span<const std::string> labels) {
    scope s(*this);
    if (labels.empty()) throw config_error("classify_intent: no labels given");
    std::string lower = lowercase(text);
    std::vector<std::string> matched;
    for (const std::string& label : labels) {
      auto it = config_.keywords.find(label);
      if (it == config_.keywords.end()) continue;
      for (const std::string& k : it->second)
        if (lower.find(lowercase(k)) != std::string::npos) {
          matched.push_back(label);
          break;
        }
    }
    if (matched.empty()) return {labels.front(), 0.3, 0.5};
    if (matched.size() == 1) return {matched.front(), 0.95, 0.02};
    return {matched.front(), 0.6, 0.05};
  }

  std::string rewrite(std::string_view text, std::span<const turn> history) {
    scope s(*this);
    std::string out(text);
    const turn* previous = nullptr;
    for (const turn& t : history)
      if (t.role == "user") previous = &t;
    if (!previous) return out;
    for (std::string_view pronoun : {"它", "这个", "那个", " it", " that"}) {
      size_t at = out.find(pronoun);
      if (at != std::string::npos) {
        std::string subject = previous->content;
        out.replace(at, pronoun.size(),
                    std::string(pronoun.front() == ' ' ? " " : "") + "(" + subject + ")");
        break;
      }
    }
    return out;
  }

  edge_safety check_safety(std::string_view text) {
    scope s(*this);
    std::string lower = lowercase(text);
    for (const std::string& b : config_.blocked)
      if (lower.find(lowercase(b)) != std::string::npos) return {false, "violence", 0.99};
    return {true, "none", 0.97};
  }

  std::string answer(const edge_answer_request& request) { return answer(request, {}); }
  // Streaming: the answer word by word (each piece a word and the space after it), as an engine
  // streams tokens; a sink returning false stops it there (the answer is what was streamed).
  std::string answer(const edge_answer_request& request, const text_sink& sink) {
    scope s(*this);
    if (counters_->fail_answers.load() > 0) {
      counters_->fail_answers.fetch_sub(1);
      throw error("stand-in edge: injected failure");
    }
    const std::string full = "[edge:" + std::string(request.intent) + "] " + std::string(request.query);
    if (!sink) return full;
    std::string out;
    for (size_t at = 0; at < full.size();) {
      size_t end = full.find(' ', at);
      end = end == std::string::npos ? full.size() : end + 1;
      const std::string_view piece(full.data() + at, end - at);
      out += piece;
      at = end;
      if (!sink(piece)) break;
    }
    return out;
  }

  // Test hooks.
  int max_concurrent_calls() const { return counters_->max_inside.load(); }
  uint64_t calls() const { return counters_->calls.load(); }
  void fail_next_answers(int n) { counters_->fail_answers.store(n); }

 private:
  struct counters {
    std::atomic<int> inside{0}, max_inside{0}, fail_answers{0};
    std::atomic<uint64_t> calls{0};
  };
  // Counts entries; the delay makes overlapping calls (a serialisation bug) observable.
  struct scope {
    explicit scope(stand_in_edge& e) : c(*e.counters_) {
      c.calls.fetch_add(1);
      int now = c.inside.fetch_add(1) + 1;
      int seen = c.max_inside.load();
      while (now > seen && !c.max_inside.compare_exchange_weak(seen, now)) {
      }
      if (e.config_.delay.count() > 0) std::this_thread::sleep_for(e.config_.delay);
    }
    ~scope() { c.inside.fetch_sub(1); }
    counters& c;
  };
  static std::string lowercase(std::string_view s) {
    std::string out(s);
    for (char& ch : out)
      if (ch >= 'A' && ch <= 'Z') ch = static_cast<char>(ch - 'A' + 'a');
    return out;
  }

  stand_in_edge_config config_;
  std::shared_ptr<counters> counters_;  // shared by copies, so a test keeps a handle
};

static_assert(StreamingEdgeModel<stand_in_edge>);

}  // namespace edgecloud
