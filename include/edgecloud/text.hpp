// SPDX-License-Identifier: Apache-2.0
// Everything of the text layer (see ../shared/STYLE.md for what it may include).
#pragma once

#include <edgecloud/text/byte_level.hpp>
#include <edgecloud/text/qwen3_chat_template.hpp>
#include <edgecloud/text/vocab.hpp>
