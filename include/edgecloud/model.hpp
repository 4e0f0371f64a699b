// SPDX-License-Identifier: Apache-2.0
// Everything of the model layer (see ../shared/STYLE.md for what it may include).
#pragma once

#include <edgecloud/model/gguf.hpp>
