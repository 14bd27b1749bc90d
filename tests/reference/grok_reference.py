"""Independent float64 reference forward pass for Grok-family MoE checkpoints.

Written from /work/shared/reference/grok-architecture.md (sections 1-4), not from the C++ engine.
Three families, chosen from config.json:

* grok1   - the JAX Grok-1 model (section 2): embedding x multiplier, 4 RMSNorms per layer
            (sandwich), NeoX RoPE, logits x attn_output_multiplier, 30*tanh(l/30) soft-cap,
            causal + padding-key mask, full-softmax router, top-2 WITHOUT renormalisation,
            GELU(tanh) gated experts, tied output x output_multiplier_scale.
* grok2   - Grok-1 plus the Grok-2 switches of section 3, each enabled by its config key:
            attention scale 1/sqrt(head_dim), attn_logit_softcapping, attention temperature
            (attn_temperature_len), router_logit_softcapping, shared MLP with (mlp+moe)/sqrt(2)
            (residual_moe), experts of width moe_intermediate_size, erf GELU,
            final_logit_softcapping, untied lm_head.
* mixtral - pre-norm only, SiLU experts, renormalised top-k, no caps or multipliers
            (used to cross-check the shared machinery against HF transformers).

Everything is computed in numpy float64. Weights (BF16/F16/F32 in safetensors) are upcast
exactly; activations are NOT rounded to bf16.

Weight files: every *.safetensors file in the checkpoint directory. Names may use the hpcai-tech
Grok-1 scheme, the keyfan scheme, the SGLang / Grok-2 scheme, or the Mixtral scheme (section 4.2).
Grok-2's TP-presharded layout (section 4.3: `*-TP-common.safetensors` plus per-rank
`*-TP-00R.safetensors` holding expert slices) is joined here: w1/w3 slices are concatenated along
dim 0, w2 slices along dim 1.

Usage:
    m = load_model("assets/tiny-grok1-random")
    out = forward(m, ids)                 # logits [T, V], router_probs [L, T, E], ...
    g = greedy(m, ids, 32)                # tokens, margins (uses a KV cache)
"""

from __future__ import annotations

import dataclasses
import glob
import json
import math
import os
import re
import struct
from dataclasses import dataclass, field

import numpy as np

# --------------------------------------------------------------------------------------------
# safetensors reader (own parser: 8-byte little-endian header length, JSON header, raw data)
# --------------------------------------------------------------------------------------------

_NP_DTYPES = {
    "F64": "<f8", "F32": "<f4", "F16": "<f2",
    "I64": "<i8", "I32": "<i4", "I16": "<i2", "I8": "i1", "U8": "u1", "BOOL": "?",
}


def read_safetensors(path: str) -> tuple[dict[str, np.ndarray], dict]:
    """Returns ({name: array}, metadata). BF16 is widened exactly to float32."""
    with open(path, "rb") as f:
        data = f.read()
    if len(data) < 8:
        raise ValueError(f"{path}: truncated (no header length)")
    (n,) = struct.unpack("<Q", data[:8])
    if 8 + n > len(data):
        raise ValueError(f"{path}: header length {n} exceeds file size {len(data)}")
    header = json.loads(data[8:8 + n].decode("utf-8"))
    base = 8 + n
    out = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        begin, end = info["data_offsets"]
        raw = data[base + begin: base + end]
        if end > len(data) - base:
            raise ValueError(f"{path}: tensor {name} runs past the end of the file")
        dt = info["dtype"]
        if dt == "BF16":
            bits = np.frombuffer(raw, dtype="<u2").astype(np.uint32) << 16
            arr = bits.view(np.float32)
        elif dt in _NP_DTYPES:
            arr = np.frombuffer(raw, dtype=np.dtype(_NP_DTYPES[dt]))
        else:
            raise ValueError(f"{path}: tensor {name} has unsupported dtype {dt}")
        shape = tuple(info["shape"])
        if arr.size != int(np.prod(shape, dtype=np.int64)):
            raise ValueError(f"{path}: tensor {name} has {arr.size} elements, shape {shape}")
        out[name] = arr.reshape(shape)
    return out, header.get("__metadata__", {}) or {}


# --------------------------------------------------------------------------------------------
# checkpoint: files -> raw tensors (joining TP shards) -> canonical names
# --------------------------------------------------------------------------------------------

_TP_RANK_FILE = re.compile(r"-TP-(\d{3})\.safetensors$")


def _tp_concat_axis(name: str) -> int:
    """Section 4.3: per-rank expert slices; w1/w3 split along output rows, w2 along inputs."""
    if re.search(r"\.(w1|w3|linear|linear_v|gate_proj|up_proj)\.weight$", name):
        return 0
    if re.search(r"\.(w2|linear_1|down_proj)\.weight$", name):
        return 1
    raise ValueError(f"per-rank tensor {name}: no known tensor-parallel split rule")


def load_raw_tensors(ckpt_dir: str) -> dict[str, np.ndarray]:
    files = sorted(glob.glob(os.path.join(ckpt_dir, "*.safetensors")))
    if not files:
        raise FileNotFoundError(f"{ckpt_dir}: no *.safetensors files")
    common: dict[str, np.ndarray] = {}
    ranks: dict[int, dict[str, np.ndarray]] = {}
    for path in files:
        tensors, _ = read_safetensors(path)
        m = _TP_RANK_FILE.search(os.path.basename(path))
        target = ranks.setdefault(int(m.group(1)), {}) if m else common
        for name, arr in tensors.items():
            if name in target:
                raise ValueError(f"{path}: duplicate tensor {name}")
            target[name] = arr
    if not ranks:
        return common
    n = len(ranks)
    if sorted(ranks) != list(range(n)):
        raise ValueError(f"{ckpt_dir}: TP rank files {sorted(ranks)} are not 0..{n - 1}")
    names = set(ranks[0])
    for r in range(n):
        if set(ranks[r]) != names:
            raise ValueError(f"{ckpt_dir}: rank {r} holds a different tensor set than rank 0")
    for name in sorted(names):
        if name in common:
            raise ValueError(f"{name} appears both in a TP-common file and in per-rank files")
        common[name] = np.concatenate([ranks[r][name] for r in range(n)],
                                      axis=_tp_concat_axis(name))
    return common


_ATTN_KEYFAN = {"query": "q", "key": "k", "value": "v", "linear": "o"}
_NORM_KEYFAN = {"": "pre_attn_norm", "_1": "post_attn_norm", "_2": "pre_moe_norm",
                "_3": "post_moe_norm"}
_EXPERT = {"linear": "gate", "linear_v": "up", "linear_1": "down",   # Grok-1 JAX / hpcai names
           "w1": "gate", "w3": "up", "w2": "down"}                    # SGLang / Mixtral names
_MLP = {"gate_proj": "gate", "up_proj": "up", "down_proj": "down"}

# (pattern, function(match) -> canonical name)
_NAME_RULES = [
    (r"model\.embed_tokens\.weight", lambda m: "embed"),
    (r"transformer\.in_out_embed\.weight", lambda m: "embed"),
    (r"lm_head\.weight", lambda m: "lm_head"),
    (r"model\.norm\.(?:scale|weight)", lambda m: "final_norm"),
    (r"transformer\.rms_norm\.weight", lambda m: "final_norm"),
    (r"model\.layers\.(\d+)\.(?:attn|self_attn)\.([qkvo])_proj\.weight",
     lambda m: f"L{m[1]}.{m[2]}"),
    (r"transformer\.decoder_layer\.(\d+)\.multi_head_attention\.(query|key|value|linear)\.weight",
     lambda m: f"L{m[1]}.{_ATTN_KEYFAN[m[2]]}"),
    (r"model\.layers\.(\d+)\.(pre_attn_norm|post_attn_norm|pre_moe_norm|post_moe_norm)"
     r"\.(?:scale|weight)", lambda m: f"L{m[1]}.{m[2]}"),
    (r"transformer\.decoder_layer\.(\d+)\.rms_norm(|_1|_2|_3)\.weight",
     lambda m: f"L{m[1]}.{_NORM_KEYFAN[m[2]]}"),
    # Mixtral: input_layernorm = pre-attention, post_attention_layernorm = pre-FFN (no post norms)
    (r"model\.layers\.(\d+)\.input_layernorm\.weight", lambda m: f"L{m[1]}.pre_attn_norm"),
    (r"model\.layers\.(\d+)\.post_attention_layernorm\.weight",
     lambda m: f"L{m[1]}.pre_moe_norm"),
    (r"model\.layers\.(\d+)\.(?:moe_block|block_sparse_moe)\.gate\.weight",
     lambda m: f"L{m[1]}.router"),
    (r"transformer\.decoder_layer\.(\d+)\.router\.weight", lambda m: f"L{m[1]}.router"),
    (r"model\.layers\.(\d+)\.(?:moe_block|block_sparse_moe)\.experts\.(\d+)"
     r"\.(linear|linear_v|linear_1|w1|w2|w3)\.weight",
     lambda m: f"L{m[1]}.E{m[2]}.{_EXPERT[m[3]]}"),
    (r"transformer\.decoder_layer\.(\d+)\.moe\.(\d+)\.(linear|linear_v|linear_1)\.weight",
     lambda m: f"L{m[1]}.E{m[2]}.{_EXPERT[m[3]]}"),
    (r"model\.layers\.(\d+)\.mlp\.(gate_proj|up_proj|down_proj)\.weight",
     lambda m: f"L{m[1]}.mlp.{_MLP[m[2]]}"),
]


def canonical_name(name: str) -> str:
    for pattern, fn in _NAME_RULES:
        m = re.fullmatch(pattern, name)
        if m:
            return fn(m)
    raise ValueError(f"unrecognised tensor name {name!r}")


# --------------------------------------------------------------------------------------------
# model spec from config.json
# --------------------------------------------------------------------------------------------

_GROK2_KEYS = ("attn_logit_softcapping", "router_logit_softcapping", "final_logit_softcapping",
               "attn_temperature_len", "residual_moe", "moe_intermediate_size")


@dataclass
class Spec:
    family: str                      # "grok1" | "grok2" | "mixtral"
    vocab: int
    hidden: int
    n_layers: int
    n_heads: int
    n_kv_heads: int
    head_dim: int
    n_experts: int
    top_k: int
    expert_width: int
    shared_width: int                # 0: no shared MLP
    rope_theta: float
    eps: float
    emb_mult: float
    out_mult: float
    attn_scale: float
    attn_softcap: float | None
    attn_temp_len: int | None
    router_softcap: float | None
    renormalize: bool
    expert_act: str                  # "gelu_tanh" | "gelu_erf" | "silu"
    shared_act: str
    post_norms: bool
    final_softcap: float | None
    tied: bool
    pad_id: int | None
    mask_pad_keys: bool


def _positive_or_none(x):
    return float(x) if x is not None and float(x) > 0 else None


def spec_from_config(cfg: dict) -> Spec:
    archs = cfg.get("architectures") or []
    if cfg.get("model_type") == "mixtral" or "MixtralForCausalLM" in archs:
        family = "mixtral"
    elif any(k in cfg for k in _GROK2_KEYS):
        family = "grok2"
    else:
        family = "grok1"
    hidden = int(cfg["hidden_size"])
    n_heads = int(cfg["num_attention_heads"])
    head_dim = int(cfg.get("head_dim") or hidden // n_heads)
    n_experts = int(cfg.get("num_local_experts") or cfg.get("num_experts"))
    rope_theta = cfg.get("rope_theta")
    if rope_theta is None:
        rope_theta = (cfg.get("rope_parameters") or {}).get("rope_theta", 10000.0)
    common = dict(
        family=family, vocab=int(cfg["vocab_size"]), hidden=hidden,
        n_layers=int(cfg["num_hidden_layers"]), n_heads=n_heads,
        n_kv_heads=int(cfg.get("num_key_value_heads") or n_heads), head_dim=head_dim,
        n_experts=n_experts, top_k=int(cfg["num_experts_per_tok"]),
        rope_theta=float(rope_theta), eps=float(cfg.get("rms_norm_eps", 1e-5)),
    )
    if family == "mixtral":
        act = cfg.get("hidden_act", "silu")
        if act != "silu":
            raise ValueError(f"mixtral mode supports hidden_act silu only, got {act}")
        return Spec(**common, expert_width=int(cfg["intermediate_size"]), shared_width=0,
                    emb_mult=1.0, out_mult=1.0, attn_scale=head_dim ** -0.5, attn_softcap=None,
                    attn_temp_len=None, router_softcap=None, renormalize=True,
                    expert_act="silu", shared_act="silu", post_norms=False, final_softcap=None,
                    tied=bool(cfg.get("tie_word_embeddings", False)),
                    pad_id=cfg.get("pad_token_id"), mask_pad_keys=False)
    grok2 = family == "grok2"
    residual = bool(cfg.get("residual_moe", False))
    attn_scale = cfg.get("attn_output_multiplier")
    softcap = cfg.get("attn_logit_softcapping", cfg.get("max_attn_value", 30.0))
    temp_len = cfg.get("attn_temperature_len")
    return Spec(
        **common,
        expert_width=int(cfg.get("moe_intermediate_size") or cfg["intermediate_size"]),
        shared_width=int(cfg["intermediate_size"]) if residual else 0,
        emb_mult=float(cfg.get("embedding_multiplier_scale", 1.0)),
        out_mult=float(cfg.get("output_multiplier_scale", 1.0)),
        attn_scale=float(attn_scale) if attn_scale is not None else head_dim ** -0.5,
        attn_softcap=_positive_or_none(softcap),
        attn_temp_len=int(temp_len) if temp_len is not None and int(temp_len) > 0 else None,
        router_softcap=_positive_or_none(cfg.get("router_logit_softcapping")),
        renormalize=False,
        # JAX Grok-1 uses jax.nn.gelu (tanh form); SGLang (Grok-2's path) uses the erf form.
        expert_act="gelu_erf" if grok2 else "gelu_tanh",
        shared_act="gelu_erf",
        post_norms=True,
        final_softcap=_positive_or_none(cfg.get("final_logit_softcapping")),
        tied=bool(cfg.get("tie_word_embeddings", not grok2)),
        pad_id=cfg.get("pad_token_id", 0 if not grok2 else None),
        # JAX input_mask = (token > 0): padding keys are masked. SGLang (Grok-2) has no such mask.
        mask_pad_keys=not grok2,
    )


@dataclass
class Model:
    spec: Spec
    w: dict[str, np.ndarray] = field(repr=False)
    path: str = ""


def _expected_shapes(s: Spec) -> dict[str, tuple]:
    D, hd, F = s.hidden, s.head_dim, s.expert_width
    shapes = {"embed": (s.vocab, D), "final_norm": (D,)}
    if not s.tied:
        shapes["lm_head"] = (s.vocab, D)
    for i in range(s.n_layers):
        L = f"L{i}."
        shapes.update({L + "q": (s.n_heads * hd, D), L + "k": (s.n_kv_heads * hd, D),
                       L + "v": (s.n_kv_heads * hd, D), L + "o": (D, s.n_heads * hd),
                       L + "pre_attn_norm": (D,), L + "pre_moe_norm": (D,),
                       L + "router": (s.n_experts, D)})
        if s.post_norms:
            shapes[L + "post_attn_norm"] = (D,)
            shapes[L + "post_moe_norm"] = (D,)
        for e in range(s.n_experts):
            shapes.update({f"{L}E{e}.gate": (F, D), f"{L}E{e}.up": (F, D),
                           f"{L}E{e}.down": (D, F)})
        if s.shared_width:
            Fs = s.shared_width
            shapes.update({L + "mlp.gate": (Fs, D), L + "mlp.up": (Fs, D),
                           L + "mlp.down": (D, Fs)})
    return shapes


def load_model(ckpt_dir: str, **overrides) -> Model:
    """Loads config.json + weights; `overrides` replace Spec fields (for neutralised checks)."""
    with open(os.path.join(ckpt_dir, "config.json")) as f:
        cfg = json.load(f)
    spec = dataclasses.replace(spec_from_config(cfg), **overrides)
    raw = load_raw_tensors(ckpt_dir)
    w = {}
    for name, arr in raw.items():
        c = canonical_name(name)
        if c in w:
            raise ValueError(f"{ckpt_dir}: two tensors map to {c} (second: {name})")
        w[c] = arr.astype(np.float64)
    if spec.tied:
        w.pop("lm_head", None)
    if overrides.get("post_norms") is False:       # ablation: ignore the checkpoint's post norms
        w = {k: v for k, v in w.items() if not k.endswith(("post_attn_norm", "post_moe_norm"))}
    expected = _expected_shapes(spec)
    missing = sorted(set(expected) - set(w))
    extra = sorted(set(w) - set(expected))
    if missing or extra:
        raise ValueError(f"{ckpt_dir}: missing tensors {missing[:8]}, unexpected {extra[:8]}")
    for c, shp in expected.items():
        if w[c].shape != shp:
            raise ValueError(f"{ckpt_dir}: tensor {c} has shape {w[c].shape}, expected {shp}")
    if spec.n_heads % spec.n_kv_heads:
        raise ValueError("num_attention_heads must be a multiple of num_key_value_heads")
    return Model(spec=spec, w=w, path=ckpt_dir)


# --------------------------------------------------------------------------------------------
# math
# --------------------------------------------------------------------------------------------

def rms_norm(x, weight, eps):
    """weight * x / sqrt(mean(x^2) + eps); weight used as-is (not 1 + w)."""
    return weight * (x / np.sqrt(np.mean(x * x, axis=-1, keepdims=True) + eps))


def gelu_tanh(x):
    return 0.5 * x * (1.0 + np.tanh(math.sqrt(2.0 / math.pi) * (x + 0.044715 * x ** 3)))


_erf = np.vectorize(math.erf, otypes=[np.float64])


def gelu_erf(x):
    return 0.5 * x * (1.0 + _erf(x / math.sqrt(2.0)))


def silu(x):
    return x / (1.0 + np.exp(-x))


_ACT = {"gelu_tanh": gelu_tanh, "gelu_erf": gelu_erf, "silu": silu}


def softmax(x, axis=-1):
    z = x - np.max(x, axis=axis, keepdims=True)
    e = np.exp(z)
    return e / np.sum(e, axis=axis, keepdims=True)


def softcap(x, cap):
    return x if cap is None else cap * np.tanh(x / cap)


def rope(x, positions, theta):
    """Half-split (NeoX) RoPE over the whole head. x: [T, H, D]; positions: [T] (0-based)."""
    D = x.shape[-1]
    half = D // 2
    inv_freq = theta ** (-2.0 * np.arange(half, dtype=np.float64) / D)   # w_i = theta^(-2i/D)
    ang = positions.astype(np.float64)[:, None] * inv_freq[None, :]      # [T, half]
    c = np.cos(ang)[:, None, :]
    s = np.sin(ang)[:, None, :]
    x1, x2 = x[..., :half], x[..., half:]
    return np.concatenate([x1 * c - x2 * s, x2 * c + x1 * s], axis=-1)


def gated_mlp(x, wg, wu, wd, act):
    return (_ACT[act](x @ wg.T) * (x @ wu.T)) @ wd.T


@dataclass
class Cache:
    """Post-RoPE keys/values per layer ([S, Hkv, hd]) and the token ids they belong to."""
    k: list
    v: list
    ids: np.ndarray

    @staticmethod
    def empty(spec: Spec) -> "Cache":
        z = np.zeros((0, spec.n_kv_heads, spec.head_dim))
        return Cache(k=[z] * spec.n_layers, v=[z] * spec.n_layers,
                     ids=np.zeros((0,), dtype=np.int64))


def _attention(s: Spec, w, layer, a, positions, ids_all, cache, stats):
    T = a.shape[0]
    L = f"L{layer}."
    q = (a @ w[L + "q"].T).reshape(T, s.n_heads, s.head_dim)
    k = (a @ w[L + "k"].T).reshape(T, s.n_kv_heads, s.head_dim)
    v = (a @ w[L + "v"].T).reshape(T, s.n_kv_heads, s.head_dim)
    q = rope(q, positions, s.rope_theta)
    k = rope(k, positions, s.rope_theta)
    K = np.concatenate([cache.k[layer], k], axis=0)
    V = np.concatenate([cache.v[layer], v], axis=0)
    cache.k[layer], cache.v[layer] = K, V
    S = K.shape[0]
    key_pos = np.arange(S)
    mask = key_pos[None, :] <= positions[:, None]                       # causal [T, S]
    if s.mask_pad_keys and s.pad_id is not None:
        mask = mask & (ids_all[None, :] != s.pad_id)
    group = s.n_heads // s.n_kv_heads
    out = np.empty((T, s.n_heads, s.head_dim))
    if s.attn_temp_len:
        Lt = s.attn_temp_len
        p = positions.astype(np.float64)
        tau = np.where(p > Lt, np.log2(np.maximum(p, 1.0)) / math.log2(Lt), 1.0)
    for h in range(s.n_heads):
        g = h // group                                                   # GQA: kv head h // group
        logits = (q[:, h, :] @ K[:, g, :].T) * s.attn_scale              # [T, S]
        stats["attn_precap_max"] = max(stats["attn_precap_max"],
                                       float(np.max(np.abs(np.where(mask, logits, 0.0)))))
        logits = softcap(logits, s.attn_softcap)
        if s.attn_temp_len:
            logits = logits * tau[:, None]                               # after the soft-cap
        logits = np.where(mask, logits, -1e30)
        out[:, h, :] = softmax(logits, axis=-1) @ V[:, g, :]
    return out.reshape(T, s.n_heads * s.head_dim) @ w[L + "o"].T


def _moe(s: Spec, w, layer, u, stats):
    L = f"L{layer}."
    r = u @ w[L + "router"].T                                            # [T, E]
    stats["router_precap_max"] = max(stats["router_precap_max"], float(np.max(np.abs(r))))
    z = softcap(r, s.router_softcap)
    p = softmax(z, axis=-1)                                              # over all experts
    order = np.argsort(-p, axis=-1, kind="stable")                       # ties -> lower id
    ids = order[:, :s.top_k]
    gates = np.take_along_axis(p, ids, axis=-1)
    if s.renormalize:
        gates = gates / np.sum(gates, axis=-1, keepdims=True)
    y = np.zeros_like(u)
    for t in range(u.shape[0]):
        for j in range(s.top_k):
            e = int(ids[t, j])
            E = f"{L}E{e}."
            y[t] += gates[t, j] * gated_mlp(u[t:t + 1], w[E + "gate"], w[E + "up"],
                                            w[E + "down"], s.expert_act)[0]
    return y, p, z, ids, gates


def forward(model: Model, ids, cache: Cache | None = None) -> dict:
    """Runs the tokens `ids` after whatever `cache` holds (empty: a full sequence).

    Returns logits [T, V], router_probs [L, T, E], router_logits [L, T, E] (after any soft-cap),
    topk_ids [L, T, K], topk_gates [L, T, K], stats (max |pre-cap| attention / router / final
    logits), and the updated cache.
    """
    s, w = model.spec, model.w
    ids = np.asarray(ids, dtype=np.int64)
    if cache is None:
        cache = Cache.empty(s)
    if ids.min() < 0 or ids.max() >= s.vocab:
        raise ValueError("token id out of range")
    start = cache.ids.shape[0]
    T = ids.shape[0]
    positions = np.arange(start, start + T)
    ids_all = np.concatenate([cache.ids, ids])
    stats = {"attn_precap_max": 0.0, "router_precap_max": 0.0, "final_precap_max": 0.0}
    h = w["embed"][ids] * s.emb_mult
    probs, zs, tk, gs = [], [], [], []
    for i in range(s.n_layers):
        L = f"L{i}."
        a = rms_norm(h, w[L + "pre_attn_norm"], s.eps)
        att = _attention(s, w, i, a, positions, ids_all, cache, stats)
        if s.post_norms:
            att = rms_norm(att, w[L + "post_attn_norm"], s.eps)
        h = h + att
        u = rms_norm(h, w[L + "pre_moe_norm"], s.eps)
        moe, p, z, topi, gate = _moe(s, w, i, u, stats)
        if s.shared_width:
            mlp = gated_mlp(u, w[L + "mlp.gate"], w[L + "mlp.up"], w[L + "mlp.down"], s.shared_act)
            f = (mlp + moe) / math.sqrt(2.0)
        else:
            f = moe
        if s.post_norms:
            f = rms_norm(f, w[L + "post_moe_norm"], s.eps)
        h = h + f
        probs.append(p), zs.append(z), tk.append(topi), gs.append(gate)
    y = rms_norm(h, w["final_norm"], s.eps)
    out_w = w["embed"] if s.tied else w["lm_head"]
    logits = (y @ out_w.T) * s.out_mult
    stats["final_precap_max"] = float(np.max(np.abs(logits)))
    logits = softcap(logits, s.final_softcap)
    cache.ids = ids_all
    return {"logits": logits, "router_probs": np.stack(probs), "router_logits": np.stack(zs),
            "topk_ids": np.stack(tk), "topk_gates": np.stack(gs), "stats": stats,
            "cache": cache}


def top2(logits_row):
    order = np.argsort(-logits_row, kind="stable")                       # ties -> lower id
    return int(order[0]), float(logits_row[order[0]] - logits_row[order[1]])


def greedy(model: Model, prompt_ids, n_new: int, use_cache: bool = True) -> dict:
    """Greedy decoding: argmax of the last logits each step (ties -> lower id).

    Returns tokens [n_new], margins [n_new] (top1 - top2 logit), and per generated-token-input
    step outputs (router probabilities of the decode positions, stats).
    """
    prompt = [int(t) for t in prompt_ids]
    tokens, margins, steps = [], [], []
    if use_cache:
        out = forward(model, prompt)
        cache = out["cache"]
    else:
        out = forward(model, prompt)
    steps.append(out)
    for i in range(n_new):
        t, margin = top2(out["logits"][-1])
        tokens.append(t)
        margins.append(margin)
        if i == n_new - 1:
            break
        if use_cache:
            out = forward(model, [t], cache)
        else:
            out = forward(model, prompt + tokens)
        steps.append(out)
    return {"tokens": np.array(tokens, dtype=np.int64), "margins": np.array(margins),
            "steps": steps}


def router_gap(router_probs, k: int) -> np.ndarray:
    """p_(k) - p_(k+1) (k-th minus (k+1)-th largest probability) for every [L, T]."""
    srt = -np.sort(-router_probs, axis=-1)
    return srt[..., k - 1] - srt[..., k]
