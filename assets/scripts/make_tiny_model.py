#!/usr/bin/env python3
"""Builds assets/tiny-grok1-random/: a deterministic, randomly initialised Grok-1-shaped model.

    python3 assets/scripts/make_tiny_model.py [--out DIR] [--seed N]

Writes
  tokenizer.model    SentencePiece BPE, 4096 pieces, trained on the King James Bible (Debian
                     `bible-kjv`) + the Jargon File (Debian `jargon-text`), with Grok-1's trainer
                     settings (grok-architecture.md 5.1), including Grok-1's 65 user-defined pieces
                     at ids 4..68, so byte pieces sit at ids 69..324 as in Grok-1.
  config.json        hpcai-tech Grok-1 config keys.
  model.safetensors  BF16 weights, PyTorch [out, in] layout, hpcai-tech names.

Deterministic: fixed seeds, single-threaded tokenizer training, fixed file names inside a temporary
directory; running twice gives byte-identical files (the script prints sha256 of each file).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import struct
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from tiny_data import jargon_lines, kjv_verses, train_sentencepiece  # noqa: E402

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
DEFAULT_OUT = os.path.join(REPO, "assets", "tiny-grok1-random")

# Chosen by scanning seeds 0..63 for the largest minimum greedy margin and router gap on the
# golden prompt (tests/reference/make_golden.py); see tests/reference/README.md.
DEFAULT_SEED = 34

CONFIG = {
    "architectures": ["Grok1ModelForCausalLM"],
    "model_type": "grok-1",
    "vocab_size": 4096,
    "hidden_size": 256,
    "intermediate_size": 256,
    "num_hidden_layers": 4,
    "num_attention_heads": 8,
    "num_key_value_heads": 2,
    "head_dim": 32,
    "attn_output_multiplier": 0.17677669529663687,
    "max_attn_value": 30.0,
    "max_position_embeddings": 1024,
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

# ------------------------------------------------------------------------------------------
# tokenizer
# ------------------------------------------------------------------------------------------

def training_text() -> str:
    """One KJV verse per line, then the Jargon File's non-blank lines as they are."""
    return "\n".join(kjv_verses() + jargon_lines()) + "\n"


def train_tokenizer(out_path: str) -> None:
    train_sentencepiece(out_path, CONFIG["vocab_size"], text=training_text(),
                        input_name="kjv_jargon.txt")


# ------------------------------------------------------------------------------------------
# weights
# ------------------------------------------------------------------------------------------

def to_bf16_bits(x: np.ndarray) -> np.ndarray:
    """float -> bf16 bit pattern (uint16), round to nearest even."""
    u = np.ascontiguousarray(x, dtype=np.float32).view(np.uint32).astype(np.uint64)
    u = (u + 0x7FFF + ((u >> 16) & 1)) >> 16
    return u.astype(np.uint16)


def weight_plan(cfg: dict) -> list[tuple[str, tuple, str, float]]:
    """(name, shape, kind, std) in generation order. kind: 'normal' or 'norm' (1 + std*N)."""
    D, F, V = cfg["hidden_size"], cfg["intermediate_size"], cfg["vocab_size"]
    hd, Hq, Hkv = cfg["head_dim"], cfg["num_attention_heads"], cfg["num_key_value_heads"]
    E = cfg["num_experts"]
    plan = [("model.embed_tokens.weight", (V, D), "normal", 1.0 / 16.0)]
    for n in range(cfg["num_hidden_layers"]):
        p = f"model.layers.{n}."
        plan += [
            (p + "attn.q_proj.weight", (Hq * hd, D), "normal", D ** -0.5),
            (p + "attn.k_proj.weight", (Hkv * hd, D), "normal", D ** -0.5),
            (p + "attn.v_proj.weight", (Hkv * hd, D), "normal", D ** -0.5),
            (p + "attn.o_proj.weight", (D, Hq * hd), "normal", (Hq * hd) ** -0.5),
            (p + "pre_attn_norm.scale", (D,), "norm", 0.1),
            (p + "post_attn_norm.scale", (D,), "norm", 0.1),
            (p + "pre_moe_norm.scale", (D,), "norm", 0.1),
            (p + "post_moe_norm.scale", (D,), "norm", 0.1),
            (p + "moe_block.gate.weight", (E, D), "normal", 2.0 * D ** -0.5),
        ]
        for e in range(E):
            q = f"{p}moe_block.experts.{e}."
            plan += [(q + "linear.weight", (F, D), "normal", D ** -0.5),
                     (q + "linear_v.weight", (F, D), "normal", D ** -0.5),
                     (q + "linear_1.weight", (D, F), "normal", F ** -0.5)]
    plan.append(("model.norm.scale", (D,), "norm", 0.1))
    return plan


def make_weights(cfg: dict, seed: int) -> dict[str, np.ndarray]:
    """Returns {name: uint16 bf16 bits}. One PCG64 stream, tensors drawn in plan order."""
    rng = np.random.Generator(np.random.PCG64(seed))
    out = {}
    for name, shape, kind, std in weight_plan(cfg):
        x = rng.standard_normal(shape)
        x = 1.0 + std * x if kind == "norm" else std * x
        out[name] = to_bf16_bits(x)
    return out


def canonicalize_safetensors_header(path: str) -> None:
    """Sorts the __metadata__ keys in place.

    safetensors writes __metadata__ from a hash map, so its key order (and the file bytes) change
    from run to run. Re-serialising the header with sorted metadata keys gives the same length
    (only the order changes), so the data offsets stay valid and the file becomes reproducible.
    """
    with open(path, "r+b") as f:
        (n,) = struct.unpack("<Q", f.read(8))
        header = json.loads(f.read(n).decode("utf-8"), object_pairs_hook=dict)
        if "__metadata__" in header:
            header["__metadata__"] = dict(sorted(header["__metadata__"].items()))
        text = json.dumps(header, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
        if len(text) > n:
            raise RuntimeError(f"{path}: canonical header longer than the original")
        f.seek(8)
        f.write(text + b" " * (n - len(text)))


def save_bf16_safetensors(path: str, tensors: dict[str, np.ndarray], metadata: dict) -> None:
    """tensors: {name: uint16 bf16 bits}."""
    import torch
    from safetensors.torch import save_file

    pt = {k: torch.from_numpy(v.copy()).view(torch.bfloat16) for k, v in tensors.items()}
    save_file(pt, path, metadata=metadata)
    canonicalize_safetensors_header(path)


def sha256(path: str) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", default=DEFAULT_OUT)
    ap.add_argument("--seed", type=int, default=DEFAULT_SEED)
    args = ap.parse_args(argv)
    os.makedirs(args.out, exist_ok=True)

    train_tokenizer(os.path.join(args.out, "tokenizer.model"))
    with open(os.path.join(args.out, "config.json"), "w") as f:
        json.dump(CONFIG, f, indent=2)
        f.write("\n")
    save_bf16_safetensors(os.path.join(args.out, "model.safetensors"),
                          make_weights(CONFIG, args.seed),
                          {"format": "pt", "generator": "assets/scripts/make_tiny_model.py"})

    total = 0
    for name in ("config.json", "tokenizer.model", "model.safetensors"):
        p = os.path.join(args.out, name)
        size = os.path.getsize(p)
        total += size
        print(f"{sha256(p)}  {size:>10}  {os.path.relpath(p, REPO)}")
    print(f"total {total} bytes ({total / 2**20:.2f} MiB), seed {args.seed}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
