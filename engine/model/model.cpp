// The decoder stack: embedding, L x (attention block, MoE block), final norm and output.
// Block order and norms follow grok-architecture.md 2.3 (sandwich norms) or, for Mixtral-style
// configs, plain pre-norm residual blocks.
#include "engine/model/model.h"

#include <cmath>

#include "engine/core/error.h"
#include "kernels/cpu/activation.h"
#include "kernels/cpu/attention.h"
#include "kernels/cpu/embedding.h"
#include "kernels/cpu/matmul.h"
#include "kernels/cpu/rmsnorm.h"
#include "kernels/cpu/rope.h"
#include "kernels/cpu/router.h"

namespace moescope {

namespace k = kernels;

namespace {

template <typename T>
T* sized(std::vector<T>& v, int64_t n) {
  if (v.size() < size_t(n)) v.resize(size_t(n));
  return v.data();
}

// residual += branch, or the Grok post-branch norm of the branch added to the residual.
void add_branch(const float* branch, const float* post_norm, float eps, int64_t t, int64_t d,
                float* residual) {
  if (post_norm) {
    k::rmsnorm_add(branch, post_norm, eps, t, d, residual);
  } else {
    for (int64_t i = 0; i < t * d; ++i) residual[i] += branch[i];
  }
}

}  // namespace

Model::Model(const ModelConfig& config, std::shared_ptr<const ModelWeights> weights, int n_threads)
    : config_(config), weights_(std::move(weights)), pool_(n_threads) {}

void Model::forward(std::span<const int32_t> tokens, KvCache& cache, float* logits, bool all_logits,
                    ForwardProbe* probe) {
  const ModelConfig& c = config_;
  const int64_t T = int64_t(tokens.size()), D = c.d_model, p0 = cache.length();
  if (T == 0) fail("forward: no tokens to process");
  if (p0 + T > cache.capacity())
    fail("context full: ", p0, " positions in use plus ", T, " new tokens exceed the ",
         cache.capacity(), " reserved (model context ", c.max_seq_len,
         ", max_position_embeddings in config.json)");
  for (int64_t t = 0; t < T; ++t) {
    if (tokens[size_t(t)] < 0 || tokens[size_t(t)] >= c.vocab_size)
      fail("token id ", tokens[size_t(t)], " at position ", p0 + t,
           " is outside the model's vocabulary of ", c.vocab_size);
  }

  float* h = sized(ws_.h, T * D);
  k::embed(weights_->embed, tokens.data(), T, c.embed_multiplier, h);
  int64_t* pos = sized(ws_.positions, T);
  uint8_t* valid = cache.key_valid();
  for (int64_t t = 0; t < T; ++t) {
    pos[t] = p0 + t;
    valid[p0 + t] = (c.mask_pad_keys && tokens[size_t(t)] == c.pad_id) ? 0 : 1;
  }

  for (int64_t l = 0; l < c.n_layers; ++l) {
    attention_block(l, T, p0, cache, probe);
    moe_block(l, T, p0, probe);
  }
  cache.advance(T);
  output(T, all_logits, logits);
}

void Model::attention_block(int64_t l, int64_t T, int64_t p0, KvCache& cache, ForwardProbe* probe) {
  const ModelConfig& c = config_;
  const LayerWeights& w = weights_->layers[size_t(l)];
  const int64_t D = c.d_model, qd = c.n_heads * c.head_dim, kvd = c.n_kv_heads * c.head_dim;
  const int64_t S = p0 + T;

  float* x = sized(ws_.x, T * D);
  k::rmsnorm(ws_.h.data(), w.norm_pre_attn, c.rms_eps, T, D, x);

  // Keys and values go straight into their cache rows; RoPE is applied in place there.
  float* q = sized(ws_.q, T * qd);
  float* kc = cache.keys(l) + p0 * kvd;
  float* vc = cache.values(l) + p0 * kvd;
  k::matmul(x, T, w.wq, q, &pool_);
  k::matmul(x, T, w.wk, kc, &pool_);
  k::matmul(x, T, w.wv, vc, &pool_);
  k::rope_neox(q, T, c.n_heads, c.head_dim, ws_.positions.data(), c.rope_theta);
  k::rope_neox(kc, T, c.n_kv_heads, c.head_dim, ws_.positions.data(), c.rope_theta);

  k::AttentionParams ap;
  ap.n_q_heads = c.n_heads;
  ap.n_kv_heads = c.n_kv_heads;
  ap.head_dim = c.head_dim;
  ap.logit_multiplier = c.attn_logit_multiplier;
  ap.softcap = c.attn_softcap;
  ap.temperature_len = c.attn_temperature_len;
  float* probs = nullptr;
  if (probe && probe->wants_attention(l, p0, T)) probs = sized(ws_.attn_probs, c.n_heads * T * S);

  float* o = sized(ws_.o, T * qd);
  k::attention(q, cache.keys(l), cache.values(l), cache.key_valid(), T, p0, ap, o, probs, &pool_);
  if (probs) probe->on_attention(l, p0, T, c.n_heads, probs);

  float* branch = sized(ws_.branch, T * D);
  k::matmul(o, T, w.wo, branch, &pool_);
  add_branch(branch, w.norm_post_attn, c.rms_eps, T, D, ws_.h.data());
}

void Model::moe_block(int64_t l, int64_t T, int64_t p0, ForwardProbe* probe) {
  const ModelConfig& c = config_;
  const LayerWeights& w = weights_->layers[size_t(l)];
  const int64_t D = c.d_model, E = c.n_experts, K = c.top_k, F = c.expert_ffn;

  float* x = sized(ws_.x, T * D);
  k::rmsnorm(ws_.h.data(), w.norm_pre_moe, c.rms_eps, T, D, x);

  // Router: f32 logits over all experts, (soft-cap,) softmax, top-k.
  float* logits = sized(ws_.router_logits, T * E);
  float* probs = sized(ws_.probs, T * E);
  float* gates = sized(ws_.gates, T * K);
  int32_t* ids = sized(ws_.ids, T * K);
  k::matmul(x, T, w.router, logits, &pool_);
  k::RouterParams rp;
  rp.n_experts = E;
  rp.top_k = K;
  rp.softcap = c.router_softcap;
  rp.renormalize = c.renormalize_topk;
  k::route(logits, T, rp, probs, ids, gates);
  if (probe) probe->on_routing(l, p0, T, E, K, probs, ids, gates);

  // Experts: gather each expert's tokens into one batch so its weights are read once per call.
  float* out = sized(ws_.moe_out, T * D);
  std::fill(out, out + T * D, 0.0f);
  int64_t* rows = sized(ws_.expert_rows, T * K);
  for (int64_t e = 0; e < E; ++e) {
    int64_t n = 0;
    for (int64_t i = 0; i < T * K; ++i)
      if (ids[i] == e) rows[n++] = i;  // i = t * K + slot
    if (n == 0) continue;
    float* in = sized(ws_.moe_in, n * D);
    for (int64_t r = 0; r < n; ++r) std::copy_n(x + (rows[r] / K) * D, D, in + r * D);
    float* g = sized(ws_.moe_gate, n * F);
    float* u = sized(ws_.moe_up, n * F);
    const ExpertWeights& xw = w.experts[size_t(e)];
    k::matmul(in, n, xw.gate, g, &pool_);
    k::matmul(in, n, xw.up, u, &pool_);
    k::gated_activation(g, u, n * F, c.expert_act, g);
    float* y = in;  // the input batch is no longer needed: reuse it for the expert output
    k::matmul(g, n, xw.down, y, &pool_);
    for (int64_t r = 0; r < n; ++r) {
      const float gate = gates[rows[r]];
      float* dst = out + (rows[r] / K) * D;
      const float* src = y + r * D;
      for (int64_t d = 0; d < D; ++d) dst[d] += gate * src[d];
    }
  }

  // Grok-2: the shared MLP sees the same normed input; (mlp + moe) / sqrt(2) before the post norm.
  if (c.shared_ffn > 0) {
    const int64_t Fs = c.shared_ffn;
    float* g = sized(ws_.moe_gate, T * Fs);
    float* u = sized(ws_.moe_up, T * Fs);
    k::matmul(x, T, w.shared_gate, g, &pool_);
    k::matmul(x, T, w.shared_up, u, &pool_);
    k::gated_activation(g, u, T * Fs, c.shared_act, g);
    float* mlp = sized(ws_.shared, T * D);
    k::matmul(g, T, w.shared_down, mlp, &pool_);
    constexpr float kInvSqrt2 = 0.70710678118654752f;
    for (int64_t i = 0; i < T * D; ++i) out[i] = (out[i] + mlp[i]) * kInvSqrt2;
  }
  add_branch(out, w.norm_post_moe, c.rms_eps, T, D, ws_.h.data());
}

void Model::output(int64_t T, bool all_logits, float* logits) {
  const ModelConfig& c = config_;
  const int64_t D = c.d_model, V = c.vocab_size;
  const int64_t rows = all_logits ? T : 1;
  const float* h = ws_.h.data() + (T - rows) * D;
  float* y = sized(ws_.x, rows * D);
  k::rmsnorm(h, weights_->final_norm, c.rms_eps, rows, D, y);
  k::matmul(y, rows, weights_->lm_head, logits, &pool_);
  const float mult = c.output_multiplier, cap = c.final_logit_softcap;
  for (int64_t i = 0; i < rows * V; ++i) {
    float v = logits[i] * mult;
    logits[i] = cap > 0 ? cap * std::tanh(v / cap) : v;
  }
}

}  // namespace moescope
