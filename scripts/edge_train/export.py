# SPDX-License-Identifier: Apache-2.0
"""Hugging Face and PEFT layouts, written by hand (no transformers/safetensors packages).

safetensors: 8-byte little-endian header length N, N bytes of JSON
  {"name": {"dtype": "F32", "shape": [...], "data_offsets": [begin, end]}, ...,
   "__metadata__": {...}}
(offsets relative to the end of the header, tensors contiguous and row-major), then the data.
The header is padded with spaces to a multiple of 8 bytes, as the reference writer does.
"""
import json
import os
import shutil
import struct

import numpy as np
import torch


def write_safetensors(path, tensors, metadata=None):
    """tensors: list of (name, torch tensor); written as F32 (the engine and the converter read
    F32 exactly, so the logits check compares like with like)."""
    header = {}
    blobs = []
    offset = 0
    for name, t in tensors:
        a = np.ascontiguousarray(t.detach().to(torch.float32).cpu().numpy()).astype("<f4")
        raw = a.tobytes()
        header[name] = {"dtype": "F32", "shape": list(a.shape),
                        "data_offsets": [offset, offset + len(raw)]}
        blobs.append(raw)
        offset += len(raw)
    if metadata:
        header["__metadata__"] = {k: str(v) for k, v in metadata.items()}
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * (-len(h) % 8)
    tmp = path + ".tmp"
    with open(tmp, "wb") as f:
        f.write(struct.pack("<Q", len(h)))
        f.write(h)
        for raw in blobs:
            f.write(raw)
    os.replace(tmp, path)


def full_embedding(model, compact_to_full):
    """The exported token table: compact row c at full id compact_to_full[c], the shared row
    (compact 0) everywhere else."""
    c = model.c
    table = model.embed.detach()[0].expand(c.vocab_size, c.hidden).clone()
    rows = torch.tensor(compact_to_full[1:], dtype=torch.long)
    table[rows] = model.embed.detach()[1:]
    return table


def export_hf(model, compact_to_full, out_dir, tokenizer_dir):
    """config.json + model.safetensors (+ tokenizer files) of a Qwen3ForCausalLM, tied."""
    os.makedirs(out_dir, exist_ok=True)
    c = model.c
    config = {
        "architectures": ["Qwen3ForCausalLM"],
        "model_type": "qwen3",
        "vocab_size": c.vocab_size,
        "hidden_size": c.hidden,
        "intermediate_size": c.ffn,
        "num_hidden_layers": c.layers,
        "num_attention_heads": c.heads,
        "num_key_value_heads": c.kv_heads,
        "head_dim": c.head_dim,
        "hidden_act": "silu",
        "max_position_embeddings": c.max_positions,
        "rms_norm_eps": c.eps,
        "rope_theta": c.rope_theta,
        "rope_scaling": None,
        "attention_bias": False,
        "tie_word_embeddings": True,
        "torch_dtype": "float32",
        "bos_token_id": 151643,
        "eos_token_id": 151645,
        "use_cache": True,
    }
    with open(os.path.join(out_dir, "config.json"), "w") as f:
        json.dump(config, f, indent=2)
    tensors = [("model.embed_tokens.weight", full_embedding(model, compact_to_full))]
    for i, l in enumerate(model.layers):
        p = "model.layers.%d." % i
        tensors += [
            (p + "input_layernorm.weight", l.attn_norm),
            (p + "self_attn.q_proj.weight", l.q_proj.weight),
            (p + "self_attn.k_proj.weight", l.k_proj.weight),
            (p + "self_attn.v_proj.weight", l.v_proj.weight),
            (p + "self_attn.o_proj.weight", l.o_proj.weight),
            (p + "self_attn.q_norm.weight", l.q_norm),
            (p + "self_attn.k_norm.weight", l.k_norm),
            (p + "post_attention_layernorm.weight", l.ffn_norm),
            (p + "mlp.gate_proj.weight", l.gate_proj.weight),
            (p + "mlp.up_proj.weight", l.up_proj.weight),
            (p + "mlp.down_proj.weight", l.down_proj.weight),
        ]
    tensors.append(("model.norm.weight", model.norm))
    write_safetensors(os.path.join(out_dir, "model.safetensors"), tensors, {"format": "pt"})
    for name in ("tokenizer.json", "tokenizer_config.json"):
        shutil.copyfile(os.path.join(tokenizer_dir, name), os.path.join(out_dir, name))


PEFT_MODULE = {"q_proj": "self_attn", "k_proj": "self_attn", "v_proj": "self_attn",
               "o_proj": "self_attn", "gate_proj": "mlp", "up_proj": "mlp", "down_proj": "mlp"}


def export_peft(model, modules, r, alpha, out_dir, base_name):
    """adapter_config.json + adapter_model.safetensors in PEFT's layout."""
    os.makedirs(out_dir, exist_ok=True)
    targets = sorted({name for _, name, _ in modules})
    config = {
        "peft_type": "LORA",
        "task_type": "CAUSAL_LM",
        "base_model_name_or_path": base_name,
        "r": r,
        "lora_alpha": alpha,
        "lora_dropout": 0.0,
        "target_modules": targets,
        "use_rslora": False,
        "use_dora": False,
        "bias": "none",
        "fan_in_fan_out": False,
        "inference_mode": True,
    }
    with open(os.path.join(out_dir, "adapter_config.json"), "w") as f:
        json.dump(config, f, indent=2)
    tensors = []
    for i, name, m in modules:
        p = "base_model.model.model.layers.%d.%s.%s." % (i, PEFT_MODULE[name], name)
        tensors.append((p + "lora_A.weight", m.lora_a))
        tensors.append((p + "lora_B.weight", m.lora_b))
    write_safetensors(os.path.join(out_dir, "adapter_model.safetensors"), tensors, {"format": "pt"})
