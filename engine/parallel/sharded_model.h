// A model split over tensor-parallel ranks on the CPU: one thread per rank, each a Model over its
// shard of the weights (shard_weights.h) with its own KV cache (its KV heads only), joined by the
// in-process communicator. Every rank computes identical logits (all-reduces sum in rank order),
// so the result does not depend on which rank is read; rank 0's are returned. This is the same
// sharding the GPU path runs over NCCL, and how CI tests it without GPUs.
#pragma once

#include <memory>
#include <span>
#include <vector>

#include "engine/model/kv_cache.h"
#include "engine/model/model.h"
#include "engine/parallel/cpu_communicator.h"
#include "engine/parallel/shard_weights.h"

namespace moescope::parallel {

class ShardedModel {
 public:
  // tp ranks of threads_per_rank threads each, with KV caches for capacity positions. Throws
  // moescope::Error for a layout the model cannot take (before anything is allocated).
  ShardedModel(const ModelConfig& config, std::shared_ptr<const ModelWeights> weights, int tp,
               int threads_per_rank, int64_t capacity);

  const ModelConfig& config() const { return config_; }
  int tp() const { return int(ranks_.size()); }
  int64_t length() const { return ranks_[0].cache->length(); }
  const Shard& shard(int rank) const { return ranks_[size_t(rank)].shard; }

  // As Model::forward: tokens at positions length() .. +T-1; logits [T, V] or [1, V]. The tracer
  // (routing, ops) sees rank 0, whose routing every rank shares.
  void forward(std::span<const int32_t> tokens, float* logits, bool all_logits,
               trace::Tracer* tracer = nullptr);

 private:
  struct Rank {
    Shard shard;
    std::unique_ptr<Model> model;
    std::unique_ptr<KvCache> cache;
    std::vector<float> logits;  // ranks > 0: their (identical) copy
  };
  ModelConfig config_;
  std::vector<std::unique_ptr<CpuCommunicator>> comms_;
  std::vector<Rank> ranks_;
};

}  // namespace moescope::parallel
