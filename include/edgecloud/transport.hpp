// SPDX-License-Identifier: Apache-2.0
// Everything of the transport layer (see ../shared/STYLE.md for what it may include): the
// CloudTransport concept, the request/response types, the OpenAI-compatible HTTP transport and
// server, the SSE parser, retry/backoff, the circuit breaker, fault injection and the stand-in
// backends. Knows nothing of the model, the kernels or the tasks.
#pragma once

#include <edgecloud/transport/backend.hpp>
#include <edgecloud/transport/circuit_breaker.hpp>
#include <edgecloud/transport/concepts.hpp>
#include <edgecloud/transport/failover_transport.hpp>
#include <edgecloud/transport/fault_injection.hpp>
#include <edgecloud/transport/json.hpp>
#include <edgecloud/transport/loopback_transport.hpp>
#include <edgecloud/transport/openai_server.hpp>
#include <edgecloud/transport/openai_transport.hpp>
#include <edgecloud/transport/retry.hpp>
#include <edgecloud/transport/sse.hpp>
#include <edgecloud/transport/types.hpp>
#include <edgecloud/transport/url.hpp>
