// SPDX-License-Identifier: Apache-2.0
// Everything of the text layer (see ../shared/STYLE.md for what it may include).
#pragma once

#include <edgecloud/text/byte_level.hpp>
#include <edgecloud/text/concepts.hpp>
#include <edgecloud/text/encode_mode.hpp>
#include <edgecloud/text/pretokenizer.hpp>
#include <edgecloud/text/qwen3_chat_template.hpp>
#include <edgecloud/text/stream_decoder.hpp>
#include <edgecloud/text/tokenizer.hpp>
#include <edgecloud/text/unicode.hpp>
#include <edgecloud/text/vocab.hpp>
