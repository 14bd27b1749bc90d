#include "app/cli/sharding_options.h"

#include <algorithm>

#include "app/cli/command_list.h"
#include "engine/parallel/sharded_model.h"

namespace moescope::app {

namespace {

// A Model and the cache it fills, owned together (base-from-member: they exist before the
// LocalDecoder that refers to them).
struct ModelAndCache {
  Model model;
  KvCache cache;
};

class WholeModel final : private ModelAndCache, public LocalDecoder {
 public:
  WholeModel(const LoadedModel& m, int threads, int64_t capacity)
      : ModelAndCache{Model(m.config, m.weights, threads), KvCache(m.config, capacity)},
        LocalDecoder(model, cache) {}
};

}  // namespace

parallel::ParallelLayout sharding_options(Args& args) {
  parallel::ParallelLayout l;
  const int64_t tp = args.integer("tp", 1), ep = args.integer("ep", 1);
  auto placement = args.value("expert-placement");
  if (tp < 1 || ep < 1) throw UsageError("--tp and --ep must be >= 1");
  if (placement && ep == 1) throw UsageError("--expert-placement needs --ep");
  l.tp = int(tp);
  l.ep = int(ep);
  if (placement) l.expert_group = parallel::parse_placement(*placement);
  return l;
}

std::unique_ptr<Decoder> make_decoder(const LoadedModel& m, parallel::ParallelLayout layout,
                                      int threads, int64_t capacity) {
  if (layout.world() == 1) return std::make_unique<WholeModel>(m, threads, capacity);
  const int per_rank = std::max(1, threads / layout.world());
  return std::make_unique<parallel::ShardedModel>(m.config, m.weights, std::move(layout), per_rank,
                                                  capacity);
}

}  // namespace moescope::app
