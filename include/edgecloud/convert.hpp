// SPDX-License-Identifier: Apache-2.0
// User tools that turn Hugging Face checkpoints into GGUF files (`edgecloud convert`,
// `edgecloud convert-lora`). Not part of the umbrella edgecloud.hpp: an app that only runs models
// does not compile them.
#pragma once

#include <edgecloud/convert/gguf_tokenizer.hpp>
#include <edgecloud/convert/hf_convert.hpp>
#include <edgecloud/convert/peft_convert.hpp>
#include <edgecloud/convert/report.hpp>
#include <edgecloud/convert/safetensors.hpp>
