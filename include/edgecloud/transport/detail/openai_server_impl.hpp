// SPDX-License-Identifier: Apache-2.0
// Out-of-class definitions of openai_server (included by openai_server.hpp only): routing,
// request parsing, the plain / streamed / oversized answers and where each fault is injected.
#pragma once

#include <edgecloud/transport/openai_server.hpp>

#include <ctime>

namespace edgecloud::transport {

// Everything one answer needs after the handler has returned (a streamed body is produced
// later, on the same worker thread, by httplib's content provider).
struct openai_server::stream_job {
  chat_request request;
  fault_config faults;
  stream_break brk = stream_break::none;
  bool include_usage = false;
  std::string id, model;
  std::int64_t created = 0;
};

inline int openai_server::start() {
  std::lock_guard lock(state_mutex_);
  if (started_) return port_;
  if (config_.tls_cert_file.empty() != config_.tls_key_file.empty())
    throw config_error("HTTPS needs both a certificate and a key file");
  if (!config_.tls_cert_file.empty()) {
    server_ = std::make_unique<httplib::SSLServer>(config_.tls_cert_file.c_str(),
                                                   config_.tls_key_file.c_str());
    if (!server_->is_valid())
      throw config_error("cannot load TLS certificate '" + config_.tls_cert_file + "' / key '" +
                         config_.tls_key_file + "'");
  } else {
    server_ = std::make_unique<httplib::Server>();
  }
  const std::size_t workers = std::max<std::size_t>(1, config_.worker_threads);
  server_->new_task_queue = [workers] { return new httplib::ThreadPool(workers); };
  server_->set_keep_alive_timeout(config_.keep_alive_timeout_s);
  server_->set_payload_max_length(config_.max_request_bytes);
  server_->set_tcp_nodelay(true);
  // httplib's default also sets SO_REUSEPORT, which lets a second server bind a busy port and
  // silently share it; keep SO_REUSEADDR only, so "port in use" is an error.
  server_->set_socket_options([](socket_t sock) {
    int yes = 1;
    ::setsockopt(sock, SOL_SOCKET, SO_REUSEADDR, reinterpret_cast<const char*>(&yes), sizeof yes);
  });
  server_->set_pre_routing_handler([this](const httplib::Request&, httplib::Response&) {
    requests_.fetch_add(1);
    return httplib::Server::HandlerResponse::Unhandled;
  });
  server_->Get("/health", [](const httplib::Request&, httplib::Response& res) {
    res.set_content(R"({"status":"ok"})", "application/json");
  });
  server_->Get("/v1/models", [this](const httplib::Request& req, httplib::Response& res) {
    if (!authorized(req)) return send_error(res, 401, "invalid API key", "authentication_error");
    nlohmann::json data = nlohmann::json::array();
    for (const auto& m : config_.models)
      data.push_back({{"id", m}, {"object", "model"}, {"created", 0}, {"owned_by", "edgecloud"}});
    res.set_content(nlohmann::json{{"object", "list"}, {"data", data}}.dump(), "application/json");
  });
  server_->Get("/lora-adapters", [this](const httplib::Request& req, httplib::Response& res) {
    if (!authorized(req)) return send_error(res, 401, "invalid API key", "authentication_error");
    nlohmann::json list = nlohmann::json::array();
    for (const auto& a : lora_adapters())
      list.push_back({{"id", a.id}, {"path", a.path}, {"scale", a.scale}});
    res.set_content(list.dump(), "application/json");
  });
  server_->Post("/lora-adapters", [this](const httplib::Request& req, httplib::Response& res) {
    if (!authorized(req)) return send_error(res, 401, "invalid API key", "authentication_error");
    const auto body = nlohmann::json::parse(req.body, nullptr, false);
    std::vector<lora_choice> given, all;
    std::string problem = body.is_discarded() ? "request body is not valid JSON"
                                              : lora_list_from_json(body, given);
    if (problem.empty()) problem = resolve_lora(given, all);
    if (!problem.empty()) return send_error(res, 400, problem, "invalid_request_error");
    {
      std::lock_guard lock(lora_mutex_);
      for (std::size_t i = 0; i < all.size(); ++i) config_.lora_adapters[i].scale = all[i].scale;
    }
    res.set_content(R"({"success":true})", "application/json");
  });
  server_->Post("/v1/chat/completions", [this](const httplib::Request& req, httplib::Response& res) {
    handle_chat(req, res);
  });
  server_->set_exception_handler([this](const httplib::Request&, httplib::Response& res,
                                        std::exception_ptr ep) {
    generator_errors_.fetch_add(1);
    std::string what = "internal error";
    try {
      if (ep) std::rethrow_exception(ep);
    } catch (const std::exception& e) {
      what = e.what();
    } catch (...) {
    }
    send_error(res, 500, what, "server_error");
  });
  if (config_.port == 0) {
    port_ = server_->bind_to_any_port(config_.host);
    if (port_ <= 0) throw transport_error("cannot bind an HTTP port on " + config_.host);
  } else {
    if (!server_->bind_to_port(config_.host, config_.port))
      throw transport_error("cannot bind " + config_.host + ":" + std::to_string(config_.port) +
                            " (in use, or not a local address?)");
    port_ = config_.port;
  }
  listener_ = std::thread([this] {
    server_->listen_after_bind();
    listener_done_ = true;
  });
  // httplib's stop() is a no-op until listen has begun: wait for it, or a stop() right after
  // start() would leave the listener running forever.
  while (!server_->is_running() && !listener_done_) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  started_ = true;
  return port_;
}

inline void openai_server::stop() {
  std::lock_guard stop_lock(stop_mutex_);  // two stop() calls must not both join the listener
  {
    std::lock_guard lock(state_mutex_);
    stopping_ = true;
  }
  state_cv_.notify_all();
  if (server_) server_->stop();
  if (listener_.joinable()) listener_.join();
}

inline void openai_server::handle_chat(const httplib::Request& req, httplib::Response& res) {
  chat_.fetch_add(1);
  if (!authorized(req)) {
    rejected_.fetch_add(1);
    return send_error(res, 401, "invalid API key", "authentication_error");
  }
  auto job = std::make_shared<stream_job>();
  job->faults = faults();
  if (config_.allow_fault_header && req.has_header(std::string(fault_header).c_str())) {
    try {
      job->faults = parse_fault_spec(req.get_header_value(std::string(fault_header).c_str()), job->faults);
    } catch (const config_error& e) {
      rejected_.fetch_add(1);
      return send_error(res, 400, e.what(), "invalid_request_error");
    }
  }
  const auto body = nlohmann::json::parse(req.body, nullptr, false);
  if (body.is_discarded()) {
    rejected_.fetch_add(1);
    return send_error(res, 400, "request body is not valid JSON", "invalid_request_error");
  }
  std::string param;
  std::string problem = request_from_json(body, job->request, &param);
  if (problem.empty()) {  // valid, but can this server honour it?
    const chat_request& r = job->request;
    const auto refuse = [&](const char* field, std::string why) {
      param = field;
      problem = std::move(why);
    };
    if (!config_.sampling && r.temperature && *r.temperature > 0)
      refuse("temperature", "this server decodes greedily: 'temperature' must be 0 or absent");
    else if (!config_.sampling && r.top_p && *r.top_p < 1)
      refuse("top_p", "this server decodes greedily: 'top_p' must be 1 or absent");
    else if (r.n != 1)
      refuse("n", "this server returns one choice: 'n' must be 1");
    else if (r.response_format == "json_object" || r.response_format == "json_schema")
      refuse("response_format", "'response_format' " + r.response_format + " is not supported by this server");
  }
  if (!problem.empty()) {
    rejected_.fetch_add(1);
    return send_error(res, 400, problem, "invalid_request_error", param);
  }
  if (job->request.lora) {  // the request's own scales; the others at 0
    std::vector<lora_choice> resolved;
    if (auto problem = resolve_lora(*job->request.lora, resolved); !problem.empty()) {
      rejected_.fetch_add(1);
      return send_error(res, 400, problem, "invalid_request_error");
    }
    job->request.lora = std::move(resolved);
  } else if (!config_.lora_adapters.empty()) {  // the server-wide scales
    auto& l = job->request.lora.emplace();
    for (const auto& a : lora_adapters()) l.push_back({a.id, a.scale});
  }
  if (job->request.findings.empty() && req.has_header(std::string(findings_header).c_str())) {
    job->request.findings = findings_from_json(nlohmann::json::parse(
        req.get_header_value(std::string(findings_header).c_str()), nullptr, false));
  }
  if (auto so = body.find("stream_options"); so != body.end() && so->is_object())
    if (auto iu = so->find("include_usage"); iu != so->end() && iu->is_boolean())
      job->include_usage = iu->get<bool>();
  if (job->request.stream) streamed_.fetch_add(1);

  if (!pause(job->faults.header_delay)) {
    disconnects_.fetch_add(1);
    return send_error(res, 503, "server is shutting down", "server_error");
  }
  int status = 0, retry_after = -1;
  {
    std::lock_guard lock(fault_mutex_);
    if (fail_next_ > 0) {
      --fail_next_;
      status = fail_next_status_;
      retry_after = fail_next_retry_after_;
    }
  }
  if (status == 0 && chance(job->faults.error_rate)) {
    status = job->faults.error_status;
    retry_after = job->faults.retry_after_s;
  }
  if (status != 0) {
    errors_.fetch_add(1);
    if (retry_after >= 0) res.set_header("Retry-After", std::to_string(retry_after));
    return send_error(res, status, "injected fault: HTTP " + std::to_string(status),
                      status == 429 ? "rate_limit_error" : "server_error");
  }
  job->id = "chatcmpl-" + std::to_string(next_id_.fetch_add(1));
  job->model = job->request.model.empty() ? config_.models.front() : job->request.model;
  job->created = static_cast<std::int64_t>(std::time(nullptr));
  if (job->faults.huge_body_bytes > 0) return answer_huge(job, res);
  if (chance(job->faults.break_rate)) job->brk = job->faults.break_kind;
  if (job->request.stream) answer_stream(job, res);
  else answer_plain(job, res);
}

inline void openai_server::answer_plain(const std::shared_ptr<stream_job>& job,
                                        httplib::Response& res) {
  generation_result g;
  try {
    g = generate_(job->request, [this](std::string_view) { return pause({}); });
  } catch (const std::exception& e) {
    generator_errors_.fetch_add(1);
    return send_error(res, 500, std::string("generation failed: ") + e.what(), "server_error");
  }
  auto text = std::make_shared<std::string>(completion_to_json(job->id, job->model, job->created, g)
                                                .dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
  switch (job->brk) {
    case stream_break::malformed_json:
    case stream_break::interleave:
      breaks_.fetch_add(1);
      res.set_content(text->substr(0, text->size() / 2) + "#not json", "application/json");
      return;
    case stream_break::truncate_mid_json:
    case stream_break::close_early: {
      breaks_.fetch_add(1);
      const std::size_t cut = job->brk == stream_break::close_early ? 0 : text->size() / 2;
      res.set_content_provider(text->size(), "application/json",
                               [text, cut](std::size_t offset, std::size_t, httplib::DataSink& sink) {
                                 if (offset < cut) sink.write(text->data() + offset, cut - offset);
                                 return false;  // declared length not reached: early close
                               });
      return;
    }
    default: break;
  }
  if (job->faults.drip.count() == 0) {
    completed_.fetch_add(1);
    res.set_content(*text, "application/json");
    return;
  }
  // Slow drip: 32-byte pieces with a pause between them.
  res.set_content_provider(text->size(), "application/json",
                           [this, text, job](std::size_t offset, std::size_t, httplib::DataSink& sink) {
                             if (!pause(job->faults.drip)) return false;
                             const std::size_t n = std::min<std::size_t>(32, text->size() - offset);
                             if (!sink.write(text->data() + offset, n)) {
                               disconnects_.fetch_add(1);
                               return false;
                             }
                             if (offset + n == text->size()) completed_.fetch_add(1);
                             return true;
                           });
}

inline void openai_server::answer_stream(const std::shared_ptr<stream_job>& job,
                                         httplib::Response& res) {
  res.set_header("Cache-Control", "no-cache");
  res.set_chunked_content_provider("text/event-stream", [this, job](std::size_t, httplib::DataSink& sink) {
    const auto& J = *job;
    int emitted = 0;
    bool broken = false, gone = false;
    auto write_raw = [&](const std::string& s) {
      if (!sink.write(s.data(), s.size())) gone = true;
      return !gone;
    };
    // Emits one SSE event; the configured break hits the third event (after the role chunk and
    // one piece of content, so a client may already have shown text).
    auto emit = [&](const std::string& payload) -> bool {
      if (gone || (broken && J.brk != stream_break::interleave)) return false;
      if (emitted > 0 && !pause(J.faults.drip)) return gone = true, false;
      const bool break_now = emitted == 2 && J.brk != stream_break::none && J.brk != stream_break::no_done;
      ++emitted;
      if (break_now) {
        const std::string event = "data: " + payload + "\n\n";
        switch (J.brk) {
          case stream_break::truncate_mid_json:
            write_raw(event.substr(0, event.size() / 2));
            return broken = true, false;
          case stream_break::close_early: return broken = true, false;
          case stream_break::malformed_json:
            write_raw("data: {\"id\": \"" + J.id + "\", \"choices\": [{\"delta\": {\"content\": oops\n\n");
            return broken = true, false;
          case stream_break::interleave: {
            broken = true;  // counted as a break; the stream goes on, the client must notice
            const auto other = chunk_to_json(J.id + "-other", J.model, J.created, {{"content", "intruder "}});
            if (!write_raw("data: " + other.dump() + "\n\n")) return false;
            break;
          }
          default: break;
        }
      }
      return write_raw("data: " + payload + "\n\n");
    };
    auto dump = [](const nlohmann::json& j) {
      return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
    };
    emit(dump(chunk_to_json(J.id, J.model, J.created, {{"role", "assistant"}, {"content", ""}})));
    generation_result g;
    try {
      g = generate_(J.request, [&](std::string_view text) {
        return emit(dump(chunk_to_json(J.id, J.model, J.created, {{"content", std::string(text)}})));
      });
    } catch (const std::exception& e) {
      generator_errors_.fetch_add(1);
      write_raw("event: error\ndata: " + error_to_json(e.what(), "server_error").dump() + "\n\n");
      return false;
    }
    const bool cut = gone || (broken && J.brk != stream_break::interleave);
    for (std::size_t i = 0; i < g.tool_calls.size() && !cut; ++i) {
      const auto& c = g.tool_calls[i];
      const auto idx = static_cast<int>(i);
      emit(dump(chunk_to_json(J.id, J.model, J.created,
                              {{"tool_calls", {{{"index", idx}, {"id", c.id}, {"type", "function"},
                                                {"function", {{"name", c.name}, {"arguments", ""}}}}}}})));
      // Arguments in two pieces, as real servers stream them.
      const std::size_t half = c.arguments.size() / 2;
      for (const auto& piece : {c.arguments.substr(0, half), c.arguments.substr(half)})
        if (!piece.empty())
          emit(dump(chunk_to_json(J.id, J.model, J.created,
                                  {{"tool_calls", {{{"index", idx}, {"function", {{"arguments", piece}}}}}}})));
    }
    emit(dump(chunk_to_json(J.id, J.model, J.created, nlohmann::json::object(), g.finish_reason)));
    if (J.include_usage) {
      nlohmann::json usage_chunk = {{"id", J.id}, {"object", "chat.completion.chunk"},
                                    {"created", J.created}, {"model", J.model},
                                    {"choices", nlohmann::json::array()}, {"usage", usage_to_json(g.usage)}};
      emit(dump(usage_chunk));
    }
    // Each request lands in exactly one counter: a break that made the client hang up is a
    // break, not a disconnect.
    if (broken) {
      breaks_.fetch_add(1);
      if (gone || J.brk != stream_break::interleave) return false;  // close mid-stream
    } else if (gone) {
      disconnects_.fetch_add(1);
      return false;
    }
    if (J.brk == stream_break::no_done) {
      breaks_.fetch_add(1);
      sink.done();  // a clean end of the body, but without data: [DONE]
      return true;
    }
    if (!write_raw("data: [DONE]\n\n")) {
      if (!broken) disconnects_.fetch_add(1);
      return false;
    }
    if (!broken) completed_.fetch_add(1);
    sink.done();
    return true;
  });
}

inline void openai_server::answer_huge(const std::shared_ptr<stream_job>& job, httplib::Response& res) {
  breaks_.fetch_add(1);
  const bool sse = job->request.stream;
  auto head = std::make_shared<std::string>(
      sse ? "data: {\"id\":\"" + job->id + "\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\""
          : "{\"id\":\"" + job->id + "\",\"choices\":[{\"index\":0,\"message\":{\"role\":\"assistant\",\"content\":\"");
  auto tail = std::make_shared<std::string>(sse ? "\"}}]}\n\ndata: [DONE]\n\n"
                                                : "\"},\"finish_reason\":\"stop\"}]}");
  const std::size_t total = job->faults.huge_body_bytes;
  res.set_chunked_content_provider(sse ? "text/event-stream" : "application/json",
                                   [this, head, tail, total](std::size_t offset, httplib::DataSink& sink) {
                                     if (offset == 0) return sink.write(head->data(), head->size());
                                     if (offset >= total) {
                                       sink.write(tail->data(), tail->size());
                                       sink.done();
                                       return true;
                                     }
                                     if (!pause({})) return false;
                                     static const std::string slab(std::size_t(64) << 10, 'a');
                                     return sink.write(slab.data(), slab.size());
                                   });
}

}  // namespace edgecloud::transport
