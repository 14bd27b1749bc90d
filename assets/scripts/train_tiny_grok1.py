#!/usr/bin/env python3
"""Trains assets/tiny-grok1/: a tiny Grok-1 (4 layers, 8 experts top-2) on public-domain English.

    python3 assets/scripts/train_tiny_grok1.py                 # everything (resumes if interrupted)
    python3 assets/scripts/train_tiny_grok1.py prepare         # data split + tokenizer + token cache
    python3 assets/scripts/train_tiny_grok1.py bench --steps 5 # training tokens/s of this machine
    python3 assets/scripts/train_tiny_grok1.py train           # train (checkpoints in --work)
    python3 assets/scripts/train_tiny_grok1.py export          # bf16 model.safetensors + config.json
    python3 assets/scripts/train_tiny_grok1.py report          # held-out loss, baseline, routing
    python3 assets/scripts/train_tiny_grok1.py golden          # tests/reference/golden/...trained

The model computes exactly the Grok-1 forward pass of grok-architecture.md section 2, in float32:
embedding x embedding_multiplier_scale; per layer four RMSNorms (pre/post attention, pre/post MoE,
weight used as is); half-split RoPE; attention logits x attn_output_multiplier, then
30*tanh(l/30), then the causal mask; GQA; an f32 router softmax over all experts, then top-2
WITHOUT renormalisation; experts GELU_tanh(x Wlin) * (x Wv) then W1; final RMSNorm; tied output
x output_multiplier_scale. No biases, no dropout.

Data: the King James Bible (one verse per line, chapters separated by a blank line, headings and
verse numbers stripped) and the Jargon File (paragraphs unwrapped to one line, entries separated by
a blank line), from Debian packages (tiny_data.py). Held out: every 60th document (chapter /
entry), starting with the 31st. The tokenizer is trained on the training split only.

Training objective: mean next-token cross-entropy + 0.01 x load-balancing loss + 0.001 x router
z-loss, both averaged over layers. Load balancing follows the Switch Transformer (Fedus et al.
2021, eq. 4) extended to top-k: L_aux = E * sum_e f_e * P_e, with f_e the fraction of the N*K
(token, choice) assignments that went to expert e and P_e the mean router probability of e over
the N tokens; it is 1 for perfectly uniform routing. z-loss (ST-MoE, Zoph et al. 2022):
mean over tokens of logsumexp(router logits)^2.

Sequences are random windows of the training token stream that start at position 0, without BOS,
as `moescope eval` scores text (windows of max_position_embeddings tokens from an empty cache).
SentencePiece never produces [PAD] (id 0), so no key is ever masked as padding.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.abspath(os.path.join(HERE, "..", ".."))
sys.path.insert(0, HERE)

from tiny_data import jargon_entries, kjv_chapters, train_sentencepiece  # noqa: E402

DEFAULT_OUT = os.path.join(REPO, "assets", "tiny-grok1")
DEFAULT_WORK = os.path.join(REPO, "build-train-tiny-grok1")   # ignored by git (/build*/)
GOLDEN_PATH = os.path.join(REPO, "tests", "reference", "golden", "tiny-grok1-trained.safetensors")

CONFIG = {
    "architectures": ["Grok1ModelForCausalLM"],
    "model_type": "grok-1",
    "vocab_size": 8192,
    "hidden_size": 256,
    "intermediate_size": 384,
    "num_hidden_layers": 4,
    "num_attention_heads": 8,
    "num_key_value_heads": 2,
    "head_dim": 32,
    "attn_output_multiplier": 0.17677669529663687,
    "max_attn_value": 30.0,
    "max_position_embeddings": 512,
    "embedding_multiplier_scale": 16.0,
    "output_multiplier_scale": 0.5773502691896257,
    "rms_norm_eps": 1e-05,
    "rope_theta": 10000.0,
    "num_experts": 8,
    "num_experts_per_tok": 2,
    "tie_word_embeddings": True,
    "bos_token_id": 1,
    "eos_token_id": 2,
    "pad_token_id": 0,
    "torch_dtype": "bfloat16",
}

HOLDOUT_EVERY, HOLDOUT_AT = 60, 30     # document i is held out when i % 60 == 30
TOKENIZER_CHUNK = 4000                 # bytes per SentencePiece training "sentence"

# Training settings (see the model card for the reasoning).
SEED = 1234
STEPS = 1200
# (first step as a fraction of STEPS, sequence length, batch): 4096 tokens per step throughout.
# Short windows first (attention costs ~T per token), then the full context of
# max_position_embeddings so that every position `moescope eval` uses is trained.
SEQ_SCHEDULE = [(0.0, 256, 16), (0.75, 512, 8)]
LR = 2e-3
LR_MIN_FRAC = 0.1
WARMUP = 100
WEIGHT_DECAY = 0.1
BETAS = (0.9, 0.95)
GRAD_CLIP = 1.0
AUX_COEF = 0.01
Z_COEF = 1e-3


# ------------------------------------------------------------------------------------------
# data
# ------------------------------------------------------------------------------------------

def documents() -> tuple[list[str], list[str]]:
    """(Bible chapters, Jargon File entries), each a string of lines."""
    bible = ["\n".join(verses) for _, verses in kjv_chapters()]
    jargon = ["\n".join(paras) for paras in jargon_entries()]
    return bible, jargon


def split_texts() -> tuple[str, str]:
    """(training text, held-out text): documents joined by blank lines, Bible first."""
    bible, jargon = documents()
    train, held = [], []
    for docs in (bible, jargon):
        for i, d in enumerate(docs):
            (held if i % HOLDOUT_EVERY == HOLDOUT_AT else train).append(d)
    return "\n\n".join(train) + "\n", "\n\n".join(held) + "\n"


def tokenizer_sentences(text: str):
    """Chunks of whole lines, <= TOKENIZER_CHUNK bytes, newlines kept inside.

    The trainer then sees words at the start of a line as they occur when a whole file is encoded
    (no dummy-prefix space after a newline), instead of treating each line as a sentence.
    """
    buf = ""
    for line in text.split("\n"):
        if buf and len(buf) + len(line) + 1 > TOKENIZER_CHUNK:
            yield buf
            buf = ""
        buf += line + "\n"
    if buf:
        yield buf


def prepare(out_dir: str, work: str) -> None:
    import sentencepiece as spm

    os.makedirs(out_dir, exist_ok=True)
    os.makedirs(work, exist_ok=True)
    train, held = split_texts()
    with open(os.path.join(work, "train.txt"), "w", encoding="utf-8") as f:
        f.write(train)
    with open(os.path.join(out_dir, "heldout.txt"), "w", encoding="utf-8") as f:
        f.write(held)
    tok = os.path.join(out_dir, "tokenizer.model")
    train_sentencepiece(tok, CONFIG["vocab_size"], sentences=list(tokenizer_sentences(train)),
                        max_sentence_length=2 * TOKENIZER_CHUNK)
    sp = spm.SentencePieceProcessor(model_file=tok)
    for name, text in (("train", train), ("heldout", held)):
        ids = np.asarray(sp.encode(text), dtype=np.int16 if CONFIG["vocab_size"] < 32768
                         else np.int32)
        assert ids.min() > 3, "special tokens in the encoded text"
        np.save(os.path.join(work, f"{name}_ids.npy"), ids)
        print(f"{name}: {len(text.encode()):,} bytes, {len(ids):,} tokens "
              f"({len(text.encode()) / len(ids):.3f} bytes/token)")


def load_ids(work: str, name: str):
    import torch

    path = os.path.join(work, f"{name}_ids.npy")
    if not os.path.exists(path):
        raise SystemExit(f"{path} missing: run the 'prepare' step first")
    return torch.from_numpy(np.load(path).astype(np.int64))


# ------------------------------------------------------------------------------------------
# model (torch, float32)
# ------------------------------------------------------------------------------------------

def build_model_class():
    import torch
    import torch.nn.functional as F
    from torch import nn

    def rms_norm(x, w, eps):
        return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + eps) * w

    class Layer(nn.Module):
        def __init__(self, c):
            super().__init__()
            D, Fw, E = c["hidden_size"], c["intermediate_size"], c["num_experts"]
            hd, Hq, Hkv = c["head_dim"], c["num_attention_heads"], c["num_key_value_heads"]
            self.q_proj = nn.Parameter(torch.empty(Hq * hd, D))
            self.k_proj = nn.Parameter(torch.empty(Hkv * hd, D))
            self.v_proj = nn.Parameter(torch.empty(Hkv * hd, D))
            self.o_proj = nn.Parameter(torch.empty(D, Hq * hd))
            self.pre_attn_norm = nn.Parameter(torch.ones(D))
            self.post_attn_norm = nn.Parameter(torch.ones(D))
            self.pre_moe_norm = nn.Parameter(torch.ones(D))
            self.post_moe_norm = nn.Parameter(torch.ones(D))
            self.gate = nn.Parameter(torch.empty(E, D))
            # one parameter per expert matrix: slicing a stacked [E, ...] parameter would make
            # autograd build a dense [E, ...] gradient per expert
            self.linear = nn.ParameterList(torch.empty(Fw, D) for _ in range(E))    # GELU branch
            self.linear_v = nn.ParameterList(torch.empty(Fw, D) for _ in range(E))  # partner
            self.linear_1 = nn.ParameterList(torch.empty(D, Fw) for _ in range(E))  # down

    class TinyGrok1(nn.Module):
        """Grok-1 forward pass (grok-architecture.md section 2) in float32."""

        def __init__(self, c):
            super().__init__()
            self.c = c
            D, V = c["hidden_size"], c["vocab_size"]
            self.embed_tokens = nn.Parameter(torch.empty(V, D))
            self.layers = nn.ModuleList(Layer(c) for _ in range(c["num_hidden_layers"]))
            self.norm = nn.Parameter(torch.ones(D))
            hd = c["head_dim"]
            inv = c["rope_theta"] ** (-torch.arange(0, hd // 2, dtype=torch.float64) * 2 / hd)
            self.register_buffer("inv_freq", inv.float(), persistent=False)

        def init_weights(self, seed: int) -> None:
            c = self.c
            g = torch.Generator().manual_seed(seed)
            D, Fw = c["hidden_size"], c["intermediate_size"]
            Hq, hd = c["num_attention_heads"], c["head_dim"]

            def normal_(p, std):
                with torch.no_grad():
                    p.copy_(torch.randn(p.shape, generator=g) * std)

            normal_(self.embed_tokens, D ** -0.5)          # x0 = 16 * e has unit RMS
            for layer in self.layers:
                normal_(layer.q_proj, D ** -0.5)
                normal_(layer.k_proj, D ** -0.5)
                normal_(layer.v_proj, D ** -0.5)
                normal_(layer.o_proj, (Hq * hd) ** -0.5)
                normal_(layer.gate, 0.02)
                for e in range(c["num_experts"]):
                    normal_(layer.linear[e], D ** -0.5)
                    normal_(layer.linear_v[e], D ** -0.5)
                    normal_(layer.linear_1[e], Fw ** -0.5)

        def rope_tables(self, T: int):
            if getattr(self, "_rope_T", None) != T:
                ang = torch.arange(T, dtype=torch.float32)[:, None] * self.inv_freq[None, :]
                causal = torch.ones(T, T, dtype=torch.bool).tril()
                self._rope = (torch.cos(ang), torch.sin(ang), ~causal)
                self._rope_T = T
            return self._rope

        @staticmethod
        def rope(x, cos, sin):
            """x [..., T, hd], half-split (NeoX) layout: y[i] = x[i] c - x[i+h] s,
            y[i+h] = x[i+h] c + x[i] s."""
            h = x.shape[-1] // 2
            x1, x2 = x[..., :h], x[..., h:]
            return torch.cat([x1 * cos - x2 * sin, x2 * cos + x1 * sin], dim=-1)

        def attention(self, layer, a):
            c = self.c
            B, T, _ = a.shape
            Hq, Hkv, hd = c["num_attention_heads"], c["num_key_value_heads"], c["head_dim"]
            group = Hq // Hkv                    # query head h uses KV head h // group
            cos, sin, masked = self.rope_tables(T)
            q = F.linear(a, layer.q_proj).view(B, T, Hq, hd).transpose(1, 2)
            k = F.linear(a, layer.k_proj).view(B, T, Hkv, hd).transpose(1, 2)
            v = F.linear(a, layer.v_proj).view(B, T, Hkv, hd).transpose(1, 2)
            q, k = self.rope(q, cos, sin), self.rope(k, cos, sin)
            q = q.reshape(B, Hkv, group * T, hd)           # the query heads of one KV head
            # l = (q.k) * attn_output_multiplier; l = cap * tanh(l / cap); then the causal mask.
            # The two scale factors are applied to q (fewer passes over the [T, T] scores).
            cap = c["max_attn_value"]
            s = torch.tanh((q * (c["attn_output_multiplier"] / cap)) @ k.transpose(-1, -2)) * cap
            s = s.view(B, Hkv, group, T, T).masked_fill_(masked, -1e30)
            w = torch.softmax(s, dim=-1).view(B, Hkv, group * T, T)
            o = (w @ v).view(B, Hq, T, hd).transpose(1, 2).reshape(B, T, Hq * hd)
            return F.linear(o, layer.o_proj)

        def moe(self, layer, u):
            """Returns (output, router logits [N, E], probs [N, E], top-k ids, top-k gates)."""
            c = self.c
            K, E = c["num_experts_per_tok"], c["num_experts"]
            shape = u.shape
            x = u.reshape(-1, shape[-1])
            r = F.linear(x.float(), layer.gate.float())
            p = torch.softmax(r, dim=-1)                     # over all experts, f32
            gates, ids = torch.topk(p, K, dim=-1)           # not renormalised
            # (token, choice) pairs grouped by expert: one gather, one scatter per layer
            flat = ids.reshape(-1)
            order = torch.argsort(flat, stable=True)
            tok = order // K
            counts = torch.bincount(flat, minlength=E).tolist()
            ys = []
            for e, xe in enumerate(torch.split(x[tok], counts)):
                h = F.gelu(F.linear(xe, layer.linear[e]), approximate="tanh") \
                    * F.linear(xe, layer.linear_v[e])
                ys.append(F.linear(h, layer.linear_1[e]))
            y = torch.cat(ys) * gates.reshape(-1)[order][:, None]
            out = torch.zeros_like(x).index_add_(0, tok, y)
            return out.view(shape), r, p, ids, gates

        def forward(self, ids, keep_routing=False):
            """ids [B, T] -> (logits [B, T, V], per-layer [(router logits, probs, ids, gates)])."""
            c = self.c
            eps = c["rms_norm_eps"]
            h = F.embedding(ids, self.embed_tokens) * c["embedding_multiplier_scale"]
            routing = []
            for layer in self.layers:
                a = rms_norm(h, layer.pre_attn_norm, eps)
                h = h + rms_norm(self.attention(layer, a), layer.post_attn_norm, eps)
                u = rms_norm(h, layer.pre_moe_norm, eps)
                m, r, p, top_ids, top_gates = self.moe(layer, u)
                h = h + rms_norm(m, layer.post_moe_norm, eps)
                routing.append((r, p, top_ids, top_gates) if keep_routing or self.training
                               else None)
            y = rms_norm(h, self.norm, eps)
            # (y . E) * output_multiplier_scale, the multiplier applied to y (D, not V, columns)
            logits = F.linear(y * c["output_multiplier_scale"], self.embed_tokens)
            return logits, routing

        # ---- hpcai-tech names ----
        def export_state(self) -> dict:
            """{hpcai-tech name: tensor [out, in]} (float32, detached)."""
            out = {"model.embed_tokens.weight": self.embed_tokens}
            for n, layer in enumerate(self.layers):
                p = f"model.layers.{n}."
                out[p + "attn.q_proj.weight"] = layer.q_proj
                out[p + "attn.k_proj.weight"] = layer.k_proj
                out[p + "attn.v_proj.weight"] = layer.v_proj
                out[p + "attn.o_proj.weight"] = layer.o_proj
                for nm in ("pre_attn_norm", "post_attn_norm", "pre_moe_norm", "post_moe_norm"):
                    out[p + nm + ".scale"] = getattr(layer, nm)
                out[p + "moe_block.gate.weight"] = layer.gate
                for e in range(self.c["num_experts"]):
                    q = f"{p}moe_block.experts.{e}."
                    out[q + "linear.weight"] = layer.linear[e]
                    out[q + "linear_v.weight"] = layer.linear_v[e]
                    out[q + "linear_1.weight"] = layer.linear_1[e]
            out["model.norm.scale"] = self.norm
            return {k: v.detach().float().contiguous() for k, v in out.items()}

        def load_exported(self, tensors: dict) -> None:
            """Inverse of export_state (any float dtype, upcast to float32); every name used."""
            own = self.export_state()
            missing = set(own) - set(tensors)
            extra = set(tensors) - set(own)
            if missing or extra:
                raise ValueError(f"missing {sorted(missing)[:5]}, unexpected {sorted(extra)[:5]}")
            with torch.no_grad():
                self.embed_tokens.copy_(tensors["model.embed_tokens.weight"].float())
                self.norm.copy_(tensors["model.norm.scale"].float())
                for n, layer in enumerate(self.layers):
                    p = f"model.layers.{n}."
                    for nm in ("q_proj", "k_proj", "v_proj", "o_proj"):
                        getattr(layer, nm).copy_(tensors[f"{p}attn.{nm}.weight"].float())
                    for nm in ("pre_attn_norm", "post_attn_norm", "pre_moe_norm", "post_moe_norm"):
                        getattr(layer, nm).copy_(tensors[f"{p}{nm}.scale"].float())
                    layer.gate.copy_(tensors[p + "moe_block.gate.weight"].float())
                    for e in range(self.c["num_experts"]):
                        q = f"{p}moe_block.experts.{e}."
                        layer.linear[e].copy_(tensors[q + "linear.weight"].float())
                        layer.linear_v[e].copy_(tensors[q + "linear_v.weight"].float())
                        layer.linear_1[e].copy_(tensors[q + "linear_1.weight"].float())
                    for nm, t in own.items():
                        if tuple(tensors[nm].shape) != tuple(t.shape):
                            raise ValueError(f"{nm}: shape {tuple(tensors[nm].shape)}, "
                                             f"expected {tuple(t.shape)}")

    return TinyGrok1


def load_model_dir(model_dir: str):
    """TinyGrok1 in float32 from a model directory (config.json + model.safetensors)."""
    from safetensors.torch import load_file

    with open(os.path.join(model_dir, "config.json")) as f:
        cfg = json.load(f)
    model = build_model_class()(cfg)
    model.load_exported(load_file(os.path.join(model_dir, "model.safetensors")))
    model.eval()
    return model


# ------------------------------------------------------------------------------------------
# losses
# ------------------------------------------------------------------------------------------

def router_losses(routing, n_experts: int):
    """(load-balancing loss, z-loss), each averaged over layers."""
    import torch

    aux, z = 0.0, 0.0
    for r, p, ids, _ in routing:
        N, K = ids.shape
        f = torch.bincount(ids.reshape(-1), minlength=n_experts).float() / (N * K)
        P = p.mean(0)
        aux = aux + n_experts * torch.sum(f * P)
        z = z + torch.logsumexp(r, dim=-1).pow(2).mean()
    return aux / len(routing), z / len(routing)


def lr_at(step: int, steps: int) -> float:
    """Linear warmup, then cosine from LR down to LR * LR_MIN_FRAC."""
    if step < WARMUP:
        return LR * (step + 1) / WARMUP
    t = (step - WARMUP) / max(1, steps - WARMUP)
    return LR * (LR_MIN_FRAC + (1 - LR_MIN_FRAC) * 0.5 * (1 + math.cos(math.pi * min(t, 1.0))))


def eval_windows(model, ids, context: int, collect=None):
    """Mean next-token NLL as `moescope eval` computes it: windows of `context` tokens from
    position 0, overlapping by one token, so that every token after the first is scored once.
    collect(window_ids, routing) is called per window when given."""
    import torch
    import torch.nn.functional as F

    nll, scored = 0.0, 0
    N = len(ids)
    with torch.no_grad():
        start = 0
        while start < N - 1:
            w = ids[start:start + context]
            logits, routing = model(w[None], keep_routing=collect is not None)
            nll += F.cross_entropy(logits[0, :-1].double(), w[1:], reduction="sum").item()
            scored += len(w) - 1
            if collect:
                collect(w, routing)
            if start + len(w) >= N:
                break
            start += context - 1
    return nll / scored, scored


# ------------------------------------------------------------------------------------------
# training
# ------------------------------------------------------------------------------------------

def make_optimizer(model):
    import torch

    decay = [p for n, p in model.named_parameters() if p.dim() >= 2]
    no_decay = [p for n, p in model.named_parameters() if p.dim() < 2]
    return torch.optim.AdamW([{"params": decay, "weight_decay": WEIGHT_DECAY},
                              {"params": no_decay, "weight_decay": 0.0}],
                             lr=LR, betas=BETAS, eps=1e-8, fused=True)


def shape_at(step: int, steps: int) -> tuple[int, int]:
    """(sequence length, batch) of a step."""
    seq, batch = SEQ_SCHEDULE[0][1:]
    for frac, s, b in SEQ_SCHEDULE:
        if step >= int(frac * steps):
            seq, batch = s, b
    return seq, batch


def batch_at(train_ids, step: int, steps: int):
    """The training batch of `step`: random windows, reproducible from (SEED, step)."""
    import torch

    seq, batch = shape_at(step, steps)
    g = torch.Generator().manual_seed(SEED * 1_000_003 + step)
    starts = torch.randint(0, len(train_ids) - seq - 1, (batch,), generator=g)
    w = torch.stack([train_ids[s:s + seq + 1] for s in starts.tolist()])
    return w[:, :-1], w[:, 1:]


def train_step(model, opt, train_ids, step: int, steps: int):
    import torch
    import torch.nn.functional as F

    x, y = batch_at(train_ids, step, steps)
    lr = lr_at(step, steps)
    for group in opt.param_groups:
        group["lr"] = lr
    logits, routing = model(x)
    ce = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), y.reshape(-1))
    aux, z = router_losses(routing, CONFIG["num_experts"])
    loss = ce + AUX_COEF * aux + Z_COEF * z
    opt.zero_grad(set_to_none=True)
    loss.backward()
    gnorm = torch.nn.utils.clip_grad_norm_(model.parameters(), GRAD_CLIP)
    opt.step()
    loads = [torch.bincount(r[2].reshape(-1), minlength=CONFIG["num_experts"]) for r in routing]
    return {"loss": loss.item(), "ce": ce.item(), "aux": aux.item(), "z": z.item(),
            "gnorm": float(gnorm), "lr": lr,
            "cv": [float(n.float().std(unbiased=False) / n.float().mean()) for n in loads]}


class ThreadChooser:
    """1 or 2 torch threads, whichever trains faster now.

    The machine has 2 cores shared with other work. With both cores free 2 threads are ~1.7x
    faster than 1; with one core busy, 2 threads are ~2.5x SLOWER than 1 (each parallel region
    waits for the thread that is not running). Every PROBE steps one step runs with the other
    count; an exponential moving average of step times per count decides. (Results depend on the
    count only through float rounding.)"""

    PROBE = 25

    def __init__(self):
        self.avg = {1: None, 2: None}
        self.current = 2
        self.last = 2
        self.probing = False

    def pick(self, step: int) -> int:
        other = 3 - self.current
        self.probing = step % self.PROBE == self.PROBE - 1 or (self.avg[other] is None
                                                                and step % self.PROBE > 2)
        self.last = other if self.probing else self.current
        return self.last

    def record(self, seconds: float) -> None:
        a = self.avg[self.last]
        # a probe replaces the other count's (old) estimate; steps in a row are averaged
        self.avg[self.last] = seconds if a is None or self.probing else 0.7 * a + 0.3 * seconds
        if all(v is not None for v in self.avg.values()):
            self.current = min(self.avg, key=lambda k: self.avg[k])


def save_checkpoint(path: str, model, opt, step: int, elapsed: float, history: list) -> None:
    import torch

    tmp = path + ".tmp"
    torch.save({"model": model.state_dict(), "opt": opt.state_dict(), "step": step,
                "elapsed": elapsed, "history": history, "config": CONFIG}, tmp)
    os.replace(tmp, path)


def train(work: str, steps: int, eval_every: int, ckpt_every_s: float) -> None:
    import torch

    torch.set_num_threads(2)
    torch.manual_seed(SEED)
    train_ids = load_ids(work, "train")
    held_ids = load_ids(work, "heldout")
    model = build_model_class()(CONFIG)
    model.init_weights(SEED)
    opt = make_optimizer(model)
    ckpt = os.path.join(work, "checkpoint.pt")
    step, elapsed, history = 0, 0.0, []
    if os.path.exists(ckpt):
        state = torch.load(ckpt, weights_only=False)
        model.load_state_dict(state["model"])
        opt.load_state_dict(state["opt"])
        step, elapsed, history = state["step"], state["elapsed"], state["history"]
        print(f"resumed at step {step} ({elapsed / 60:.1f} min so far)", flush=True)
    tokens_per_step = shape_at(0, steps)[0] * shape_at(0, steps)[1]
    assert all(s * b == tokens_per_step for _, s, b in SEQ_SCHEDULE)
    print(f"training {steps} steps x {tokens_per_step} tokens = {steps * tokens_per_step:,} tokens "
          f"({steps * tokens_per_step / len(train_ids):.2f} epochs of {len(train_ids):,})",
          flush=True)
    last_ckpt = time.time()
    t_log, n_log = time.time(), 0
    model.train()
    threads = ThreadChooser()
    while step < steps:
        torch.set_num_threads(threads.pick(step))
        t0 = time.time()
        m = train_step(model, opt, train_ids, step, steps)
        dt = time.time() - t0
        threads.record(dt)
        elapsed += dt
        step += 1
        n_log += 1
        if step % 10 == 0 or step == steps:
            rate = n_log * tokens_per_step / (time.time() - t_log)
            t_log, n_log = time.time(), 0
            print(f"step {step:5d} loss {m['loss']:.4f} ce {m['ce']:.4f} aux {m['aux']:.4f} "
                  f"z {m['z']:.3f} gnorm {m['gnorm']:.3f} lr {m['lr']:.2e} "
                  f"cv {' '.join(f'{v:.2f}' for v in m['cv'])} "
                  f"{rate:.0f} tok/s {threads.current}t {elapsed / 60:.1f} min", flush=True)
            history.append({"step": step, "ce": m["ce"], "aux": m["aux"], "z": m["z"],
                            "elapsed": elapsed})
        if step % eval_every == 0 or step == steps:
            model.eval()
            t1 = time.time()
            loss, n = eval_windows(model, held_ids, CONFIG["max_position_embeddings"])
            model.train()
            print(f"step {step:5d} held-out loss {loss:.4f} ppl {math.exp(loss):.2f} "
                  f"({n} tokens, {time.time() - t1:.0f} s)", flush=True)
            history.append({"step": step, "heldout": loss, "elapsed": elapsed})
        if time.time() - last_ckpt > ckpt_every_s or step == steps:
            save_checkpoint(ckpt, model, opt, step, elapsed, history)
            last_ckpt = time.time()
    print(f"done: {step} steps, {elapsed / 3600:.2f} h of training steps", flush=True)


def bench(work: str, n: int) -> None:
    import torch

    torch.set_num_threads(2)
    train_ids = load_ids(work, "train")
    model = build_model_class()(CONFIG)
    model.init_weights(SEED)
    opt = make_optimizer(model)
    model.train()
    for frac, seq, batch in SEQ_SCHEDULE:
        at = int(frac * 1000)
        train_step(model, opt, train_ids, at, 1000)      # warm-up
        t0 = time.time()
        for i in range(n):
            train_step(model, opt, train_ids, at + i + 1, 1000)
        dt = (time.time() - t0) / n
        print(f"batch {batch} x seq {seq}: {dt:.2f} s/step, {batch * seq / dt:.0f} tokens/s",
              flush=True)


# ------------------------------------------------------------------------------------------
# export
# ------------------------------------------------------------------------------------------

def export(out_dir: str, work: str) -> None:
    import torch

    from make_tiny_model import save_bf16_safetensors, sha256

    state = torch.load(os.path.join(work, "checkpoint.pt"), weights_only=False)
    model = build_model_class()(CONFIG)
    model.load_state_dict(state["model"])
    tensors = {k: v.to(torch.bfloat16).view(torch.int16).numpy().view(np.uint16)
               for k, v in model.export_state().items()}     # round to nearest even
    with open(os.path.join(out_dir, "config.json"), "w") as f:
        json.dump(CONFIG, f, indent=2)
        f.write("\n")
    save_bf16_safetensors(os.path.join(out_dir, "model.safetensors"), tensors,
                          {"format": "pt", "generator": "assets/scripts/train_tiny_grok1.py",
                           "training_steps": str(state["step"])})
    total = 0
    for name in sorted(os.listdir(out_dir)):
        p = os.path.join(out_dir, name)
        total += os.path.getsize(p)
        print(f"{sha256(p)}  {os.path.getsize(p):>10}  {os.path.relpath(p, REPO)}")
    print(f"total {total:,} bytes ({total / 2**20:.2f} MiB)")


# ------------------------------------------------------------------------------------------
# report: held-out loss of the exported bf16 model, unigram baseline, routing statistics
# ------------------------------------------------------------------------------------------

def routing_stats(model, ids, context: int) -> dict:
    """Per layer: load CV over (token, choice) assignments, consecutive-token same-expert rates."""
    L = model.c["num_hidden_layers"]
    E = model.c["num_experts"]
    counts = np.zeros((L, E))
    first_counts = np.zeros((L, E))
    same1 = np.zeros(L)
    either = np.zeros(L)
    pairs = 0

    def collect(w, routing):
        nonlocal pairs
        for li, (_, _, top, _) in enumerate(routing):
            top = top.numpy()
            counts[li] += np.bincount(top.reshape(-1), minlength=E)
            first_counts[li] += np.bincount(top[:, 0], minlength=E)
            same1[li] += np.sum(top[1:, 0] == top[:-1, 0])
            inter = (top[1:, :, None] == top[:-1, None, :]).any(-1).any(-1)
            either[li] += np.sum(inter)
        pairs += len(w) - 1

    loss, n = eval_windows(model, ids, context, collect)
    cv = counts.std(1) / counts.mean(1)
    cv1 = first_counts.std(1) / first_counts.mean(1)
    return {"loss": loss, "scored": n, "load_share": (counts / counts.sum(1, keepdims=True)).tolist(),
            "load_cv": cv.tolist(), "load_cv_first": cv1.tolist(),
            "same_first": (same1 / pairs).tolist(), "same_either": (either / pairs).tolist(),
            "pairs": pairs}


def unigram_baseline(train_ids, held_ids, vocab: int) -> float:
    """Cross-entropy (nats/token) of held-out tokens 1..N-1 (the tokens `moescope eval` scores)
    under the training split's unigram distribution with add-one smoothing."""
    c = np.bincount(train_ids.numpy(), minlength=vocab).astype(np.float64) + 1.0
    logp = np.log(c / c.sum())
    return float(-logp[held_ids.numpy()[1:]].mean())


def greedy(model, ids: list[int], n: int) -> tuple[list[int], list[float]]:
    """Greedy decoding by full recomputation (ties -> lower id); tokens and top1-top2 margins."""
    import torch

    seq = list(ids)
    toks, margins = [], []
    with torch.no_grad():
        for _ in range(n):
            logits, _ = model(torch.tensor([seq]))
            last = logits[0, -1].double()
            top = torch.topk(last, 2)
            t = int(torch.argmax(last))
            toks.append(t)
            margins.append(float(top.values[0] - top.values[1]))
            seq.append(t)
    return toks, margins


SAMPLE_PROMPTS = ["And God said", "In the beginning God created", "Jesus answered and said unto them",
                  "The hacker", "A kludge is"]


def report(out_dir: str, work: str) -> None:
    import sentencepiece as spm
    import torch

    torch.set_num_threads(2)
    model = load_model_dir(out_dir)      # the exported bf16 weights, upcast to f32
    sp = spm.SentencePieceProcessor(model_file=os.path.join(out_dir, "tokenizer.model"))
    with open(os.path.join(out_dir, "heldout.txt"), encoding="utf-8") as f:
        held_text = f.read()
    held_ids = torch.tensor(sp.encode(held_text))
    train_ids = load_ids(work, "train")
    ctx = CONFIG["max_position_embeddings"]
    res = {"heldout_tokens": len(held_ids), "heldout_bytes": len(held_text.encode()),
           "train_tokens": len(train_ids)}
    stats = routing_stats(model, held_ids, ctx)
    res.update(stats)
    res["unigram"] = unigram_baseline(train_ids, held_ids, CONFIG["vocab_size"])
    # the f32 (pre-export) weights, for the cost of rounding to bf16
    ck = torch.load(os.path.join(work, "checkpoint.pt"), weights_only=False)
    f32 = build_model_class()(CONFIG)
    f32.load_state_dict(ck["model"])
    f32.eval()
    res["loss_f32_weights"], _ = eval_windows(f32, held_ids, ctx)
    res["training_steps"] = ck["step"]
    res["training_hours"] = ck["elapsed"] / 3600
    res["history"] = ck["history"]
    # the random model, its own tokenizer, the same text: the routing baseline of an untrained net
    rnd_dir = os.path.join(REPO, "assets", "tiny-grok1-random")
    rnd = load_model_dir(rnd_dir)
    sp_rnd = spm.SentencePieceProcessor(model_file=os.path.join(rnd_dir, "tokenizer.model"))
    rnd_ids = torch.tensor(sp_rnd.encode(held_text))
    r = routing_stats(rnd, rnd_ids[:8192], 512)
    res["random_model"] = {k: r[k] for k in ("load_cv", "same_first", "same_either", "loss")}
    # sample generations (greedy, torch)
    res["samples"] = {}
    for p in SAMPLE_PROMPTS:
        toks, _ = greedy(model, sp.encode(p), 48)
        res["samples"][p] = sp.decode(sp.encode(p) + toks)
    res["expert_tokens"] = expert_tokens(model, sp, held_ids, ctx)
    with open(os.path.join(work, "report.json"), "w") as f:
        json.dump(res, f, indent=1)
    L = CONFIG["num_hidden_layers"]
    print(f"held-out: {res['heldout_tokens']} tokens, loss {res['loss']:.4f} (bf16 weights), "
          f"{res['loss_f32_weights']:.4f} (f32 weights), ppl {math.exp(res['loss']):.2f}; "
          f"unigram {res['unigram']:.4f} (ppl {math.exp(res['unigram']):.1f})")
    for li in range(L):
        print(f"layer {li}: load CV {res['load_cv'][li]:.3f} (first choice {res['load_cv_first'][li]:.3f}), "
              f"same first {100 * res['same_first'][li]:.1f}%, either {100 * res['same_either'][li]:.1f}%; "
              f"random model CV {r['load_cv'][li]:.3f}, same {100 * r['same_first'][li]:.1f}% / "
              f"{100 * r['same_either'][li]:.1f}%")
    for p, s in res["samples"].items():
        print(f"--- {p!r}\n{s}")


def expert_tokens(model, sp, ids, ctx, top: int = 8) -> list:
    """Per layer and expert: the tokens most over-represented among its first-choice tokens
    (count >= 20), as (piece, share of that token's occurrences routed first to the expert)."""
    L, E = model.c["num_hidden_layers"], model.c["num_experts"]
    V = model.c["vocab_size"]
    table = np.zeros((L, V, E))

    def collect(w, routing):
        for li, (_, _, t, _) in enumerate(routing):
            np.add.at(table[li], (w.numpy(), t[:, 0].numpy()), 1)

    eval_windows(model, ids, ctx, collect)
    out = []
    for li in range(L):
        tot = table[li].sum(1)
        layer = []
        for e in range(E):
            ok = tot >= 20
            share = np.where(ok, table[li][:, e] / np.maximum(tot, 1), 0)
            best = np.argsort(-share)[:top]
            layer.append([(sp.id_to_piece(int(v)), round(float(share[v]), 2)) for v in best
                          if share[v] > 0])
        out.append(layer)
    return out


# ------------------------------------------------------------------------------------------
# golden file for the C++ test (tests/engine/test_golden.cpp)
# ------------------------------------------------------------------------------------------

# Romans 5:1-3 (a held-out chapter): 64 tokens
GOLDEN_PROMPT = ("Therefore being justified by faith, we have peace with God through our Lord Jesus "
                 "Christ:\nBy whom also we have access by faith into this grace wherein we stand, "
                 "and rejoice in hope of the glory of God.\nAnd not only so, but we glory in "
                 "tribulations also: knowing that tribulation worketh patience;")


def golden(out_dir: str, prompt: str, path: str) -> None:
    import sentencepiece as spm
    import torch
    from safetensors.numpy import save_file

    from make_tiny_model import canonicalize_safetensors_header

    torch.set_num_threads(2)
    model = load_model_dir(out_dir)
    sp = spm.SentencePieceProcessor(model_file=os.path.join(out_dir, "tokenizer.model"))
    ids = sp.encode(prompt)
    with torch.no_grad():
        logits, routing = model(torch.tensor([ids]), keep_routing=True)
    toks, margins = greedy(model, ids, 32)
    probs = torch.stack([r[1] for r in routing]).numpy()
    srt = -np.sort(-probs, -1)
    gap = srt[..., 1] - srt[..., 2]
    print(f"prompt {len(ids)} tokens; min greedy margin {min(margins):.4f}; "
          f"router p2-p3 min {gap.min():.2e}, decisive (> 1e-5) {np.mean(gap > 1e-5) * 100:.1f}%")
    print("greedy:", repr(sp.decode(toks)))
    assert min(margins) > 1e-3 and min(toks) >= 4
    tensors = {
        "prompt_ids": np.asarray(ids, dtype=np.int32),
        "logits": logits[0].numpy().astype(np.float32),
        "router_probs": probs.astype(np.float32),
        "topk_ids": torch.stack([r[2] for r in routing]).numpy().astype(np.int32),
        "topk_gates": torch.stack([r[3] for r in routing]).numpy().astype(np.float32),
        "greedy_ids": np.asarray(toks, dtype=np.int32),
        "greedy_margin": np.asarray(margins, dtype=np.float32),
    }
    save_file({k: np.ascontiguousarray(v) for k, v in tensors.items()}, path,
              metadata={"model": os.path.relpath(out_dir, REPO),
                        "reference": "assets/scripts/train_tiny_grok1.py (torch, float32)",
                        "prompt": prompt})
    canonicalize_safetensors_header(path)
    print(f"wrote {path} ({os.path.getsize(path):,} bytes)")


# ------------------------------------------------------------------------------------------

def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("step", nargs="?", default="all",
                    choices=["all", "prepare", "bench", "train", "export", "report", "golden"])
    ap.add_argument("--out", default=DEFAULT_OUT)
    ap.add_argument("--work", default=DEFAULT_WORK)
    ap.add_argument("--steps", type=int, default=None,
                    help=f"training steps (default {STEPS}); with 'bench': steps to time")
    ap.add_argument("--eval-every", type=int, default=250)
    ap.add_argument("--golden-path", default=GOLDEN_PATH)
    ap.add_argument("--checkpoint-every", type=float, default=300.0, help="seconds")
    args = ap.parse_args(argv)
    if args.step in ("all", "prepare"):
        prepare(args.out, args.work)
    if args.step == "bench":
        bench(args.work, args.steps or 5)
    if args.step in ("all", "train"):
        train(args.work, args.steps or STEPS, args.eval_every, args.checkpoint_every)
    if args.step in ("all", "export"):
        export(args.out, args.work)
    if args.step in ("all", "report"):
        report(args.out, args.work)
    if args.step in ("all", "golden"):
        golden(args.out, GOLDEN_PROMPT, args.golden_path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
