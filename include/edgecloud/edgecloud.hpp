// SPDX-License-Identifier: Apache-2.0
// Umbrella header: the whole SDK.
#pragma once

#include <edgecloud/version.hpp>
#include <edgecloud/error.hpp>
#include <edgecloud/concepts.hpp>
#include <edgecloud/kernels.hpp>
#include <edgecloud/model.hpp>
#include <edgecloud/text.hpp>
#include <edgecloud/generate.hpp>
#include <edgecloud/tasks.hpp>
#include <edgecloud/routing.hpp>
#include <edgecloud/transport.hpp>
#include <edgecloud/assistant.hpp>
#include <edgecloud/assistant/default_assistant.hpp>
#include <edgecloud/assistant/engine_backend.hpp>
