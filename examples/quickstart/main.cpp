// SPDX-License-Identifier: Apache-2.0
// Quick start: the SDK's engine on the device, a cloud LLM for hard requests, one question.
//   quickstart MODEL.gguf [CLOUD_URL]     (no URL: offline, the device answers everything)
#include <edgecloud/assistant/default_assistant.hpp>
#include <iostream>

int main(int argc, char** argv) {
  if (argc < 2) return std::cerr << "usage: quickstart MODEL.gguf [CLOUD_URL]\n", 2;
  auto assistant = edgecloud::make_assistant(argv[1], argc > 2 ? argv[2] : "");
  edgecloud::assistant_response r = assistant.ask("明天北京天气怎么样？");
  std::cout << "route: " << edgecloud::routing::to_string(r.route) << (r.fallback ? " (fallback)" : "")
            << "\nreason: " << r.decision.reason << "\nanswer: " << r.answer << "\n";
  return r.answered ? 0 : 1;
}
