#include "engine/parallel/sharded_model.h"

#include <nlohmann/json.hpp>

namespace moescope::parallel {

ShardedModel::ShardedModel(const ModelConfig& config, std::shared_ptr<const ModelWeights> weights,
                           ParallelLayout layout, int threads_per_rank, int64_t capacity)
    : config_(config), layout_(std::move(layout)) {
  validate_layout(config, layout_);
  const int tp = layout_.tp, ep = layout_.ep;
  for (int e = 0; e < ep; ++e) tp_groups_.push_back(make_cpu_group(tp));
  for (int t = 0; t < tp; ++t) ep_groups_.push_back(make_cpu_group(ep));
  for (int r = 0; r < layout_.world(); ++r) {
    const int e = r / tp, t = r % tp;
    Rank& rank = ranks_.emplace_back();
    rank.shard = shard_weights(config, weights, tp, t, ep > 1 ? &layout_.expert_group : nullptr, e);
    rank.model = std::make_unique<Model>(rank.shard.config, rank.shard.weights, threads_per_rank);
    if (tp > 1)
      rank.model->set_tensor_parallel(tp_groups_[size_t(e)][size_t(t)].get(),
                                      rank.shard.vocab_begin, rank.shard.vocab_end);
    if (ep > 1)
      rank.model->set_expert_parallel(ep_groups_[size_t(t)][size_t(e)].get(), layout_.expert_group);
    rank.cache = std::make_unique<KvCache>(rank.shard.config, capacity);
  }
}

int ShardedModel::threads() const {
  return int(ranks_.size()) * ranks_[0].model->n_threads();
}

std::string ShardedModel::layout_json() const {
  nlohmann::json devices = nlohmann::json::array();
  for (int r = 0; r < layout_.world(); ++r) devices.push_back("cpu rank " + std::to_string(r));
  return nlohmann::json{{"tp", layout_.tp},
                        {"ep", layout_.ep},
                        {"world_size", layout_.world()},
                        {"expert_placement", layout_.expert_group},
                        {"communicator", "cpu"},
                        {"devices", devices}}
      .dump();
}

void ShardedModel::forward(std::span<const int32_t> tokens, float* logits, bool all_logits,
                           trace::Tracer* tracer) {
  const size_t n = size_t((all_logits ? int64_t(tokens.size()) : 1) * config_.vocab_size);
  const int tp = layout_.tp;
  // Ranks 1.. record their ops through tracers of their own, attached to the caller's run.
  rank_tracers_.resize(ranks_.size());
  const bool rank_ops = tracer && tracer->on(trace::kOps);
  for (size_t r = 1; r < ranks_.size() && rank_ops; ++r) {
    if (!rank_tracers_[r] || rank_tracers_[r]->sink() != tracer->sink()) {
      trace::CaptureSettings ops_only;
      ops_only.routing = ops_only.attention = false;
      ops_only.ops = true;
      rank_tracers_[r] = std::make_unique<trace::Tracer>(tracer->sink(), ops_only);
    }
    rank_tracers_[r]->attach(tracer->run(), int32_t(r));
    rank_tracers_[r]->set_step(tracer->step());
  }
  run_threads(
      layout_.world(),
      [&](int r) {
        Rank& rank = ranks_[size_t(r)];
        float* out = logits;
        if (r != 0) {
          rank.logits.resize(n);
          out = rank.logits.data();
        }
        trace::Tracer* t = r == 0 ? tracer : rank_ops ? rank_tracers_[size_t(r)].get() : nullptr;
        rank.model->forward(tokens, *rank.cache, out, all_logits, t);
      },
      [&](int r) {
        // No rank may wait for this one: end both of its groups.
        tp_groups_[size_t(r / tp)][size_t(r % tp)]->abort_group();
        ep_groups_[size_t(r % tp)][size_t(r / tp)]->abort_group();
      });
}

}  // namespace moescope::parallel
