// The forward pass of the Grok family on the CPU (grok-architecture.md sections 2 and 3), in f32,
// with switches from ModelConfig for Grok-2 and Mixtral-style relatives.
//
// Shape legend: T tokens in this call, p0 first position, S = p0 + T keys, V vocab, D d_model,
// Hq/Hkv heads, Dh head dim, E experts, K top-k, F expert FFN, Fs shared-MLP width.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <vector>

#include "engine/config/model_config.h"
#include "engine/model/kv_cache.h"
#include "engine/trace/tracer.h"
#include "engine/weights/model_weights.h"
#include "kernels/cpu/thread_pool.h"

namespace moescope {

namespace parallel {
class Communicator;
}

class Model {
 public:
  // Works from weights packed for the CPU kernels (cpu_packing.h): a packed copy unless weights
  // already are.
  Model(const ModelConfig& config, std::shared_ptr<const ModelWeights> weights, int n_threads);

  const ModelConfig& config() const { return config_; }
  const ModelWeights& weights() const { return *weights_; }
  kernels::ThreadPool& pool() { return pool_; }
  int n_threads() const { return pool_.size(); }

  // Runs tokens[T] at positions cache.length() .. +T-1 and appends their keys and values to the
  // cache. logits receives [T, V] when all_logits, else [1, V] for the last token. With a
  // tracer, routing, attention maps and op timings are reported as its capture settings ask
  // (the caller sets the tracer's step). Throws moescope::Error for ids outside the vocabulary
  // or when the cache has no room.
  void forward(std::span<const int32_t> tokens, KvCache& cache, float* logits, bool all_logits,
               trace::Tracer* tracer = nullptr);

  // Makes this model one tensor-parallel rank (engine/parallel/sharded_model.h): its config and
  // weights are a shard (parallel::shard_weights), the partial sums of the row-parallel
  // projections (o-proj, expert and shared-MLP down) are all-reduced over comm, and the
  // embedding and output projection cover vocabulary rows [vocab_begin, vocab_end) only; the
  // logits are gathered whole on every rank. comm must outlive the model's forward calls.
  void set_tensor_parallel(parallel::Communicator* comm, int64_t vocab_begin, int64_t vocab_end);
  // Makes this model one expert-parallel rank: it runs only the experts e with
  // expert_group[e] == comm->rank(); routed tokens reach them and come back by all-to-all, and
  // every rank ends with the whole MoE output. Composes with set_tensor_parallel (comm then
  // joins the ranks of the same tensor-parallel position across expert groups).
  void set_expert_parallel(parallel::Communicator* comm, std::vector<int> expert_group);

 private:
  // Scratch of one forward call, grown on demand and reused.
  // One expert's batch: its rows (t * K + slot), inputs [n, D] (then outputs), FFN scratch
  // [n, F], and the op events its thread timed when it ran side by side with others.
  struct ExpertLane {
    int64_t expert = 0;
    std::vector<int64_t> rows;
    std::vector<float> in, gate, up;
    std::vector<trace::OpEvent> ops;
  };
  // Rows (tokens x top-k) up to which the active experts run side by side, one per thread.
  static constexpr int64_t kSideBySideMaxRows = 32;

  struct Workspace {
    std::vector<float> h, x, q, k, v, o, branch;     // residual [T, D], normed [T, D], q/k/v, ...
    std::vector<float> router_logits, probs, gates;  // [T, E], [T, E], [T, K]
    std::vector<int32_t> ids;                        // [T, K]
    std::vector<float> moe_in, moe_gate, moe_up, moe_out, shared;  // expert batches
    std::vector<ExpertLane> lanes;                                 // [E] the active experts'
    std::vector<int64_t> positions, expert_rows;
    std::vector<float> attn_probs;                      // [Hq, T, S] when the tracer wants them
    std::vector<float> local_logits, gathered_logits;   // tensor parallel: [T, Vr], [tp, T, Vr]
    std::vector<int32_t> local_ids;                     // tensor parallel: ids in the rank's rows
    std::vector<float> ep_send, ep_recv;                // expert parallel: dispatched rows [n, D]
    std::vector<int64_t> ep_send_pairs, ep_recv_pairs;  // their (token * K + choice)
  };

  void embed_tokens(std::span<const int32_t> tokens, float* h, trace::Tracer* tracer);
  // Tensor parallel: sums data[n] over the ranks (timed as a comm op); nothing when whole.
  void all_reduce(float* data, int64_t n, trace::Tracer* tracer, int32_t layer);
  // One expert over n rows of in [n, D]; the result replaces them. Scratch from lane; with
  // inline_lane, on the calling thread alone (a pool worker), its op events kept in lane.ops.
  void expert_ffn(int64_t layer, int64_t expert, float* in, int64_t n, trace::Tracer* tracer,
                  ExpertLane& lane, bool inline_lane = false);
  void experts_expert_parallel(int64_t layer, int64_t t, const float* x, const int32_t* ids,
                               const float* gates, float* out, trace::Tracer* tracer);

  void attention_block(int64_t layer, int64_t t, int64_t p0, KvCache& cache, trace::Tracer* tracer);
  void moe_block(int64_t layer, int64_t t, int64_t p0, trace::Tracer* tracer);
  void output(int64_t t, bool all_logits, float* logits, trace::Tracer* tracer);

  ModelConfig config_;
  std::shared_ptr<const ModelWeights> weights_;
  kernels::ThreadPool pool_;
  Workspace ws_;
  parallel::Communicator* comm_ = nullptr;  // tensor parallel; null when whole
  int64_t vocab_begin_ = 0, vocab_end_ = 0;
  parallel::Communicator* ep_comm_ = nullptr;  // expert parallel; null when whole
  std::vector<int> expert_group_;              // [E] the expert group holding each expert
};

}  // namespace moescope
