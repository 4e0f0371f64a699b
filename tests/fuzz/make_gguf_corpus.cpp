// SPDX-License-Identifier: Apache-2.0
// Writes the seed corpus of fuzz_gguf (tests/fuzz/corpus/gguf/): tiny files made by gguf::writer
// that reach every branch of the reader. Not part of the build; regenerate with
//   g++ -std=c++20 -Iinclude tests/fuzz/make_gguf_corpus.cpp -o /tmp/mk && /tmp/mk
//   tests/fuzz/corpus/gguf
#include <cstdio>
#include <edgecloud/model/gguf_writer.hpp>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

namespace gguf = edgecloud::gguf;

static void save(const std::filesystem::path& dir, const char* name, const gguf::writer& w) {
  auto b = w.to_bytes();
  std::ofstream(dir / name, std::ios::binary)
      .write(reinterpret_cast<const char*>(b.data()), static_cast<std::streamsize>(b.size()));
  std::printf("%s: %zu bytes\n", name, b.size());
}

int main(int argc, char** argv) {
  if (argc != 2) return 2;
  std::filesystem::path dir = argv[1];
  std::filesystem::create_directories(dir);
  {
    gguf::writer w;
    save(dir, "empty-v3", w);
  }
  {
    gguf::writer w;
    w.add_u8("a", 1);
    w.add_i8("b", -1);
    w.add_u16("c", 2);
    w.add_i16("d", -2);
    w.add_u32("e", 3);
    w.add_i32("f", -3);
    w.add_f32("g", 0.5f);
    w.add_bool("h", true);
    w.add_string("i", "str");
    w.add_u64("j", 4);
    w.add_i64("k", -4);
    w.add_f64("l", 0.25);
    save(dir, "scalars", w);
  }
  {
    gguf::writer w;
    w.add_array("u8", std::vector<uint8_t>{1, 2});
    w.add_array("i64", std::vector<int64_t>{-1});
    w.add_array("f32", std::vector<float>{1.5f});
    w.add_array("bool", std::vector<bool>{true, false});
    w.add_string_array("s", std::vector<std::string>{"a", "", "bc"});
    std::vector<gguf::array_value> in = {
        gguf::array_value::of(std::vector<uint16_t>{7}),
        gguf::array_value::of_strings(std::vector<std::string>{"x"})};
    w.add_array("nested", gguf::array_value::of_arrays(in));
    save(dir, "arrays", w);
  }
  {
    gguf::writer w;
    w.add_string("general.architecture", "qwen3");
    w.add_u32("general.alignment", 32);
    w.add_u32("qwen3.embedding_length", 32);
    w.add_u32("qwen3.block_count", 1);
    w.add_f32("qwen3.rope.freq_base", 1e6f);
    w.add_string("tokenizer.ggml.model", "gpt2");
    w.add_string_array("tokenizer.ggml.tokens", std::vector<std::string>{"a", "b", "<|im_end|>"});
    w.add_array("tokenizer.ggml.token_type", std::vector<int32_t>{1, 1, 3});
    w.add_string_array("tokenizer.ggml.merges", std::vector<std::string>{"a b"});
    w.add_u32("tokenizer.ggml.eos_token_id", 2);
    w.add_tensor("token_embd.weight", {32, 3}, gguf::type_q8_0, std::vector<std::byte>(34 * 3));
    w.add_tensor("output_norm.weight", {32}, std::vector<float>(32, 1.0f));
    w.add_tensor("blk.0.attn_q.weight", {4, 2}, gguf::type_f16, std::vector<std::byte>(16));
    w.add_tensor("blk.0.attn_k.weight", {2, 2}, gguf::type_bf16, std::vector<std::byte>(8));
    save(dir, "model-q8_0", w);
  }
  {
    gguf::writer w;
    w.set_version(2);
    w.set_alignment(1);
    w.add_tensor("a", {3}, std::vector<float>{1, 2, 3});
    w.add_tensor("b", {1, 1, 1, 2}, gguf::type_f16, std::vector<std::byte>(4));
    save(dir, "v2-align1", w);
  }
  return 0;
}
