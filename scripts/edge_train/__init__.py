# SPDX-License-Identifier: Apache-2.0
"""Training helpers of scripts/train-edge-model: a Qwen3 decoder in plain torch (model.py),
Hugging Face / PEFT export (export.py)."""
