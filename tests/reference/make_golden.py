#!/usr/bin/env python3
"""Writes the tiny test fixtures and the golden files the C++ tests compare against.

    python3 tests/reference/make_golden.py            (after assets/scripts/make_tiny_model.py)

Fixtures (deterministic, fixed seeds):
  tests/reference/fixtures/tiny-grok2/    Grok-2-shaped config + BF16 weights in SGLang/Grok-2 names,
                                          TP-presharded (TP=2) with the file map of
                                          grok-architecture.md 4.3
  tests/reference/fixtures/tiny-mixtral/  MixtralConfig + F32 weights in classic Mixtral names
Golden files (safetensors: prompt_ids, logits, router_probs, topk_ids, topk_gates, greedy_ids,
greedy_margin):
  tests/reference/golden/tiny-grok1.safetensors    assets/tiny-grok1-random via grok_reference.py
  tests/reference/golden/tiny-grok2.safetensors    fixtures/tiny-grok2 via grok_reference.py
  tests/reference/golden/tiny-mixtral.safetensors  fixtures/tiny-mixtral via HF transformers

Also runs the cross-checks reported in tests/reference/README.md (grok_reference.py against
HF Mixtral, the neutralised Grok-1 path against HF Mixtral, KV cache against recomputation).
"""

from __future__ import annotations

import json
import math
import os
import shutil
import sys
import tempfile

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.abspath(os.path.join(HERE, "..", ".."))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(REPO, "assets", "scripts"))

import grok_reference as gr                                    # noqa: E402
from make_tiny_model import (canonicalize_safetensors_header,  # noqa: E402
                             save_bf16_safetensors, to_bf16_bits)

GOLDEN = os.path.join(HERE, "golden")
FIXTURES = os.path.join(HERE, "fixtures")
GROK1_DIR = os.path.join(REPO, "assets", "tiny-grok1-random")
GROK2_DIR = os.path.join(FIXTURES, "tiny-grok2")
MIXTRAL_DIR = os.path.join(FIXTURES, "tiny-mixtral")

GROK1_PROMPT = "In the beginning God created the heaven and the earth."
N_GREEDY = 32

# Seeds: weights and prompts. Chosen by scanning for comfortable greedy margins and router gaps
# (see README.md); changing them changes every golden number.
GROK2_WEIGHT_SEED = 2011
GROK2_PROMPT_SEED = 5
MIXTRAL_WEIGHT_SEED = 3003
MIXTRAL_PROMPT_SEED = 3


def rel(path: str) -> str:
    return os.path.relpath(path, REPO)


# ------------------------------------------------------------------------------------------
# golden file writing
# ------------------------------------------------------------------------------------------

def save_golden(path: str, prompt_ids, logits, router_probs, topk_ids, topk_gates, greedy_ids,
                greedy_margin, metadata: dict) -> None:
    from safetensors.numpy import save_file

    tensors = {
        "prompt_ids": np.asarray(prompt_ids, dtype=np.int32),
        "logits": np.asarray(logits, dtype=np.float32),
        "router_probs": np.asarray(router_probs, dtype=np.float32),
        "topk_ids": np.asarray(topk_ids, dtype=np.int32),
        "topk_gates": np.asarray(topk_gates, dtype=np.float32),
        "greedy_ids": np.asarray(greedy_ids, dtype=np.int32),
        "greedy_margin": np.asarray(greedy_margin, dtype=np.float32),
    }
    os.makedirs(os.path.dirname(path), exist_ok=True)
    save_file({k: np.ascontiguousarray(v) for k, v in tensors.items()}, path, metadata=metadata)
    canonicalize_safetensors_header(path)


def summarize(name: str, prompt_ids, full: dict, g: dict, k: int, extra_steps=None) -> dict:
    """Prints and returns the numbers the README reports."""
    prompt_gap = gr.router_gap(full["router_probs"], k)
    steps = g["steps"][1:] if extra_steps is None else extra_steps
    gen_gaps = [gr.router_gap(s["router_probs"], k).min() for s in steps]
    z = full["router_logits"]
    srt = -np.sort(-z, axis=-1)
    logit_gap = srt[..., k - 1] - srt[..., k]
    info = {
        "prompt_len": len(prompt_ids),
        "min_greedy_margin": float(np.min(g["margins"])),
        "min_router_gap_prompt": float(prompt_gap.min()),
        "min_router_logit_gap_prompt": float(logit_gap.min()),
        "min_router_gap_generated": float(min(gen_gaps)) if gen_gaps else None,
        "distinct_greedy_tokens": int(len(set(int(t) for t in g["tokens"]))),
    }
    # the C++ tests require identical greedy tokens: keep every margin clear of rounding, and keep
    # pad/bos/eos/unk (ids 0..3) out of the greedy run (a loop may stop on EOS or mask PAD keys)
    assert info["min_greedy_margin"] > 1e-3, (name, info)
    assert int(np.min(g["tokens"])) >= 4, (name, g["tokens"])
    print(f"[{name}] prompt ids ({len(prompt_ids)}): {list(map(int, prompt_ids))}")
    print(f"[{name}] greedy ids: {list(map(int, g['tokens']))}")
    for key, val in info.items():
        print(f"[{name}] {key}: {val}")
    return info


# ------------------------------------------------------------------------------------------
# (a) tiny Grok-1
# ------------------------------------------------------------------------------------------

def golden_grok1() -> dict:
    import sentencepiece as spm

    sp = spm.SentencePieceProcessor(model_file=os.path.join(GROK1_DIR, "tokenizer.model"))
    ids = sp.encode(GROK1_PROMPT)                       # no BOS, as the JAX runner
    print(f"[grok1] pieces: {[sp.id_to_piece(i) for i in ids]}")
    model = gr.load_model(GROK1_DIR)
    full = gr.forward(model, ids)
    g = gr.greedy(model, ids, N_GREEDY)
    check_cache(model, ids, g, "grok1")
    info = summarize("grok1", ids, full, g, model.spec.top_k)
    info.update({k: v for k, v in full["stats"].items()})
    info["ablations"] = sensitivity("grok1", GROK1_DIR, ids, full, g, {
        "no attention soft-cap": dict(attn_softcap=None),
        "erf GELU instead of tanh": dict(expert_act="gelu_erf"),
        "renormalised top-2": dict(renormalize=True),
        "router soft-cap 30 (SGLang default)": dict(router_softcap=30.0),
        "no post norms": dict(post_norms=False),
    })
    save_golden(os.path.join(GOLDEN, "tiny-grok1.safetensors"), ids, full["logits"],
                full["router_probs"], full["topk_ids"], full["topk_gates"], g["tokens"],
                g["margins"],
                {"model": rel(GROK1_DIR), "reference": "tests/reference/grok_reference.py",
                 "prompt": GROK1_PROMPT})
    return info


def sensitivity(name, model_dir, ids, full, g, ablations: dict) -> dict:
    """How much each switch matters on this fixture: max |logit change| over the prompt and
    whether the routing / greedy tokens change when the switch is turned off or changed.
    A golden test can only catch a missing feature that changes its outputs."""
    out = {}
    for label, overrides in ablations.items():
        m = gr.load_model(model_dir, **overrides)
        f = gr.forward(m, ids)
        a = gr.greedy(m, ids, N_GREEDY)
        d = {"max_logit_change": float(np.max(np.abs(f["logits"] - full["logits"]))),
             "topk_ids_changed": int(np.sum(np.any(f["topk_ids"] != full["topk_ids"], -1))),
             "greedy_changed": bool(not np.array_equal(a["tokens"], g["tokens"]))}
        out[label] = d
        print(f"[{name}] ablation '{label}': max |logit change| {d['max_logit_change']:.3e}, "
              f"(layer, position)s with other experts {d['topk_ids_changed']}, "
              f"greedy changed {d['greedy_changed']}")
    return out


def check_cache(model, ids, g, name):
    """Greedy with the KV cache must equal greedy with full recomputation."""
    g2 = gr.greedy(model, ids, N_GREEDY, use_cache=False)
    assert np.array_equal(g["tokens"], g2["tokens"]), f"{name}: cache/recompute tokens differ"
    full = g2["steps"][-1]["logits"]
    diff = max(float(np.max(np.abs(s["logits"][-1] - full[len(ids) - 1 + i])))
               for i, s in enumerate(g["steps"]))
    print(f"[{name}] KV-cache vs recompute max |logit diff|: {diff:.3e}")
    assert diff < 1e-9


# ------------------------------------------------------------------------------------------
# (b) tiny Grok-2 fixture (TP-presharded, TP=2)
# ------------------------------------------------------------------------------------------

GROK2_CONFIG = {
    "architectures": ["Grok1ForCausalLM"],
    "model_type": "git",
    "vocab_size": 512,
    "hidden_size": 64,
    "intermediate_size": 64,
    "moe_intermediate_size": 32,
    "num_hidden_layers": 2,
    "num_attention_heads": 4,
    "num_key_value_heads": 2,
    "head_dim": 16,
    "num_local_experts": 8,
    "num_experts_per_tok": 2,
    "residual_moe": True,
    "max_position_embeddings": 256,
    "rope_theta": 208533496,
    "rope_type": "original",
    "original_max_position_embeddings": 16,
    "scaling_factor": 16.0,
    "extrapolation_factor": 1.0,
    "attn_factor": 1.0,
    "beta_fast": 8,
    "beta_slow": 1,
    "rms_norm_eps": 1e-05,
    "embedding_multiplier_scale": 8.0,
    "output_multiplier_scale": 0.5,
    "attn_logit_softcapping": 30.0,
    "router_logit_softcapping": 30.0,
    "final_logit_softcapping": 50.0,
    "attn_temperature_len": 8,
    "sliding_window_size": -1,
    "global_attn_every_n": 1,
    "tie_word_embeddings": False,
    "eos_token_id": 2,
    "torch_dtype": "bfloat16",
}
GROK2_TP = 2

# Per-layer scales so that the soft-caps bite: layer 0 has large attention and router logits
# (capped hard), layer 1 moderate ones (soft attention, where the temperature shows).
GROK2_QK_GAIN = (3.5, 1.5)       # q and k weights: gain / sqrt(D)
GROK2_ROUTER_GAIN = (6.0, 3.0)  # router weights: gain / sqrt(D)
GROK2_LM_HEAD_GAIN = 24.0        # lm_head: gain / sqrt(D); 0.5 * y.W has std ~ 12


def grok2_weights(seed: int) -> dict[str, np.ndarray]:
    """Full (unsharded) float64 weights in SGLang / Grok-2 names."""
    c = GROK2_CONFIG
    D, V, hd = c["hidden_size"], c["vocab_size"], c["head_dim"]
    Hq, Hkv, E = c["num_attention_heads"], c["num_key_value_heads"], c["num_local_experts"]
    Fe, Fs = c["moe_intermediate_size"], c["intermediate_size"]
    rng = np.random.Generator(np.random.PCG64(seed))

    def normal(shape, std):
        return std * rng.standard_normal(shape)

    def norm(n):
        return 1.0 + 0.1 * rng.standard_normal(n)

    w = {"model.embed_tokens.weight": normal((V, D), 1.0 / c["embedding_multiplier_scale"]),
         "lm_head.weight": normal((V, D), GROK2_LM_HEAD_GAIN / math.sqrt(D)),
         "model.norm.weight": norm(D)}
    for n in range(c["num_hidden_layers"]):
        p = f"model.layers.{n}."
        w[p + "self_attn.q_proj.weight"] = normal((Hq * hd, D), GROK2_QK_GAIN[n] / math.sqrt(D))
        w[p + "self_attn.k_proj.weight"] = normal((Hkv * hd, D), GROK2_QK_GAIN[n] / math.sqrt(D))
        w[p + "self_attn.v_proj.weight"] = normal((Hkv * hd, D), 1.0 / math.sqrt(D))
        w[p + "self_attn.o_proj.weight"] = normal((D, Hq * hd), 1.0 / math.sqrt(Hq * hd))
        for nm in ("pre_attn_norm", "post_attn_norm", "pre_moe_norm", "post_moe_norm"):
            w[p + nm + ".weight"] = norm(D)
        w[p + "block_sparse_moe.gate.weight"] = normal((E, D), GROK2_ROUTER_GAIN[n] / math.sqrt(D))
        w[p + "mlp.gate_proj.weight"] = normal((Fs, D), 1.0 / math.sqrt(D))
        w[p + "mlp.up_proj.weight"] = normal((Fs, D), 1.0 / math.sqrt(D))
        w[p + "mlp.down_proj.weight"] = normal((D, Fs), 1.0 / math.sqrt(Fs))
        for e in range(E):
            q = f"{p}block_sparse_moe.experts.{e}."
            w[q + "w1.weight"] = normal((Fe, D), 1.0 / math.sqrt(D))
            w[q + "w3.weight"] = normal((Fe, D), 1.0 / math.sqrt(D))
            w[q + "w2.weight"] = normal((D, Fe), 1.0 / math.sqrt(Fe))
    return w


def grok2_file_of(name: str) -> tuple[int, bool]:
    """(file number, per-rank?) following grok-architecture.md 4.3."""
    if name == "model.embed_tokens.weight":
        return 0, False
    if name == "lm_head.weight":
        return 1, False
    if name == "model.norm.weight":
        return 2, False
    parts = name.split(".")
    if ".mlp." in name:
        return {"gate_proj": 3, "down_proj": 4, "up_proj": 5}[parts[4]], False
    if ".experts." in name:
        return {"w1": 6, "w2": 7, "w3": 8}[parts[6]], True
    if ".self_attn." in name:
        return {"k_proj": 9, "o_proj": 10, "q_proj": 11, "v_proj": 12}[parts[4]], False
    if name.endswith("_norm.weight"):
        return {"pre_attn_norm": 13, "post_attn_norm": 14, "pre_moe_norm": 15,
                "post_moe_norm": 16}[parts[3]], False
    if name.endswith("block_sparse_moe.gate.weight"):
        return 17, False
    raise ValueError(name)


def write_grok2_fixture() -> None:
    if os.path.isdir(GROK2_DIR):
        shutil.rmtree(GROK2_DIR)
    os.makedirs(GROK2_DIR)
    with open(os.path.join(GROK2_DIR, "config.json"), "w") as f:
        json.dump(GROK2_CONFIG, f, indent=2)
        f.write("\n")
    files: dict[str, dict[str, np.ndarray]] = {}
    for name, arr in grok2_weights(GROK2_WEIGHT_SEED).items():
        num, sharded = grok2_file_of(name)
        bits = to_bf16_bits(arr)
        if not sharded:
            files.setdefault(f"pytorch_model-{num:05d}-TP-common.safetensors", {})[name] = bits
            continue
        axis = 1 if name.endswith("w2.weight") else 0      # w1/w3 rows, w2 columns
        for r, piece in enumerate(np.split(bits, GROK2_TP, axis=axis)):
            files.setdefault(f"pytorch_model-{num:05d}-TP-{r:03d}.safetensors", {})[name] = \
                np.ascontiguousarray(piece)
    for fname, tensors in sorted(files.items()):
        save_bf16_safetensors(os.path.join(GROK2_DIR, fname), tensors, {"format": "pt"})


def grok2_prompt() -> list[int]:
    rng = np.random.Generator(np.random.PCG64(GROK2_PROMPT_SEED))
    return [int(x) for x in rng.integers(3, GROK2_CONFIG["vocab_size"], size=24)]


def golden_grok2() -> dict:
    model = gr.load_model(GROK2_DIR)
    # the joined TP shards must equal the generated full weights
    ref = grok2_weights(GROK2_WEIGHT_SEED)
    for name in ("model.layers.1.block_sparse_moe.experts.5.w1.weight",
                 "model.layers.0.block_sparse_moe.experts.2.w2.weight"):
        want = (to_bf16_bits(ref[name]).astype(np.uint32) << 16).view(np.float32)
        assert np.array_equal(model.w[gr.canonical_name(name)], want.astype(np.float64)), name
    ids = grok2_prompt()
    full = gr.forward(model, ids)
    g = gr.greedy(model, ids, N_GREEDY)
    check_cache(model, ids, g, "grok2")
    info = summarize("grok2", ids, full, g, model.spec.top_k)
    # pre-cap maxima over the prompt and every decode step
    for key in ("attn_precap_max", "router_precap_max", "final_precap_max"):
        info[key] = max(s["stats"][key] for s in g["steps"])
        print(f"[grok2] {key} (prompt + decode): {info[key]:.3f}")
    L = GROK2_CONFIG["attn_temperature_len"]
    info["tau_max"] = math.log2(len(ids) + N_GREEDY - 2) / math.log2(L)
    print(f"[grok2] attention temperature at the last decode position: {info['tau_max']:.4f}")
    info["ablations"] = sensitivity("grok2", GROK2_DIR, ids, full, g, {
        "no attention soft-cap": dict(attn_softcap=None),
        "no attention temperature": dict(attn_temp_len=None),
        "no router soft-cap": dict(router_softcap=None),
        "no final soft-cap": dict(final_softcap=None),
        "tanh GELU instead of erf": dict(expert_act="gelu_tanh", shared_act="gelu_tanh"),
        "renormalised top-2": dict(renormalize=True),
        "attention scale 1/sqrt(128) (head_dim not read)": dict(attn_scale=128 ** -0.5),
    })
    save_golden(os.path.join(GOLDEN, "tiny-grok2.safetensors"), ids, full["logits"],
                full["router_probs"], full["topk_ids"], full["topk_gates"], g["tokens"],
                g["margins"],
                {"model": rel(GROK2_DIR), "reference": "tests/reference/grok_reference.py",
                 "prompt": ""})
    return info


# ------------------------------------------------------------------------------------------
# (c) tiny Mixtral fixture, reference = HF transformers
# ------------------------------------------------------------------------------------------

# intermediate_size is 32 (not 128) so that the F32 fixture stays under 1 MB.
MIXTRAL_ARGS = dict(hidden_size=64, intermediate_size=32, num_hidden_layers=2,
                    num_attention_heads=4, num_key_value_heads=2, head_dim=16,
                    num_local_experts=8, num_experts_per_tok=2, vocab_size=512,
                    rope_theta=1e6, rms_norm_eps=1e-5, max_position_embeddings=256,
                    tie_word_embeddings=False, sliding_window=None)


def mixtral_config():
    from transformers import MixtralConfig
    args = dict(MIXTRAL_ARGS)
    theta = args.pop("rope_theta")
    cfg = MixtralConfig(**args, rope_parameters={"rope_type": "default", "rope_theta": theta})
    assert cfg.rope_parameters["rope_theta"] == theta
    return cfg


def mixtral_weights(seed: int) -> dict[str, np.ndarray]:
    a = MIXTRAL_ARGS
    D, V, hd, F = a["hidden_size"], a["vocab_size"], a["head_dim"], a["intermediate_size"]
    Hq, Hkv, E = a["num_attention_heads"], a["num_key_value_heads"], a["num_local_experts"]
    rng = np.random.Generator(np.random.PCG64(seed))

    def normal(shape, std):
        return (std * rng.standard_normal(shape)).astype(np.float32)

    def norm(n):
        return (1.0 + 0.1 * rng.standard_normal(n)).astype(np.float32)

    w = {"model.embed_tokens.weight": normal((V, D), 1.0)}
    for n in range(a["num_hidden_layers"]):
        p = f"model.layers.{n}."
        w[p + "self_attn.q_proj.weight"] = normal((Hq * hd, D), 2.0 / math.sqrt(D))
        w[p + "self_attn.k_proj.weight"] = normal((Hkv * hd, D), 2.0 / math.sqrt(D))
        w[p + "self_attn.v_proj.weight"] = normal((Hkv * hd, D), 1.0 / math.sqrt(D))
        w[p + "self_attn.o_proj.weight"] = normal((D, Hq * hd), 1.0 / math.sqrt(Hq * hd))
        w[p + "input_layernorm.weight"] = norm(D)
        w[p + "post_attention_layernorm.weight"] = norm(D)
        w[p + "block_sparse_moe.gate.weight"] = normal((E, D), 2.0 / math.sqrt(D))
        for e in range(E):
            q = f"{p}block_sparse_moe.experts.{e}."
            w[q + "w1.weight"] = normal((F, D), 1.0 / math.sqrt(D))
            w[q + "w2.weight"] = normal((D, F), 1.0 / math.sqrt(F))
            w[q + "w3.weight"] = normal((F, D), 1.0 / math.sqrt(D))
    w["model.norm.weight"] = norm(D)
    w["lm_head.weight"] = normal((V, D), 3.0 / math.sqrt(D))
    return w


def write_mixtral_fixture() -> None:
    from safetensors.numpy import save_file

    if os.path.isdir(MIXTRAL_DIR):
        shutil.rmtree(MIXTRAL_DIR)
    os.makedirs(MIXTRAL_DIR)
    mixtral_config().save_pretrained(MIXTRAL_DIR)
    # transformers 5 writes rope_theta only inside "rope_parameters" and no "architectures";
    # published Mixtral configs have both at the top level, so add them (HF accepts both).
    cfg_path = os.path.join(MIXTRAL_DIR, "config.json")
    with open(cfg_path) as f:
        cfg = json.load(f)
    cfg["architectures"] = ["MixtralForCausalLM"]
    cfg["rope_theta"] = MIXTRAL_ARGS["rope_theta"]
    with open(cfg_path, "w") as f:
        json.dump(cfg, f, indent=2, sort_keys=True)
        f.write("\n")
    path = os.path.join(MIXTRAL_DIR, "model.safetensors")
    save_file(mixtral_weights(MIXTRAL_WEIGHT_SEED), path, metadata={"format": "pt"})
    canonicalize_safetensors_header(path)


def mixtral_prompt() -> list[int]:
    rng = np.random.Generator(np.random.PCG64(MIXTRAL_PROMPT_SEED))
    return [int(x) for x in rng.integers(3, MIXTRAL_ARGS["vocab_size"], size=24)]


def patch_mixtral_float64(mm) -> None:
    """HF Mixtral casts to float32 inside RMSNorm, RoPE, the attention softmax and the router
    softmax even when the model is float64. These replacements keep HF's formulas but compute in
    the tensors' own dtype, so a .double() model is float64 end to end."""
    import torch
    import torch.nn.functional as F

    def rms_forward(self, x):
        var = x.pow(2).mean(-1, keepdim=True)
        return self.weight * (x * torch.rsqrt(var + self.variance_epsilon))

    def rope_forward(self, x, position_ids):
        dim = self.inv_freq.shape[0] * 2
        base = self.config.rope_parameters["rope_theta"]
        inv = 1.0 / (base ** (torch.arange(0, dim, 2, dtype=torch.float64) / dim))
        freqs = position_ids[..., None].to(torch.float64) * inv
        emb = torch.cat((freqs, freqs), dim=-1)
        return ((emb.cos() * self.attention_scaling).to(x.dtype),
                (emb.sin() * self.attention_scaling).to(x.dtype))

    def eager(module, query, key, value, attention_mask, scaling, dropout=0.0, **kwargs):
        k = mm.repeat_kv(key, module.num_key_value_groups)
        v = mm.repeat_kv(value, module.num_key_value_groups)
        w = torch.matmul(query, k.transpose(2, 3)) * scaling
        if attention_mask is not None:
            w = w + attention_mask
        w = F.softmax(w, dim=-1)
        out = torch.matmul(w, v).transpose(1, 2).contiguous()
        return out, w

    def router_forward(self, hidden_states):
        hidden_states = hidden_states.reshape(-1, self.hidden_dim)
        logits = F.linear(hidden_states, self.weight)
        probs = F.softmax(logits, dim=-1)
        top, idx = torch.topk(probs, self.top_k, dim=-1)
        top = top / top.sum(dim=-1, keepdim=True)
        return logits, top, idx

    mm.MixtralRMSNorm.forward = rms_forward
    mm.MixtralRotaryEmbedding.forward = rope_forward
    mm.eager_attention_forward = eager
    mm.MixtralTopKRouter.forward = router_forward


def hf_mixtral_run(ids: list[int], patched: bool):
    """Returns (forward outputs on the prompt, greedy tokens, greedy margins) from HF."""
    import torch
    import transformers.models.mixtral.modeling_mixtral as mm

    saved = (mm.MixtralRMSNorm.forward, mm.MixtralRotaryEmbedding.forward,
             mm.eager_attention_forward, mm.MixtralTopKRouter.forward)
    try:
        if patched:
            patch_mixtral_float64(mm)
        return _hf_mixtral_run(mm, ids)
    finally:
        (mm.MixtralRMSNorm.forward, mm.MixtralRotaryEmbedding.forward,
         mm.eager_attention_forward, mm.MixtralTopKRouter.forward) = saved


def _hf_mixtral_run(mm, ids):
    import torch

    model, info = mm.MixtralForCausalLM.from_pretrained(
        MIXTRAL_DIR, dtype=torch.float64, attn_implementation="eager",
        experts_implementation="eager", output_loading_info=True)
    model.eval()
    assert model.config.rope_parameters["rope_theta"] == MIXTRAL_ARGS["rope_theta"]
    assert model.config._experts_implementation == "eager"
    assert not any(info.get(k) for k in ("missing_keys", "unexpected_keys", "mismatched_keys",
                                         "error_msgs")), info
    verify_mixtral_loaded(model)

    routed = []

    def hook(_module, _inputs, output):
        routed.append((output[1].detach().numpy().copy(), output[2].detach().numpy().copy()))

    handles = [layer.mlp.gate.register_forward_hook(hook) for layer in model.model.layers]

    def run(seq):
        routed.clear()
        with torch.no_grad():
            out = model(torch.tensor([seq]), output_router_logits=True, use_cache=False)
        return out

    out = run(ids)
    logits = out.logits[0].numpy().copy()
    router_logits = np.stack([r.numpy() for r in out.router_logits])        # [L, T, E]
    router_probs = np.exp(router_logits - router_logits.max(-1, keepdims=True))
    router_probs /= router_probs.sum(-1, keepdims=True)
    gates = np.stack([g for g, _ in routed])
    topk = np.stack([i for _, i in routed])
    res = {"logits": logits, "router_probs": router_probs, "topk_ids": topk, "topk_gates": gates,
           "router_logits": router_logits}
    seq, toks, margins = list(ids), [], []
    for _ in range(N_GREEDY):
        last = run(seq).logits[0, -1].numpy()
        t, m = gr.top2(last)
        toks.append(t), margins.append(m)
        seq.append(t)
    for h in handles:
        h.remove()
    return res, np.array(toks), np.array(margins), seq


def verify_mixtral_loaded(model) -> None:
    """Every parameter must equal the file (transformers 5 fuses the per-expert w1/w3 into
    experts.gate_up_proj [E, 2F, D] and w2 into experts.down_proj [E, D, F])."""
    w = mixtral_weights(MIXTRAL_WEIGHT_SEED)
    E = MIXTRAL_ARGS["num_local_experts"]
    sd = {k: v.detach().numpy() for k, v in model.state_dict().items()}
    seen = set()
    for name, val in sd.items():
        if ".mlp.experts.gate_up_proj" in name:
            p = name.split(".mlp.")[0] + ".block_sparse_moe.experts."
            want = np.stack([np.concatenate([w[f"{p}{e}.w1.weight"], w[f"{p}{e}.w3.weight"]])
                             for e in range(E)])
            seen.update(f"{p}{e}.w{j}.weight" for e in range(E) for j in (1, 3))
        elif ".mlp.experts.down_proj" in name:
            p = name.split(".mlp.")[0] + ".block_sparse_moe.experts."
            want = np.stack([w[f"{p}{e}.w2.weight"] for e in range(E)])
            seen.update(f"{p}{e}.w2.weight" for e in range(E))
        else:
            src = name.replace(".mlp.gate.", ".block_sparse_moe.gate.")
            want = w[src]
            seen.add(src)
        assert val.shape == want.shape and np.array_equal(val, want.astype(np.float64)), name
    assert seen == set(w), sorted(set(w) - seen)[:5]


def golden_mixtral() -> dict:
    import transformers

    ids = mixtral_prompt()
    hf, toks, margins, _ = hf_mixtral_run(ids, patched=True)
    hf_raw, toks_raw, _, _ = hf_mixtral_run(ids, patched=False)
    info = {"hf_unpatched_vs_patched_logits": float(np.max(np.abs(hf["logits"] -
                                                                   hf_raw["logits"]))),
            "hf_unpatched_greedy_equal": bool(np.array_equal(toks, toks_raw))}
    print(f"[mixtral] HF float64 with its float32 casts vs fully float64: max |logit diff| "
          f"{info['hf_unpatched_vs_patched_logits']:.3e}, greedy equal "
          f"{info['hf_unpatched_greedy_equal']}")

    # grok_reference.py in Mixtral mode against HF
    model = gr.load_model(MIXTRAL_DIR)
    assert model.spec.family == "mixtral"
    full = gr.forward(model, ids)
    g = gr.greedy(model, ids, N_GREEDY)
    info.update(compare("mixtral mode", full, g, hf, toks, margins))
    info.update({"unpatched_" + k: v for k, v in
                 compare("mixtral mode vs unpatched HF", full, g, hf_raw, toks_raw, None).items()})

    # the Grok-1 path with every switch neutralised, fed the same weights under hpcai names
    with tempfile.TemporaryDirectory() as tmp:
        write_neutralised_grok1(tmp)
        m1 = gr.load_model(tmp, expert_act="silu", renormalize=True, post_norms=False,
                           mask_pad_keys=False)
        assert m1.spec.family == "grok1"
        full1 = gr.forward(m1, ids)
        g1 = gr.greedy(m1, ids, N_GREEDY)
        info.update({"neutralised_grok1_" + k: v for k, v in
                     compare("neutralised grok1 path", full1, g1, hf, toks, margins).items()})

    hf_g = {"tokens": toks, "margins": margins, "steps": g["steps"]}
    info.update(summarize("mixtral", ids, hf, hf_g, MIXTRAL_ARGS["num_experts_per_tok"]))
    save_golden(os.path.join(GOLDEN, "tiny-mixtral.safetensors"), ids, hf["logits"],
                hf["router_probs"], hf["topk_ids"], hf["topk_gates"], toks, margins,
                {"model": rel(MIXTRAL_DIR),
                 "reference": f"transformers MixtralForCausalLM {transformers.__version__} "
                              "(float64, eager; float32 casts patched to float64)",
                 "prompt": ""})
    return info


def compare(label, full, g, hf, toks, margins) -> dict:
    d = {
        "logits_maxdiff": float(np.max(np.abs(full["logits"] - hf["logits"]))),
        "router_probs_maxdiff": float(np.max(np.abs(full["router_probs"] - hf["router_probs"]))),
        "topk_gates_maxdiff": float(np.max(np.abs(full["topk_gates"] - hf["topk_gates"]))),
        "topk_ids_equal": bool(np.array_equal(full["topk_ids"], hf["topk_ids"])),
        "greedy_equal": bool(np.array_equal(g["tokens"], toks)),
    }
    if margins is not None:
        d["greedy_margin_maxdiff"] = float(np.max(np.abs(g["margins"] - margins)))
    print(f"[{label}] vs HF: " + ", ".join(f"{k} {v:.3e}" if isinstance(v, float) else f"{k} {v}"
                                           for k, v in d.items()))
    return d


def write_neutralised_grok1(out_dir: str) -> None:
    """The Mixtral fixture's weights renamed to hpcai-tech Grok-1 names, with a Grok-1 config whose
    multipliers are 1, attention scale 1/sqrt(head_dim) and no soft-cap (max_attn_value 0)."""
    from safetensors.numpy import save_file

    a = MIXTRAL_ARGS
    cfg = {"architectures": ["Grok1ModelForCausalLM"], "model_type": "grok-1",
           "vocab_size": a["vocab_size"], "hidden_size": a["hidden_size"],
           "intermediate_size": a["intermediate_size"],
           "num_hidden_layers": a["num_hidden_layers"],
           "num_attention_heads": a["num_attention_heads"],
           "num_key_value_heads": a["num_key_value_heads"], "head_dim": a["head_dim"],
           "attn_output_multiplier": a["head_dim"] ** -0.5, "max_attn_value": 0.0,
           "embedding_multiplier_scale": 1.0, "output_multiplier_scale": 1.0,
           "rms_norm_eps": a["rms_norm_eps"], "rope_theta": a["rope_theta"],
           "num_experts": a["num_local_experts"], "num_experts_per_tok": a["num_experts_per_tok"],
           "tie_word_embeddings": False}
    with open(os.path.join(out_dir, "config.json"), "w") as f:
        json.dump(cfg, f)
    ren = {"self_attn.": "attn.", "input_layernorm.weight": "pre_attn_norm.scale",
           "post_attention_layernorm.weight": "pre_moe_norm.scale",
           "block_sparse_moe.": "moe_block.", ".w1.": ".linear.", ".w3.": ".linear_v.",
           ".w2.": ".linear_1.", "model.norm.weight": "model.norm.scale"}
    out = {}
    for name, arr in mixtral_weights(MIXTRAL_WEIGHT_SEED).items():
        for a_, b_ in ren.items():
            name = name.replace(a_, b_)
        out[name] = arr
    save_file(out, os.path.join(out_dir, "model.safetensors"), metadata={"format": "pt"})


# ------------------------------------------------------------------------------------------

def main() -> int:
    if not os.path.exists(os.path.join(GROK1_DIR, "model.safetensors")):
        print("run assets/scripts/make_tiny_model.py first", file=sys.stderr)
        return 1
    write_grok2_fixture()
    write_mixtral_fixture()
    report = {"grok1": golden_grok1(), "grok2": golden_grok2(), "mixtral": golden_mixtral()}
    print(json.dumps(report, indent=1))
    for d in (GOLDEN, GROK2_DIR, MIXTRAL_DIR):
        for fname in sorted(os.listdir(d)):
            p = os.path.join(d, fname)
            print(f"{os.path.getsize(p):>9}  {rel(p)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
