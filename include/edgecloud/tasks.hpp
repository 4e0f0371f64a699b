// SPDX-License-Identifier: Apache-2.0
// Everything of the tasks layer (see ../shared/STYLE.md for what it may include).
#pragma once

#include <edgecloud/tasks/concepts.hpp>
#include <edgecloud/tasks/pii.hpp>
#include <edgecloud/tasks/chat_prompt.hpp>
#include <edgecloud/tasks/config.hpp>
#include <edgecloud/tasks/model_runner.hpp>
#include <edgecloud/tasks/decoding.hpp>
#include <edgecloud/tasks/results.hpp>
#include <edgecloud/tasks/engine.hpp>
// tasks/engine_edge.hpp (the assistant's EdgeModel over these tasks) is included by
// edgecloud/assistant.hpp users directly: it needs the assistant's value types.
