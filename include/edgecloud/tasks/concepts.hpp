// SPDX-License-Identifier: Apache-2.0
// The plug-point concepts of the tasks layer; re-exported by edgecloud/concepts.hpp.
#pragma once

#include <concepts>
