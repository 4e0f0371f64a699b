// SPDX-License-Identifier: Apache-2.0
// Everything of the kernels layer (see ../shared/STYLE.md for what it may include).
#pragma once

#include "edgecloud/kernels/activation.hpp"
#include "edgecloud/kernels/attention.hpp"
#include "edgecloud/kernels/cpu_features.hpp"
#include "edgecloud/kernels/dispatch.hpp"
#include "edgecloud/kernels/matvec.hpp"
#include "edgecloud/kernels/norm.hpp"
#include "edgecloud/kernels/quantize.hpp"
#include "edgecloud/kernels/reference.hpp"
#include "edgecloud/kernels/rope.hpp"
#include "edgecloud/kernels/types.hpp"
