// The decoder stack: embedding, L x (attention block, MoE block), final norm and output.
// Block order and norms follow grok-architecture.md 2.3 (sandwich norms) or, for Mixtral-style
// configs, plain pre-norm residual blocks.
#include "engine/model/model.h"

#include "engine/parallel/communicator.h"

#include <algorithm>
#include <cmath>

#include "engine/core/error.h"
#include "engine/model/op_costs.h"
#include "engine/weights/cpu_packing.h"
#include "kernels/cpu/activation.h"
#include "kernels/cpu/attention.h"
#include "kernels/cpu/embedding.h"
#include "kernels/cpu/matmul.h"
#include "kernels/cpu/rmsnorm.h"
#include "kernels/cpu/rope.h"
#include "kernels/cpu/router.h"

namespace moescope {

namespace k = kernels;
using trace::OpScope;
using trace::OpSite;

// The op sites of the forward pass: names follow the (name, layer) vocabulary of the trace.
namespace site {
constexpr OpSite embed{"embed", "embed"};
constexpr OpSite attn_norm{"attn.norm", "norm"};
constexpr OpSite attn_qkv{"attn.qkv_proj", "matmul"};
constexpr OpSite attn_rope{"attn.rope", "rope"};
constexpr OpSite attn_core{"attn.softmax_pv", "attention"};
constexpr OpSite attn_o{"attn.o_proj", "matmul"};
constexpr OpSite attn_post{"attn.post_norm_add", "norm"};
constexpr OpSite moe_norm{"moe.norm", "norm"};
constexpr OpSite moe_router{"moe.router", "router"};
constexpr OpSite expert_gate_up{"moe.expert.gate_up_proj", "matmul"};
constexpr OpSite expert_act{"moe.expert.act", "activation"};
constexpr OpSite expert_down{"moe.expert.down_proj", "matmul"};
constexpr OpSite moe_combine{"moe.combine", "elementwise"};
constexpr OpSite shared_gate_up{"mlp.gate_up_proj", "matmul"};
constexpr OpSite shared_act{"mlp.act", "activation"};
constexpr OpSite shared_down{"mlp.down_proj", "matmul"};
constexpr OpSite moe_post{"moe.post_norm_add", "norm"};
constexpr OpSite out_norm{"output.norm", "norm"};
constexpr OpSite out_head{"output.lm_head", "matmul"};
// Collectives of a sharded model (engine/parallel), timed like kernels.
constexpr OpSite comm_all_reduce{"comm.all_reduce", "communication"};
constexpr OpSite comm_all_gather{"comm.all_gather", "communication"};
constexpr OpSite comm_all_to_all{"comm.all_to_all", "communication"};
}  // namespace site

// The cost of a matmul of T rows by w.
static OpCost mm(const kernels::WeightMatrix& w, int64_t t) {
  return matmul_cost(w, t);
}

namespace {

// Elements of the weighted sum into the output that a thread takes at the least (moe.combine):
// fewer, and starting a loop costs more than it saves.
constexpr int64_t kCombineMinElements = 32768;

template <typename T>
T* sized(std::vector<T>& v, int64_t n) {
  if (v.size() < size_t(n)) v.resize(size_t(n));
  return v.data();
}

// residual += branch, or the Grok post-branch norm of the branch added to the residual.
void add_branch(const float* branch, const float* post_norm, float eps, int64_t t, int64_t d,
                float* residual, k::ThreadPool* pool) {
  if (post_norm) {
    k::rmsnorm_add(branch, post_norm, eps, t, d, residual, pool);
  } else {
    for (int64_t i = 0; i < t * d; ++i) residual[i] += branch[i];
  }
}

}  // namespace

Model::Model(const ModelConfig& config, std::shared_ptr<const ModelWeights> weights, int n_threads)
    : config_(config), weights_(pack_for_cpu(std::move(weights))), pool_(n_threads) {}

void Model::forward(std::span<const int32_t> tokens, KvCache& cache, float* logits, bool all_logits,
                    trace::Tracer* tracer) {
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
  embed_tokens(tokens, h, tracer);
  int64_t* pos = sized(ws_.positions, T);
  uint8_t* valid = cache.key_valid();
  for (int64_t t = 0; t < T; ++t) {
    pos[t] = p0 + t;
    valid[p0 + t] = (c.mask_pad_keys && tokens[size_t(t)] == c.pad_id) ? 0 : 1;
  }

  for (int64_t l = 0; l < c.n_layers; ++l) {
    attention_block(l, T, p0, cache, tracer);
    moe_block(l, T, p0, tracer);
  }
  cache.advance(T);
  output(T, all_logits, logits, tracer);
}

void Model::set_tensor_parallel(parallel::Communicator* comm, int64_t vocab_begin,
                                int64_t vocab_end) {
  comm_ = comm;
  vocab_begin_ = vocab_begin;
  vocab_end_ = vocab_end;
}

void Model::set_expert_parallel(parallel::Communicator* comm, std::vector<int> expert_group) {
  ep_comm_ = comm;
  expert_group_ = std::move(expert_group);
}

void Model::all_reduce(float* data, int64_t n, trace::Tracer* tracer, int32_t layer) {
  if (!comm_) return;
  OpScope op(tracer, site::comm_all_reduce, layer, -1, 4 * n, n * (comm_->size() - 1));
  comm_->all_reduce_sum(data, size_t(n));
}

void Model::embed_tokens(std::span<const int32_t> tokens, float* h, trace::Tracer* tracer) {
  const ModelConfig& c = config_;
  const int64_t T = int64_t(tokens.size()), D = c.d_model;
  OpScope op(tracer, site::embed, -1, -1, 4 * T * D * 2, T * D);
  if (!comm_) {
    k::embed(weights_->embed, tokens.data(), T, c.embed_multiplier, h);
    return;
  }
  // Vocabulary-parallel: rows of other ranks' tokens are zero here and arrive by the all-reduce.
  int32_t* local = sized(ws_.local_ids, T);
  for (int64_t t = 0; t < T; ++t) {
    const int32_t id = tokens[size_t(t)];
    local[t] = id >= vocab_begin_ && id < vocab_end_ ? int32_t(id - vocab_begin_) : 0;
  }
  k::embed(weights_->embed, local, T, c.embed_multiplier, h);
  for (int64_t t = 0; t < T; ++t) {
    const int32_t id = tokens[size_t(t)];
    if (id < vocab_begin_ || id >= vocab_end_) std::fill(h + t * D, h + (t + 1) * D, 0.0f);
  }
  all_reduce(h, T * D, tracer, -1);
}

void Model::attention_block(int64_t l, int64_t T, int64_t p0, KvCache& cache,
                            trace::Tracer* tracer) {
  const ModelConfig& c = config_;
  const LayerWeights& w = weights_->layers[size_t(l)];
  const int64_t D = c.d_model, qd = c.n_heads * c.head_dim, kvd = c.n_kv_heads * c.head_dim;
  const int64_t S = p0 + T;
  const int32_t layer = int32_t(l);

  float* x = sized(ws_.x, T * D);
  {
    OpScope op(tracer, site::attn_norm, layer, -1, 4 * (2 * T * D + D), 4 * T * D);
    k::rmsnorm(ws_.h.data(), w.norm_pre_attn, c.rms_eps, T, D, x, &pool_);
  }

  // Keys and values go straight into their cache rows; RoPE is applied in place there.
  float* q = sized(ws_.q, T * qd);
  float* kc = cache.keys(l) + p0 * kvd;
  float* vc = cache.values(l) + p0 * kvd;
  {
    // One loop over the rows of all three (one thread wake-up instead of three).
    const OpCost cost = mm(w.wq, T) + mm(w.wk, T) + mm(w.wv, T);
    OpScope op(tracer, site::attn_qkv, layer, -1, cost.bytes, cost.flops);
    const k::MatmulOutput outs[] = {{&w.wq, q}, {&w.wk, kc}, {&w.wv, vc}};
    k::matmul_shared_x(x, T, outs, &pool_);
  }
  {
    OpCost cost = elementwise_cost(T * (qd + kvd), 1, 1, 6);
    OpScope op(tracer, site::attn_rope, layer, -1, cost.bytes, cost.flops);
    k::rope_neox(q, T, c.n_heads, c.head_dim, ws_.positions.data(), c.rope_theta);
    k::rope_neox(kc, T, c.n_kv_heads, c.head_dim, ws_.positions.data(), c.rope_theta);
  }

  k::AttentionParams ap;
  ap.n_q_heads = c.n_heads;
  ap.n_kv_heads = c.n_kv_heads;
  ap.head_dim = c.head_dim;
  ap.logit_multiplier = c.attn_logit_multiplier;
  ap.softcap = c.attn_softcap;
  ap.temperature_len = c.attn_temperature_len;
  float* probs = nullptr;
  if (tracer && tracer->wants_attention(layer)) probs = sized(ws_.attn_probs, c.n_heads * T * S);

  float* o = sized(ws_.o, T * qd);
  {
    OpCost cost = attention_cost(T, p0, c.n_heads, c.n_kv_heads, c.head_dim);
    OpScope op(tracer, site::attn_core, layer, -1, cost.bytes, cost.flops);
    k::attention(q, cache.keys(l), cache.values(l), cache.key_valid(), T, p0, ap, o, probs, &pool_);
  }
  if (probs) tracer->attention(layer, p0, T, c.n_heads, c.gqa_group(), probs);

  float* branch = sized(ws_.branch, T * D);
  {
    OpCost cost = mm(w.wo, T);
    OpScope op(tracer, site::attn_o, layer, -1, cost.bytes, cost.flops);
    k::matmul(o, T, w.wo, branch, &pool_);
  }
  all_reduce(branch, T * D, tracer, layer);  // tensor parallel: the sum of the ranks' heads
  {
    OpScope op(tracer, site::attn_post, layer, -1, 4 * (3 * T * D + D), 5 * T * D);
    add_branch(branch, w.norm_post_attn, c.rms_eps, T, D, ws_.h.data(), &pool_);
  }
}

void Model::moe_block(int64_t l, int64_t T, int64_t p0, trace::Tracer* tracer) {
  const ModelConfig& c = config_;
  const LayerWeights& w = weights_->layers[size_t(l)];
  const int64_t D = c.d_model, E = c.n_experts, K = c.top_k;
  const int32_t layer = int32_t(l);

  float* x = sized(ws_.x, T * D);
  {
    OpScope op(tracer, site::moe_norm, layer, -1, 4 * (2 * T * D + D), 4 * T * D);
    k::rmsnorm(ws_.h.data(), w.norm_pre_moe, c.rms_eps, T, D, x, &pool_);
  }

  // Router: f32 logits over all experts, (soft-cap,) softmax, top-k.
  float* logits = sized(ws_.router_logits, T * E);
  float* probs = sized(ws_.probs, T * E);
  float* gates = sized(ws_.gates, T * K);
  int32_t* ids = sized(ws_.ids, T * K);
  {
    OpCost cost = mm(w.router, T);
    OpScope op(tracer, site::moe_router, layer, -1, cost.bytes, cost.flops + 8 * T * E);
    k::matmul(x, T, w.router, logits, &pool_);
    k::RouterParams rp;
    rp.n_experts = E;
    rp.top_k = K;
    rp.softcap = c.router_softcap;
    rp.renormalize = c.renormalize_topk;
    k::route(logits, T, rp, probs, ids, gates);
  }
  if (tracer && tracer->on(trace::kRouting)) {
    trace::RoutingBlock b;
    b.step = tracer->step();
    b.layer = layer;
    b.p0 = p0;
    b.t = int32_t(T);
    b.n_experts = int32_t(E);
    b.top_k = int32_t(K);
    b.probs = probs;
    b.ids = ids;
    b.gates = gates;
    b.logits = logits;
    tracer->routing(b);
  }

  // Experts: gather each expert's tokens into one batch so its weights are read once per call.
  float* out = sized(ws_.moe_out, T * D);
  std::fill(out, out + T * D, 0.0f);
  if (ep_comm_) {
    experts_expert_parallel(l, T, x, ids, gates, out, tracer);
  } else {
    // Each active expert's batch in a lane of its own: rows i = t * K + slot.
    if (ws_.lanes.size() < size_t(E)) ws_.lanes.resize(size_t(E));
    int64_t active = 0;
    for (int64_t e = 0; e < E; ++e) {
      ExpertLane& lane = ws_.lanes[size_t(active)];
      lane.rows.clear();
      for (int64_t i = 0; i < T * K; ++i)
        if (ids[i] == e) lane.rows.push_back(i);
      if (lane.rows.empty()) continue;
      const int64_t n = int64_t(lane.rows.size());
      lane.expert = e;
      float* in = sized(lane.in, n * D);
      for (int64_t r = 0; r < n; ++r)
        std::copy_n(x + (lane.rows[size_t(r)] / K) * D, D, in + r * D);
      ++active;
    }
    auto run = [&](ExpertLane& lane, bool inline_lane) {
      expert_ffn(l, lane.expert, lane.in.data(), int64_t(lane.rows.size()), tracer, lane,
                 inline_lane);
    };
    // Decode and short prompts: the experts run side by side, each whole FFN inline on one
    // thread: one loop per layer instead of two per expert (starting and joining a loop costs
    // about what a decode-sized expert matmul takes), and the same arithmetic (a matmul's result
    // does not depend on how many threads share it). Their op events are sent from here, after.
    const bool side_by_side = pool_.size() > 1 && active > 1 && T * K <= kSideBySideMaxRows;
    if (side_by_side) {
      pool_.parallel_for(active, [&](int64_t a0, int64_t a1) {
        for (int64_t a = a0; a < a1; ++a) {
          ws_.lanes[size_t(a)].ops.clear();
          run(ws_.lanes[size_t(a)], true);
        }
      });
    }
    for (int64_t a = 0; a < active; ++a) {
      ExpertLane& lane = ws_.lanes[size_t(a)];
      if (side_by_side) {
        for (const trace::OpEvent& e : lane.ops) tracer->op(e);
      } else {
        run(lane, false);
      }
      const int64_t n = int64_t(lane.rows.size());
      OpScope op(tracer, site::moe_combine, layer, int32_t(lane.expert), 4 * 3 * n * D, 2 * n * D);
      // A lane holds each token once, so its rows write distinct output rows: shared out when
      // there are enough of them (prefill).
      pool_.parallel_for(
          n,
          [&](int64_t r0, int64_t r1) {
            for (int64_t r = r0; r < r1; ++r) {
              const int64_t i = lane.rows[size_t(r)];
              const float gate = gates[i];
              float* dst = out + (i / K) * D;
              const float* src = lane.in.data() + r * D;
              for (int64_t d = 0; d < D; ++d) dst[d] += gate * src[d];
            }
          },
          std::max<int64_t>(1, kCombineMinElements / D));
    }
  }

  // Grok-2: the shared MLP sees the same normed input; (mlp + moe) / sqrt(2) before the post norm.
  if (c.shared_ffn > 0) {
    const int64_t Fs = c.shared_ffn;
    float* g = sized(ws_.moe_gate, T * Fs);
    float* u = sized(ws_.moe_up, T * Fs);
    {
      const OpCost cost = mm(w.shared_gate, T) + mm(w.shared_up, T);
      OpScope op(tracer, site::shared_gate_up, layer, -1, cost.bytes, cost.flops);
      const k::MatmulOutput outs[] = {{&w.shared_gate, g}, {&w.shared_up, u}};
      k::matmul_shared_x(x, T, outs, &pool_);
    }
    {
      OpCost cost = elementwise_cost(T * Fs, 2, 1, 10);
      OpScope op(tracer, site::shared_act, layer, -1, cost.bytes, cost.flops);
      k::gated_activation(g, u, T * Fs, c.shared_act, g, &pool_);
    }
    float* mlp = sized(ws_.shared, T * D);
    {
      OpCost cost = mm(w.shared_down, T);
      OpScope op(tracer, site::shared_down, layer, -1, cost.bytes, cost.flops);
      k::matmul(g, T, w.shared_down, mlp, &pool_);
    }
    constexpr float kInvSqrt2 = 0.70710678118654752f;
    for (int64_t i = 0; i < T * D; ++i) out[i] = (out[i] + mlp[i]) * kInvSqrt2;
  }
  all_reduce(out, T * D, tracer, layer);  // tensor parallel: the sum of the ranks' FFN columns
  OpScope op(tracer, site::moe_post, layer, -1, 4 * (3 * T * D + D), 5 * T * D);
  add_branch(out, w.norm_post_moe, c.rms_eps, T, D, ws_.h.data(), &pool_);
}

void Model::expert_ffn(int64_t l, int64_t e, float* in, int64_t n, trace::Tracer* tracer,
                       ExpertLane& lane, bool inline_lane) {
  const ModelConfig& c = config_;
  const int64_t F = c.expert_ffn;
  const int32_t layer = int32_t(l), expert = int32_t(e);
  const ExpertWeights& xw = weights_->layers[size_t(l)].experts[size_t(e)];
  float* g = sized(lane.gate, n * F);
  float* u = sized(lane.up, n * F);
  k::ThreadPool* pool = inline_lane ? nullptr : &pool_;
  std::vector<trace::OpEvent>* deferred = inline_lane ? &lane.ops : nullptr;
  const int32_t stream = inline_lane ? int32_t(k::ThreadPool::current_thread()) : 0;
  {
    const OpCost cost = mm(xw.gate, n) + mm(xw.up, n);
    OpScope op(tracer, site::expert_gate_up, layer, expert, cost.bytes, cost.flops, deferred,
               stream);
    const k::MatmulOutput outs[] = {{&xw.gate, g}, {&xw.up, u}};
    k::matmul_shared_x(in, n, outs, pool);
  }
  {
    OpCost cost = elementwise_cost(n * F, 2, 1, 10);
    OpScope op(tracer, site::expert_act, layer, expert, cost.bytes, cost.flops, deferred, stream);
    k::gated_activation(g, u, n * F, c.expert_act, g, pool);
  }
  OpCost cost = mm(xw.down, n);
  OpScope op(tracer, site::expert_down, layer, expert, cost.bytes, cost.flops, deferred, stream);
  k::matmul(g, n, xw.down, in, pool);  // the input batch is no longer needed
}

// Expert parallelism: rank r owns the tokens t with t % ep == r for dispatch, sends each owned
// (token, choice) row to the rank holding its expert (all-to-all), that rank runs its experts
// and returns the gate-weighted rows (all-to-all back), and the owner sums them. The routing is
// replicated, so every rank knows every count and row order without sending them. Rows of
// tokens a rank does not own stay zero; one all-reduce gives every rank the whole output.
void Model::experts_expert_parallel(int64_t l, int64_t T, const float* x, const int32_t* ids,
                                    const float* gates, float* out, trace::Tracer* tracer) {
  const int64_t D = config_.d_model, K = config_.top_k;
  const int ep = ep_comm_->size(), me = ep_comm_->rank();
  auto group_of = [&](int64_t i) { return expert_group_[size_t(ids[i])]; };  // i = t * K + k

  // Send order: by destination, then token, then choice. Receive order: by source, then token,
  // then choice, over the pairs whose expert this rank holds.
  std::vector<size_t> send_counts(size_t(ep), 0), recv_counts(size_t(ep), 0);
  std::vector<int64_t>& send_pairs = ws_.ep_send_pairs;
  std::vector<int64_t>& recv_pairs = ws_.ep_recv_pairs;
  send_pairs.clear();
  recv_pairs.clear();
  for (int d = 0; d < ep; ++d)
    for (int64_t t = me; t < T; t += ep)
      for (int64_t k = 0; k < K; ++k)
        if (group_of(t * K + k) == d) {
          send_pairs.push_back(t * K + k);
          send_counts[size_t(d)] += size_t(D);
        }
  for (int s = 0; s < ep; ++s)
    for (int64_t t = s; t < T; t += ep)
      for (int64_t k = 0; k < K; ++k)
        if (group_of(t * K + k) == me) {
          recv_pairs.push_back(t * K + k);
          recv_counts[size_t(s)] += size_t(D);
        }
  const int64_t n_send = int64_t(send_pairs.size()), n_recv = int64_t(recv_pairs.size());
  float* send = sized(ws_.ep_send, n_send * D);
  for (int64_t r = 0; r < n_send; ++r)
    std::copy_n(x + (send_pairs[size_t(r)] / K) * D, D, send + r * D);
  float* recv = sized(ws_.ep_recv, n_recv * D);
  {
    OpScope op(tracer, site::comm_all_to_all, int32_t(l), -1, 4 * (n_send + n_recv) * D, 0);
    ep_comm_->all_to_all(send, send_counts, recv, recv_counts);
  }

  // This rank's experts over the rows it received, each expert's rows as one batch.
  int64_t* rows = sized(ws_.expert_rows, std::max<int64_t>(n_recv, 1));
  for (int64_t e = 0; e < config_.n_experts; ++e) {
    if (expert_group_[size_t(e)] != me) continue;
    int64_t n = 0;
    for (int64_t r = 0; r < n_recv; ++r)
      if (ids[recv_pairs[size_t(r)]] == e) rows[n++] = r;
    if (n == 0) continue;
    float* in = sized(ws_.moe_in, n * D);
    for (int64_t r = 0; r < n; ++r) std::copy_n(recv + rows[r] * D, D, in + r * D);
    if (ws_.lanes.empty()) ws_.lanes.resize(1);  // for its FFN scratch
    expert_ffn(l, e, in, n, tracer, ws_.lanes[0]);
    for (int64_t r = 0; r < n; ++r) {
      const float gate = gates[recv_pairs[size_t(rows[r])]];
      float* dst = recv + rows[r] * D;  // the result goes back where its input came from
      for (int64_t d = 0; d < D; ++d) dst[d] = gate * in[r * D + d];
    }
  }
  {
    OpScope op(tracer, site::comm_all_to_all, int32_t(l), -1, 4 * (n_send + n_recv) * D, 0);
    ep_comm_->all_to_all(recv, recv_counts, send, send_counts);
  }
  for (int64_t r = 0; r < n_send; ++r) {
    float* dst = out + (send_pairs[size_t(r)] / K) * D;
    for (int64_t d = 0; d < D; ++d) dst[d] += send[r * D + d];
  }
  OpScope op(tracer, site::comm_all_reduce, int32_t(l), -1, 4 * T * D, T * D * (ep - 1));
  ep_comm_->all_reduce_sum(out, size_t(T * D));
}

void Model::output(int64_t T, bool all_logits, float* logits, trace::Tracer* tracer) {
  const ModelConfig& c = config_;
  const int64_t D = c.d_model, V = c.vocab_size;
  const int64_t rows = all_logits ? T : 1;
  const float* h = ws_.h.data() + (T - rows) * D;
  float* y = sized(ws_.x, rows * D);
  {
    OpScope op(tracer, site::out_norm, -1, -1, 4 * (2 * rows * D + D), 4 * rows * D);
    k::rmsnorm(h, weights_->final_norm, c.rms_eps, rows, D, y, &pool_);
  }
  OpCost cost = mm(weights_->lm_head, rows);
  OpScope op(tracer, site::out_head, -1, -1, cost.bytes, cost.flops + 2 * rows * V);
  if (!comm_) {
    k::matmul(y, rows, weights_->lm_head, logits, &pool_);
  } else {
    // Vocabulary-parallel: each rank computes its rows (padded to the same count), then every
    // rank gathers them all: [tp, rows, Vr] -> [rows, V].
    const int64_t tp = comm_->size(), vr = (V + tp - 1) / tp, mine = vocab_end_ - vocab_begin_;
    float* local = sized(ws_.local_logits, rows * vr);
    std::fill(local, local + rows * vr, 0.0f);
    float* part = sized(ws_.gathered_logits, rows * mine);  // reused below after the gather
    k::matmul(y, rows, weights_->lm_head, part, &pool_);
    for (int64_t r = 0; r < rows; ++r) std::copy_n(part + r * mine, mine, local + r * vr);
    float* all = sized(ws_.gathered_logits, tp * rows * vr);
    {
      OpScope gather(tracer, site::comm_all_gather, -1, -1, 4 * tp * rows * vr, 0);
      comm_->all_gather(local, all, size_t(rows * vr));
    }
    for (int64_t r = 0; r < rows; ++r)
      for (int64_t q = 0; q < tp; ++q) {
        const int64_t v0 = q * vr, n = std::min(vr, V - v0);
        if (n > 0) std::copy_n(all + (q * rows + r) * vr, n, logits + r * V + v0);
      }
  }
  const float mult = c.output_multiplier, cap = c.final_logit_softcap;
  for (int64_t i = 0; i < rows * V; ++i) {
    float v = logits[i] * mult;
    logits[i] = cap > 0 ? cap * std::tanh(v / cap) : v;
  }
}

}  // namespace moescope
