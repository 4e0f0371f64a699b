// SPDX-License-Identifier: Apache-2.0
// A small English + Chinese text written for this project, from which make_synthetic_vocab()
// derives its BPE merges deterministically. Any text works (byte-level BPE encodes everything);
// this one just makes common words and CJK characters single tokens, so synthetic models see
// realistic token counts. A string literal; owns nothing.
#pragma once

#include <string_view>

namespace edgecloud::text::detail {

inline constexpr std::string_view synthetic_corpus = R"CORPUS(
The edge device runs a small language model on its own processor. When a request is simple, the
answer comes from the device in a few milliseconds and never leaves the phone. When the request is
hard, the assistant sends it to the cloud, where a larger model can think for longer. The router
decides which path to take: it looks at the confidence of the small model, the length of the
prompt, the battery, the network and the cost of the cloud call. A good router keeps most of the
traffic on the device and sends only the questions that need more knowledge or more reasoning.

The tokenizer turns text into numbers and numbers back into text. It must be exact: one wrong
token changes what the model sees. It must also be fast, because every request starts and ends
with it. Text typed by a user is never allowed to become a control token, so a user cannot close
the system prompt or pretend to be the assistant. The chat template writes the conversation in the
format that the model was trained on, with the roles of the system, the user, the assistant and
the tools. Tools are functions the model may call; their results come back as tool responses.

Weights are stored in 8-bit integers with one scale for every block of 32 values. Matrix vector
products read each weight once, so the speed of decoding is limited by memory bandwidth. On a
laptop with 16 GB of memory and a modern CPU, a model with 0.6 billion parameters decodes about
40 to 80 tokens per second. Please set an alarm for 7:30 tomorrow, remind me to call Anna at
18:00, and tell me the weather in Beijing, Shanghai and Shenzhen. What is 12 + 30? It is 42.
int main() { return 0; } // for (size_t i = 0; i < n; ++i) { sum += x[i] * y[i]; }
{"name": "get_weather", "arguments": {"city": "Beijing", "unit": "celsius"}}

边缘设备在自己的处理器上运行一个小型语言模型。简单的请求由设备直接回答，只需要几毫秒，数据不会离开手机。
复杂的问题会被发送到云端，由更大的模型进行更长时间的思考。路由器根据小模型的置信度、提示的长度、电池电量、
网络状况和云端调用的成本来决定走哪条路径。好的路由策略让大部分请求留在设备上，只把需要更多知识或推理的问题
交给云端。分词器把文本变成数字，再把数字变回文本。它必须准确，因为一个错误的词元就会改变模型看到的内容；
它也必须很快，因为每个请求都从这里开始，到这里结束。用户输入的文字永远不能变成控制词元。今天北京天气怎么样？
明天上午九点提醒我开会。请帮我把这段话翻译成英文，并总结主要内容。我们的工程师正在测试新的中文和英文混合文本，
包括数字、标点符号、代码和表情。模型的权重以八位整数保存，每三十二个数共用一个缩放因子。
)CORPUS";

}  // namespace edgecloud::text::detail
