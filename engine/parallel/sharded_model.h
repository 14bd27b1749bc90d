// A model split over ranks on the CPU: tensor parallelism (tp) composed with expert parallelism
// (ep), one thread per rank (rank = ep_rank * tp + tp_rank), each a Model over its shard of the
// weights (shard_weights.h) with its own KV cache (its KV heads only). The tp ranks of an expert
// group all-reduce their partial sums over one in-process communicator; the ranks of the same
// tp position across expert groups exchange routed tokens by all-to-all over another. Every
// rank ends with identical logits (sums run in rank order), so rank 0's are returned. This is the
// sharding the GPU path runs over NCCL, and how CI tests it without GPUs.
#pragma once

#include <memory>
#include <span>
#include <vector>

#include "engine/model/kv_cache.h"
#include "engine/model/model.h"
#include "engine/parallel/cpu_communicator.h"
#include "engine/parallel/layout.h"
#include "engine/parallel/shard_weights.h"
#include "engine/session/decoder.h"

namespace moescope::parallel {

class ShardedModel final : public Decoder {
 public:
  // layout.world() ranks of threads_per_rank threads each, with KV caches for capacity
  // positions. Throws moescope::Error for a layout the model cannot take, before any shard is
  // made.
  ShardedModel(const ModelConfig& config, std::shared_ptr<const ModelWeights> weights,
               ParallelLayout layout, int threads_per_rank, int64_t capacity);

  const ModelConfig& config() const override { return config_; }
  const ParallelLayout& layout() const { return layout_; }
  int64_t length() const override { return ranks_[0].cache->length(); }
  int64_t capacity() const override { return ranks_[0].cache->capacity(); }
  int threads() const override;
  // {"tp", "ep", "world_size", "expert_placement", "devices"} for the run record.
  std::string layout_json() const override;
  const Shard& shard(int rank) const { return ranks_[size_t(rank)].shard; }

  // As Model::forward: tokens at positions length() .. +T-1; logits [T, V] or [1, V]. The tracer
  // gets rank 0's routing (every rank shares it) and attention maps (its heads), and every
  // rank's ops, each rank on its own device (rank r = device r of the layout's devices).
  void forward(std::span<const int32_t> tokens, float* logits, bool all_logits,
               trace::Tracer* tracer = nullptr) override;

 private:
  struct Rank {
    Shard shard;
    std::unique_ptr<Model> model;
    std::unique_ptr<KvCache> cache;
    std::vector<float> logits;  // ranks > 0: their (identical) copy
  };
  ModelConfig config_;
  ParallelLayout layout_;
  std::vector<std::vector<std::unique_ptr<CpuCommunicator>>> tp_groups_;  // [ep][tp]
  std::vector<std::vector<std::unique_ptr<CpuCommunicator>>> ep_groups_;  // [tp][ep]
  std::vector<Rank> ranks_;
  std::vector<std::unique_ptr<trace::Tracer>> rank_tracers_;  // [world]; ops of ranks 1..
};

}  // namespace moescope::parallel
