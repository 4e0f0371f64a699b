// SPDX-License-Identifier: Apache-2.0
// Every plug point of the SDK, one C++20 concept each, gathered from the layers that own them.
#pragma once

#include <edgecloud/kernels/concepts.hpp>
#include <edgecloud/model/concepts.hpp>
#include <edgecloud/text/concepts.hpp>
#include <edgecloud/generate/concepts.hpp>
#include <edgecloud/routing/concepts.hpp>
#include <edgecloud/transport/concepts.hpp>
