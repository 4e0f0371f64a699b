# SPDX-License-Identifier: Apache-2.0
"""A Qwen3 decoder in plain torch, the maths of include/edgecloud/model/qwen3.hpp:

    x = embed[token]
    per layer:  h = rmsnorm(x) * attn_norm               rmsnorm(x) = x / sqrt(mean(x^2) + eps)
                q, k, v = Wq h, Wk h, Wv h
                q, k: per head rmsnorm(.) * q_norm / k_norm, then NeoX RoPE: pairs (i, i + d/2)
                      rotated by p * theta^(-2i/d)
                a_h = softmax(q_h . K_g / sqrt(d)) V_g    g = h // (n_head / n_head_kv)  (GQA)
                x += Wo a
                h = rmsnorm(x) * ffn_norm
                x += Wdown (silu(Wgate h) * (Wup h))
    logits = embed (rmsnorm(x) * output_norm)            (tied output, as Qwen3-0.6B)

Compact vocabulary. The Qwen3 tokenizer has 151,669 tokens (151,936 logits) but CLINC150's
training prompts use a few thousand. The model trains an embedding row for each of those
(compact ids 1..V_c-1) plus one shared row u (compact id 0) that stands for every other token,
and the export writes u into each of the N_u = 151,936 - (V_c - 1) other rows of the full table.
u is the learned "unknown word" on the input side (token dropout trains it); with tied output
each of those rows has the logit h.u, so the full-vocabulary log-softmax the engine computes is

    log p(t) = z_t - log( sum_{c >= 1} exp(z_c) + N_u * exp(h.u) )

and `full_log_softmax` computes exactly that: the loss is the engine's, not an approximation.

LoRA (PEFT's convention): y = W x + (alpha / r) * B (A x), A: r x in, B: out x r, B = 0 at start.
"""
import math

import torch
import torch.nn as nn
import torch.nn.functional as F


class Config:
    def __init__(self, vocab_size, compact_vocab, hidden=128, layers=2, heads=4, kv_heads=2,
                 head_dim=32, ffn=384, rope_theta=1e6, eps=1e-6, max_positions=2048):
        self.vocab_size = vocab_size          # full logits of the exported model (151936)
        self.compact_vocab = compact_vocab    # trained rows, row 0 the shared unseen-token row
        self.hidden, self.layers, self.heads, self.kv_heads = hidden, layers, heads, kv_heads
        self.head_dim, self.ffn, self.rope_theta, self.eps = head_dim, ffn, rope_theta, eps
        self.max_positions = max_positions

    def to_dict(self):
        return dict(self.__dict__)


def rmsnorm(x, weight, eps):
    return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + eps) * weight


def rope(x, cos, sin):
    """NeoX rotation of (b, t, heads, d): pairs (i, i + d/2)."""
    half = x.shape[-1] // 2
    x1, x2 = x[..., :half], x[..., half:]
    return torch.cat([x1 * cos - x2 * sin, x2 * cos + x1 * sin], dim=-1)


class LoRALinear(nn.Module):
    """A bias-free linear layer with an optional LoRA branch."""

    def __init__(self, fan_in, fan_out):
        super().__init__()
        self.weight = nn.Parameter(torch.empty(fan_out, fan_in))
        nn.init.normal_(self.weight, std=1.0 / math.sqrt(fan_in))
        self.lora_a = None
        self.lora_b = None
        self.lora_scale = 0.0

    def add_lora(self, r, alpha, generator):
        fan_out, fan_in = self.weight.shape
        # PEFT's init: A uniform in +-1/sqrt(fan_in) (Kaiming, a = sqrt(5)), B zeros, so the
        # adapter starts as a no-op.
        bound = 1.0 / math.sqrt(fan_in)
        self.lora_a = nn.Parameter((torch.rand(r, fan_in, generator=generator) * 2 - 1) * bound)
        self.lora_b = nn.Parameter(torch.zeros(fan_out, r))
        self.lora_scale = alpha / r

    def forward(self, x):
        y = F.linear(x, self.weight)
        if self.lora_a is not None:
            y = y + self.lora_scale * F.linear(F.linear(x, self.lora_a), self.lora_b)
        return y


class Layer(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.c = c
        self.attn_norm = nn.Parameter(torch.ones(c.hidden))
        self.q_proj = LoRALinear(c.hidden, c.heads * c.head_dim)
        self.k_proj = LoRALinear(c.hidden, c.kv_heads * c.head_dim)
        self.v_proj = LoRALinear(c.hidden, c.kv_heads * c.head_dim)
        self.o_proj = LoRALinear(c.heads * c.head_dim, c.hidden)
        self.q_norm = nn.Parameter(torch.ones(c.head_dim))
        self.k_norm = nn.Parameter(torch.ones(c.head_dim))
        self.ffn_norm = nn.Parameter(torch.ones(c.hidden))
        self.gate_proj = LoRALinear(c.hidden, c.ffn)
        self.up_proj = LoRALinear(c.hidden, c.ffn)
        self.down_proj = LoRALinear(c.ffn, c.hidden)

    def forward(self, x, cos, sin, past=None, dropout=0.0):
        """x: (b, t, hidden) at the positions of cos/sin; past: (k, v) of a shared prefix,
        (1, kv_heads, P, head_dim), which every row attends to before its own causal part.
        Returns the new x and this call's own (k, v)."""
        c = self.c
        b, t, _ = x.shape
        h = rmsnorm(x, self.attn_norm, c.eps)
        q = self.q_proj(h).view(b, t, c.heads, c.head_dim)
        k = self.k_proj(h).view(b, t, c.kv_heads, c.head_dim)
        v = self.v_proj(h).view(b, t, c.kv_heads, c.head_dim)
        q = rope(rmsnorm(q, self.q_norm, c.eps), cos, sin).transpose(1, 2)
        k = rope(rmsnorm(k, self.k_norm, c.eps), cos, sin).transpose(1, 2)
        v = v.transpose(1, 2)
        own = (k, v)
        p = 0
        if past is not None:
            pk, pv = past
            p = pk.shape[2]
            k = torch.cat([pk.expand(b, -1, -1, -1), k], dim=2)
            v = torch.cat([pv.expand(b, -1, -1, -1), v], dim=2)
        group = c.heads // c.kv_heads
        k = k.repeat_interleave(group, dim=1)
        v = v.repeat_interleave(group, dim=1)
        scores = torch.matmul(q, k.transpose(-1, -2)) / math.sqrt(c.head_dim)
        causal = torch.ones(t, p + t, dtype=torch.bool).tril(diagonal=p)
        scores = scores.masked_fill(~causal, float("-inf"))
        a = torch.matmul(torch.softmax(scores, dim=-1), v)
        a = a.transpose(1, 2).reshape(b, t, c.heads * c.head_dim)
        x = x + F.dropout(self.o_proj(a), dropout, self.training)
        h = rmsnorm(x, self.ffn_norm, c.eps)
        x = x + F.dropout(self.down_proj(F.silu(self.gate_proj(h)) * self.up_proj(h)), dropout,
                          self.training)
        return x, own


class Qwen3(nn.Module):
    def __init__(self, c, seed):
        super().__init__()
        self.c = c
        torch.manual_seed(seed)
        # std 0.1: tied logits h.e start at ~N(0, 0.01 hidden), and the label tokens must climb
        # ~12 nats above the 150k-token rest, which a 0.02 init makes needlessly slow.
        self.embed = nn.Parameter(torch.randn(c.compact_vocab, c.hidden) * 0.1)
        self.layers = nn.ModuleList([Layer(c) for _ in range(c.layers)])
        self.norm = nn.Parameter(torch.ones(c.hidden))
        # How many rows of the exported table hold the shared row u.
        self.n_shared = c.vocab_size - (c.compact_vocab - 1)
        inv = c.rope_theta ** (-torch.arange(0, c.head_dim // 2, dtype=torch.float64) * 2 /
                               c.head_dim)
        ang = torch.arange(c.max_positions, dtype=torch.float64)[:, None] * inv[None, :]
        self.register_buffer("cos", ang.cos().float(), persistent=False)
        self.register_buffer("sin", ang.sin().float(), persistent=False)

    def table(self):
        return self.embed

    def angles(self, start, t):
        return (self.cos[start:start + t][None, :, None, :],
                self.sin[start:start + t][None, :, None, :])

    def prefix(self, ids):
        """Runs the shared prefix (compact ids, 1-D); returns per-layer (k, v)."""
        x = self.embed[ids][None]
        cos, sin = self.angles(0, x.shape[1])
        past = []
        for layer in self.layers:
            x, kv = layer(x, cos, sin)
            past.append(kv)
        return past

    def forward(self, ids, past=None, start=0, dropout=0.0, token_dropout=0.0, droppable=None):
        """ids: (b, t) compact ids at positions start..; returns the final normed hidden
        states (b, t, hidden). token_dropout maps a share of the ids where `droppable` (b, t)
        is set (the user's text) to the shared row u, as an unseen word is at inference."""
        if self.training and token_dropout > 0 and droppable is not None:
            drop = (torch.rand(ids.shape) < token_dropout) & droppable
            ids = ids.masked_fill(drop, 0)
        x = self.embed[ids]
        cos, sin = self.angles(start, ids.shape[1])
        for i, layer in enumerate(self.layers):
            x, _ = layer(x, cos, sin, past[i] if past is not None else None, dropout)
        return rmsnorm(x, self.norm, self.c.eps)

    def full_log_softmax(self, h):
        """log softmax over the FULL exported vocabulary, per compact id (column 0 is the
        log-probability of one of the N_u shared-row tokens), and the log normaliser."""
        z = torch.matmul(h, self.embed.t())
        shared = z[..., :1] + math.log(self.n_shared)
        lse = torch.logsumexp(torch.cat([z[..., 1:], shared], dim=-1), dim=-1)
        return z - lse[..., None], lse

    def add_lora(self, r, alpha, targets, seed):
        """Freezes every base weight and adds LoRA branches to `targets` of every layer."""
        g = torch.Generator().manual_seed(seed)
        for p in self.parameters():
            p.requires_grad_(False)
        for layer in self.layers:
            for name in targets:
                getattr(layer, name).add_lora(r, alpha, g)


def set_lora_scale(model, scale_of):
    """Sets every LoRA branch's scale to scale_of(module) (0 turns the adapter off)."""
    for _, _, m in lora_modules(model):
        m.lora_scale = scale_of(m)


def lora_modules(model):
    for i, layer in enumerate(model.layers):
        for name in ("q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"):
            m = getattr(layer, name)
            if m.lora_a is not None:
                yield i, name, m
