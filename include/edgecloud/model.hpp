// SPDX-License-Identifier: Apache-2.0
// Everything of the model layer (see ../shared/STYLE.md for what it may include).
#pragma once

#include <edgecloud/model/gguf.hpp>
#include <edgecloud/model/gguf_random_qwen3.hpp>
#include <edgecloud/model/gguf_writer.hpp>
#include <edgecloud/model/kv_cache.hpp>
#include <edgecloud/model/qwen3.hpp>
#include <edgecloud/model/output_head.hpp>
#include <edgecloud/model/session.hpp>
#include <edgecloud/model/thread_pool.hpp>
