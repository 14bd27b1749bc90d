#include "engine/parallel/sharded_model.h"

#include "engine/parallel/layout.h"

namespace moescope::parallel {

ShardedModel::ShardedModel(const ModelConfig& config, std::shared_ptr<const ModelWeights> weights,
                           int tp, int threads_per_rank, int64_t capacity)
    : config_(config) {
  ParallelLayout layout{tp, 1, {}};
  validate_layout(config, layout);
  comms_ = make_cpu_group(tp);
  for (int r = 0; r < tp; ++r) {
    Rank& rank = ranks_.emplace_back();
    rank.shard = shard_weights(config, weights, tp, r);
    rank.model = std::make_unique<Model>(rank.shard.config, rank.shard.weights, threads_per_rank);
    rank.model->set_tensor_parallel(comms_[size_t(r)].get(), rank.shard.vocab_begin,
                                    rank.shard.vocab_end);
    rank.cache = std::make_unique<KvCache>(rank.shard.config, capacity);
  }
}

void ShardedModel::forward(std::span<const int32_t> tokens, float* logits, bool all_logits,
                           trace::Tracer* tracer) {
  const size_t n = size_t((all_logits ? int64_t(tokens.size()) : 1) * config_.vocab_size);
  run_ranks(comms_, [&](Communicator& comm) {
    Rank& rank = ranks_[size_t(comm.rank())];
    float* out = logits;
    if (comm.rank() != 0) {
      rank.logits.resize(n);
      out = rank.logits.data();
    }
    rank.model->forward(tokens, *rank.cache, out, all_logits, comm.rank() == 0 ? tracer : nullptr);
  });
}

}  // namespace moescope::parallel
