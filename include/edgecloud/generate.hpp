// SPDX-License-Identifier: Apache-2.0
// Everything of the generate layer (see ../shared/STYLE.md for what it may include).
#pragma once

#include <edgecloud/generate/byte_dfa.hpp>
#include <edgecloud/generate/byte_nfa.hpp>
#include <edgecloud/generate/concepts.hpp>
#include <edgecloud/generate/constrained_generate.hpp>
#include <edgecloud/generate/json_schema.hpp>
#include <edgecloud/generate/label_scoring.hpp>
#include <edgecloud/generate/restricted_head.hpp>
#include <edgecloud/generate/sampler.hpp>
#include <edgecloud/generate/session_source.hpp>
#include <edgecloud/generate/token_constraint.hpp>
#include <edgecloud/generate/token_mask.hpp>
#include <edgecloud/generate/prefix_cache.hpp>
#include <edgecloud/generate/token_vocabulary.hpp>
#include <edgecloud/generate/tokenizer_loader.hpp>
#include <edgecloud/generate/vocab_bytes.hpp>
