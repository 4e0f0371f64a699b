// SPDX-License-Identifier: Apache-2.0
// Splits an OpenAI-style base URL ("https://api.example.com/v1", "http://127.0.0.1:8000/v1")
// into what an HTTP client needs. The base path conventionally ends in /v1 (as the official
// SDKs expect); a bare "http://host:port" gets "/v1" so both spellings work.
#pragma once

#include <edgecloud/error.hpp>

#include <string>
#include <string_view>

namespace edgecloud::transport {

struct base_url {
  std::string scheme;  // "http" or "https"
  std::string host;    // without IPv6 brackets
  int port = 0;
  std::string path;    // "/v1", never ending in '/'
  bool tls() const { return scheme == "https"; }
  std::string origin() const {
    const bool v6 = host.find(':') != std::string::npos;
    return scheme + "://" + (v6 ? "[" + host + "]" : host) + ":" + std::to_string(port);
  }
  std::string endpoint(std::string_view suffix) const { return path + std::string(suffix); }
};

inline base_url parse_base_url(std::string_view url) {
  auto fail = [&](const std::string& why) -> config_error {
    return config_error("cloud base URL '" + std::string(url) + "': " + why +
                        " (expected e.g. http://127.0.0.1:8000/v1 or https://host/v1)");
  };
  base_url out;
  const auto sep = url.find("://");
  if (sep == std::string_view::npos) throw fail("missing scheme");
  out.scheme = std::string(url.substr(0, sep));
  for (char& c : out.scheme) c = static_cast<char>(c >= 'A' && c <= 'Z' ? c + 32 : c);
  if (out.scheme != "http" && out.scheme != "https") throw fail("scheme must be http or https");
  std::string_view rest = url.substr(sep + 3);
  const auto slash = rest.find('/');
  std::string_view authority = rest.substr(0, slash);
  std::string_view path = slash == std::string_view::npos ? std::string_view() : rest.substr(slash);
  if (authority.find('@') != std::string_view::npos)
    throw fail("credentials in the URL are not supported; use the API key option");
  std::string_view port_text;
  if (!authority.empty() && authority.front() == '[') {
    const auto close = authority.find(']');
    if (close == std::string_view::npos) throw fail("unterminated IPv6 address");
    out.host = std::string(authority.substr(1, close - 1));
    std::string_view after = authority.substr(close + 1);
    if (!after.empty()) {
      if (after.front() != ':') throw fail("garbage after IPv6 address");
      port_text = after.substr(1);
    }
    // An IPv6 literal: hex digits, ':' and '.' (an embedded IPv4), nothing else.
    if (out.host.find_first_not_of("0123456789abcdefABCDEF:.") != std::string::npos)
      throw fail("invalid IPv6 address");
  } else {
    const auto colon = authority.rfind(':');
    out.host = std::string(authority.substr(0, colon));
    if (colon != std::string_view::npos) {
      port_text = authority.substr(colon + 1);
      if (port_text.empty()) throw fail("missing port after ':'");
    }
    // A name or IPv4 address; a ':' here is an IPv6 address without its brackets.
    for (const char c : out.host)
      if (c == ':' || c == '[' || c == ']' || static_cast<unsigned char>(c) <= 0x20 || c == 0x7f)
        throw fail("invalid host (IPv6 addresses go in brackets: http://[::1]:8000/v1)");
  }
  if (out.host.empty()) throw fail("missing host");
  if (!port_text.empty()) {
    long port = 0;
    for (char c : port_text) {
      if (c < '0' || c > '9' || port > 65535) throw fail("invalid port");
      port = port * 10 + (c - '0');
    }
    if (port < 1 || port > 65535) throw fail("port out of range");
    out.port = static_cast<int>(port);
  } else {
    out.port = out.tls() ? 443 : 80;
  }
  if (path.find_first_of("?#") != std::string_view::npos) throw fail("query strings are not supported");
  while (!path.empty() && path.back() == '/') path.remove_suffix(1);
  out.path = path.empty() ? "/v1" : std::string(path);
  return out;
}

}  // namespace edgecloud::transport
