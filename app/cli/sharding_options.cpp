#include "app/cli/sharding_options.h"

#include <algorithm>
#include <limits>

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

parallel::ParallelLayout sharding_options(Args& args, bool* given) {
  constexpr int64_t kAbsent = std::numeric_limits<int64_t>::min();
  const int64_t tp = args.integer("tp", kAbsent), ep = args.integer("ep", kAbsent);
  auto placement = args.value("expert-placement");
  if (given) *given = tp != kAbsent || ep != kAbsent;
  parallel::ParallelLayout l;
  l.tp = tp == kAbsent ? 1 : int(tp);
  l.ep = ep == kAbsent ? 1 : int(ep);
  if (l.tp < 1 || l.ep < 1) throw UsageError("--tp and --ep must be >= 1");
  if (placement && l.ep == 1) throw UsageError("--expert-placement needs --ep");
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
