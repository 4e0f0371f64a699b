// SPDX-License-Identifier: Apache-2.0
// Cost of the routing layer per request, none of which may eat into the edge's <100 ms budget:
// PII scan of a typical request, one policy decision, one telemetry record, and a whole
// assistant request (stand-in edge, in-process loopback cloud) on each route.
#include <benchmark/benchmark.h>

#include <edgecloud/assistant.hpp>

namespace {

using namespace edgecloud;

const std::string zh_request =
    "你好，我叫张三，手机13812345678，想查一下寄到北京市朝阳区建国路88号3号楼2单元401室的快递为什么"
    "还没到，"
    "订单号202311210001，邮箱zhangsan@example.com。";
const std::string en_request =
    "Hi, please update my shipping address to 1600 Amphitheatre Parkway, Mountain View, CA 94043 "
    "and "
    "call me at +1 415 555 2671 if the card 4111 1111 1111 1111 is declined.";

void BM_DetectPiiChinese(benchmark::State& state) {
  for (auto _ : state) benchmark::DoNotOptimize(tasks::detect_pii(zh_request));
  state.SetBytesProcessed(state.iterations() * zh_request.size());
}
BENCHMARK(BM_DetectPiiChinese);

void BM_DetectPiiEnglish(benchmark::State& state) {
  for (auto _ : state) benchmark::DoNotOptimize(tasks::detect_pii(en_request));
  state.SetBytesProcessed(state.iterations() * en_request.size());
}
BENCHMARK(BM_DetectPiiEnglish);

void BM_PolicyDecide(benchmark::State& state) {
  routing::policy_config c;
  c.budget.max_cloud_calls_per_minute = 0;
  routing::confidence_policy p(c);
  routing::request_features f;
  f.task = routing::task_type::intent;
  f.confidence = state.range(0) ? 0.95 : 0.5;  // edge or cloud decision
  f.intent_label = "weather";
  for (auto _ : state) benchmark::DoNotOptimize(p.decide(f));
}
BENCHMARK(BM_PolicyDecide)->Arg(1)->Arg(0);

void BM_TelemetryRecord(benchmark::State& state) {
  routing::telemetry t;
  routing::request_outcome o{
      routing::route::edge, routing::task_type::intent, false, "", false, "", 42.0};
  for (auto _ : state) t.record(o);
}
BENCHMARK(BM_TelemetryRecord)->Threads(1)->Threads(2);

void BM_AssistantAsk(benchmark::State& state) {
  basic_assistant<stand_in_edge, routing::confidence_policy, transport::loopback_transport> a(
      stand_in_edge{}, transport::generate_function(transport::echo_backend{}));
  const char* text = state.range(0) ? "明天北京天气怎么样" : "explain why the sea is salty";
  for (auto _ : state) benchmark::DoNotOptimize(a.ask(text));
}
BENCHMARK(BM_AssistantAsk)->Arg(1)->Arg(0);

}  // namespace

BENCHMARK_MAIN();
