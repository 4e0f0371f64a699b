// SPDX-License-Identifier: Apache-2.0
// Everything of the kernels layer (see ../shared/STYLE.md for what it may include).
#pragma once
