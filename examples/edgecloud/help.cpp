// SPDX-License-Identifier: Apache-2.0
// The usage text of every subcommand, printed by `edgecloud CMD --help` (exit 0) and after a
// command line that does not parse (exit 2). One place for all of them so the texts read alike;
// a command without an entry here still gets its summary and the options its parser accepts.
// Whatever text is printed, every option the command's parser accepts and the text does not
// mention is listed after it (help_requested carries them), so the help never omits an option.
#include <fmt/format.h>

#include <map>
#include <string>

#include "args.hpp"
#include "commands.hpp"

namespace edgecloud::cli {
namespace {

const std::map<std::string, std::string>& texts() {
  static const std::map<std::string, std::string> t = {
      {"inspect", R"~(usage: edgecloud inspect MODEL.gguf [--json] [--tensors] [--metadata]
Architecture, shapes, types, size and tokenizer summary of a GGUF model.
  --json        one JSON object instead of the table
  --tensors     list every tensor (name, type, shape, bytes)
  --metadata    list every metadata key and value
example: edgecloud inspect qwen3-0.6b-q8_0.gguf --json)~"},
      {"make-model", R"~(usage: edgecloud make-model [--shape qwen3-0.6b|tiny] [--dtype q8_0|f16|bf16|f32] [--seed N]
                           [--tokenizer tokenizer.json] [--threads N] OUT.gguf
Writes a random-weight Qwen3 model (speed figures do not depend on the weights) with the
SDK's synthetic byte-level BPE vocabulary, or the vocabulary of --tokenizer.
  --shape       qwen3-0.6b (the real 0.6B shape, default) or tiny (14 MB)
  --dtype       weight type of the matrices (default q8_0)
  --seed        random seed (default 1)
  --tokenizer   take the vocabulary, merges and chat template from a Hugging Face tokenizer.json
  --threads     threads for quantization (0 = all)
example: edgecloud make-model --shape tiny --dtype q8_0 tiny.gguf)~"},
      {"logits", R"~(usage: edgecloud logits --model M.gguf (--tokens "1 2 3" | --prompt TEXT [--chat]) [--all]
                       [--threads N] [--context N] [--kv-type f16|f32]
Prints {"n_vocab":V,"logits":[[...]]}: the logits of the last position, or of every one.
  --model       the GGUF model
  --tokens      token ids, space or comma separated
  --prompt      text, encoded by the model's tokenizer (--chat: as a Qwen3 user turn)
  --all         logits of every position, not only the last
  --threads     threads including the caller (0 = all); --context: KV positions
  --kv-type     KV cache element type: f16 (default) or f32 (exact)
example: edgecloud logits --model tiny.gguf --tokens "1 2 3" --kv-type f32)~"},
      {"generate", R"~(usage: edgecloud generate --model M.gguf (--tokens "1 2 3" | --prompt TEXT [--chat])
                         --max-tokens N [--stop "id id"] [--stream] [--threads N] [--context N]
                         [--kv-type f16|f32]
Greedy decoding. Prints {"tokens":[...]} (and "text" with --prompt).
  --max-tokens  tokens to generate at most
  --stop        token ids that end generation (not printed)
  --chat        wrap --prompt in a Qwen3 user turn, thinking off; stops at <|im_end|>
  --stream      print the text as it is generated, then the JSON
example: edgecloud generate --model tiny.gguf --prompt "Hello" --max-tokens 16)~"},
      {"bench", R"~(usage: edgecloud bench --model M.gguf [--prompt-tokens 16,64,128] [--gen-tokens 64] [--threads N]
                      [--repetitions R] [--batch N] [--kv-type f16|f32] [--json]
llama-bench-like speed figures: prompt processing (ppN), decode (tgN), load time, peak RSS.
  --prompt-tokens  prompt lengths to measure (comma separated)
  --gen-tokens     decode length
  --repetitions    runs per test (the median is reported)
  --batch          positions per prefill pass
  --json           one JSON object a line: {"test":"pp16","tokens_per_s":...}
example: edgecloud bench --model q06.gguf --prompt-tokens 16,128 --gen-tokens 64 --threads 2)~"},
      {"tokenize", R"~(usage: edgecloud tokenize (--tokenizer tokenizer.json | --model M.gguf) [--plain] [--jsonl] < text
Reads UTF-8 text on stdin and prints its token ids as one JSON array.
  --plain       untrusted mode: control-token strings such as <|im_start|> stay text
  --jsonl       every stdin line is {"text": ...}; one JSON array a line
example: echo -n "hello world" | edgecloud tokenize --model tiny.gguf)~"},
      {"detokenize", R"~(usage: edgecloud detokenize (--tokenizer tokenizer.json | --model M.gguf) [--skip-special] "1 2 3"
Prints the text of the ids exactly (no newline added; ill-formed UTF-8 becomes U+FFFD).
  --skip-special  leave control tokens out
example: edgecloud detokenize --model tiny.gguf "1 2 3")~"},
      {"classify", R"~(usage: edgecloud classify --model M.gguf --labels a,b,c [--json | --jsonl] "query"
Intent classification: the label, its confidence and every label's probability.
  --labels      the label set (comma separated)
  --head        full or restricted (output head over the label tokens only; default restricted)
  --temperature confidence temperature
  --no-stop-token  do not score the end-of-label token
  --bench N     N timed requests against the cached prefix, latency percentiles
  common: --threads N --context N --kv-type f16|f32 --lang en|zh --prompt-file P.json
          --tokenizer tokenizer.json --stats --json --jsonl (stdin: one {"text":...} a line)
example: edgecloud classify --model M.gguf --labels weather,music,alarm --json "will it rain")~"},
      {"rewrite", R"~(usage: edgecloud rewrite --model M.gguf [--history h.json] [--max-tokens 48] [--json | --jsonl] "query"
Rewrites a query into a self-contained one, using the conversation history.
  --history     JSON array of {"role","content"} turns
  --max-tokens  output budget
  common: --threads --context --kv-type --lang --prompt-file --tokenizer --stats --json --jsonl
example: edgecloud rewrite --model M.gguf --json "and tomorrow?")~"},
      {"summarize", R"~(usage: edgecloud summarize --model M.gguf [--max-tokens 64] [--json | --jsonl] "text"
A short summary of the text.
  --max-tokens  output budget
  common: --threads --context --kv-type --lang --prompt-file --tokenizer --stats --json --jsonl
example: edgecloud summarize --model M.gguf --json "$(cat notes.txt)")~"},
      {"select-tool", R"~(usage: edgecloud select-tool --model M.gguf --tools tools.json [--max-tokens N] [--json | --jsonl] "request"
Chooses a tool (OpenAI function format) and fills schema-valid arguments, or none.
  --tools       JSON array of {"type":"function","function":{"name","description","parameters"}}
  --max-tokens  budget of the arguments
  common: --threads --context --kv-type --lang --prompt-file --tokenizer --stats --json --jsonl
example: edgecloud select-tool --model M.gguf --tools tools.json --json "wake me at 7")~"},
      {"check-safety", R"~(usage: edgecloud check-safety --model M.gguf [--categories a,b] [--no-pii] [--json | --jsonl] "text"
Safety pre-filter: a verdict with its reason, and the PII found (model-free detectors).
  --categories  unsafe categories to check (comma separated)
  --no-pii      skip PII detection
  common: --threads --context --kv-type --lang --prompt-file --tokenizer --stats --json --jsonl
example: edgecloud check-safety --model M.gguf --json "my card is 4111 1111 1111 1111")~"},
      {"route", R"~(usage: edgecloud route [--model M.gguf] --cloud-url URL [--cloud-model NAME] [--api-key KEY]
                      [--config routing.json] [--force-cloud | --force-edge] [--offline]
                      [--timeout-ms N] [--json | --jsonl] "query"
Runs the assistant: edge pre-processing, the routing decision with its reason, the answer.
  --model       the device model (without it: the deterministic keyword stand-in edge)
  --cloud-url   OpenAI-compatible base URL, e.g. http://127.0.0.1:8080/v1; several (A,B or the
                option repeated): health-aware failover between them, in that order
  --cloud-model, --api-key, --timeout-ms   the cloud's model name, key and deadline
  --config      routing policy JSON (thresholds, budget, privacy)
  --force-cloud / --force-edge / --offline / --never-send   override the decision
  --json, --jsonl   one JSON object (per stdin line with --jsonl); --telemetry: counters at the end
  --stream      the answer as it is produced: with --json/--jsonl one event a line
                ({"event":"delta"|"reset",...}, then the response with "event":"done")
  --threads --context --edge-max-tokens (64) --cloud-max-tokens (256) --tokenizer --user
  --stand-in-edge   use the keyword stand-in even with --model
  --labels      the intent labels (default: the assistant's), e.g. a trained model's manifest's
  --no-safety-check   skip the edge safety check (a model trained for classification only)
example: edgecloud route --model M.gguf --cloud-url http://127.0.0.1:8080/v1 --json "why is the sky blue")~"},
      {"serve", R"~(usage: edgecloud serve [--model M.gguf] [--port 8080] [--host 127.0.0.1] [--backend engine|echo]
                      [--api-key KEY] [--faults "status=503;rate=0.1"] [--workers N] ...
An OpenAI-compatible server (/v1/chat/completions, /v1/models, /health) on the SDK's engine,
or the deterministic echo backend without a model.
  --model, --model-name   the GGUF served and the name it answers to
  --host, --port          where to listen (loopback by default)
  --backend engine|echo (--echo)   what generates
  --api-key               required bearer key
  --faults, --no-fault-header      fault injection for tests
  --tls-cert C --tls-key K          HTTPS
  --threads --context --max-tokens --tokenizer --workers
example: edgecloud serve --model M.gguf --port 8080)~"},
      {"eval", R"~(usage: edgecloud eval --data labeled.jsonl [--model M.gguf --labels a,b,c] [--config routing.json]
                     [--bins 10] [--json] [--records] [--cloud-quality Q]
Routing metrics of labeled data: on-device rate and accuracy, oos to cloud, in-scope accuracy,
CPT, APGR, ECE, latency.
  --data        JSON lines of records {"text","label",...}
  --model, --labels   the engine classifies each text over the labels
  --config      routing policy JSON (+ "task": the prompt a trained model expects);
                --bins: calibration bins
  --records     first one line per request {"text","label","predicted","confidence",
                "latency_ms","route"}, then the report
  --cloud-quality   every record's cloud quality (1: the cloud is always right)
  --threads --context
example: edgecloud eval --model M.gguf --data val.jsonl --labels a,b,oos --config routing.json --json --records)~"},
      {"calibrate", R"~(usage: edgecloud calibrate --data labeled.jsonl (--target-cloud-rate R | --target-quality Q |
                          --target-edge-accuracy A [--oos-share S]) [--config routing.json]
                          [--out routing.json] [--json]
Per-task confidence thresholds for a target cloud rate, routed quality or on-device accuracy,
and temperatures.
  --target-edge-accuracy   the most requests on the device whose answers are right at rate A
  --oos-share   the share of live traffic expected out of scope (gold label in cloud_labels):
                those records are weighted to make S of the data, so A holds on that mix
  --config      the config to start from (its "task" section is written back unchanged)
  --out         write the calibrated routing config here
example: edgecloud calibrate --data val-records.jsonl --target-quality 0.95 --out routing.json)~"},
      {"task-prompt", R"~(usage: edgecloud task-prompt (--tokenizer tokenizer.json | --model M.gguf) --labels a,b,c
                            [--config routing.json] [--context 2048] [--lang en|zh] (--jsonl | "text")
The token ids the engine feeds the model to classify a text (tasks::intent_prompt, what
classify calls): for trainers. --jsonl: a header line {"labels","label_ids","end_token",
"context"}, then {"ids","fixed","dropped_input_tokens"} per {"text": ...} line on stdin.
  --config      takes the prompt and options from its "task" section
example: echo '{"text":"will it rain"}' | edgecloud task-prompt --tokenizer tokenizer.json --labels weather,oos --jsonl)~"},
      {"convert", R"~(usage: edgecloud convert HF_DIR --outtype f32|f16|bf16|q8_0 OUT.gguf [--report] [--json]
                        [--name NAME] [--threads N]
Converts a Hugging Face Qwen3/Qwen2 checkpoint (config.json, model.safetensors or shards with
model.safetensors.index.json, tokenizer.json) to GGUF as llama.cpp's converter writes it.
  --outtype     matrix type (norms stay F32); default f32
  --report      per-tensor error, then logits against the F32 conversion on built-in prompts
  --json        one JSON object (with the report)
  --name        general.name (default: the directory name); --threads: for the report's engine
example: edgecloud convert Qwen3-0.6B --outtype q8_0 qwen3-0.6b-q8_0.gguf --report)~"},
      {"convert-lora", R"~(usage: edgecloud convert-lora PEFT_DIR --base BASE.gguf --outtype f32|f16|bf16|q8_0 OUT.gguf [--json]
Converts a PEFT LoRA adapter (adapter_config.json, adapter_model.safetensors) to a llama.cpp
GGUF LoRA checked against the base's shapes; rsLoRA is written as alpha * sqrt(r).
  --base        the converted base model
  --outtype     type of lora_a / lora_b (default f32)
example: edgecloud convert-lora my-adapter --base qwen3-0.6b-f32.gguf --outtype f32 my-adapter.gguf)~"},
      {"make-checkpoint", R"~(usage: edgecloud make-checkpoint [--shape qwen3-0.6b|tiny] [--arch qwen3|qwen2] [--dtype bf16|f16|f32]
                                [--shards N] [--untied] [--seed N] [--tokenizer DIR] OUT_DIR
Writes a random-weight Hugging Face checkpoint, to try or measure `convert`.
  --shape       tiny (default) or qwen3-0.6b; --arch: Qwen3ForCausalLM or Qwen2ForCausalLM
  --shards      N > 1: model-0000i-of-0000N.safetensors + model.safetensors.index.json
  --tokenizer   copy tokenizer.json (+ tokenizer_config.json) from DIR (default: a small synthetic one)
example: edgecloud make-checkpoint --shape qwen3-0.6b --tokenizer Qwen3-0.6B ckpt)~"},
  };
  return t;
}

bool mentions(const std::string& text, const std::string& option) {
  const std::string needle = "--" + option;
  for (size_t at = text.find(needle); at != std::string::npos; at = text.find(needle, at + 1)) {
    const size_t end = at + needle.size();
    if (end == text.size() || !(std::isalnum(static_cast<unsigned char>(text[end])) ||
                                text[end] == '-'))
      return true;
  }
  return false;
}

}  // namespace

std::string usage(const std::string& name, const help_requested* accepted) {
  std::string out;
  if (auto it = texts().find(name); it != texts().end()) {
    out = it->second + "\n";
  } else {
    out = fmt::format("usage: edgecloud {} [options]\n", name);
    if (auto c = registry().find(name); c != registry().end()) out += c->second.summary + "\n";
  }
  if (accepted) {
    std::string extra;
    for (const auto& o : accepted->value_options)
      if (!mentions(out, o)) extra += fmt::format("  --{} VALUE\n", o);
    for (const auto& o : accepted->flags)
      if (!mentions(out, o)) extra += fmt::format("  --{}\n", o);
    if (!extra.empty()) out += "options:\n" + extra;
  }
  return out;
}

}  // namespace edgecloud::cli
