// --tp N, --ep M, --expert-placement 0,0,1,1,...: how `generate` and `run` split the model over
// CPU ranks (engine/parallel): tensor parallelism within each of M expert groups, threads split
// evenly between the ranks. Without them the model runs whole.
#pragma once

#include <memory>

#include "app/cli/args.h"
#include "engine/model/load_model.h"
#include "engine/parallel/layout.h"
#include "engine/session/decoder.h"

namespace moescope::app {

// Throws UsageError for values below 1 or a placement without --ep. *given (when not null) says
// whether --tp or --ep was on the command line.
parallel::ParallelLayout sharding_options(Args& args, bool* given = nullptr);

// The model whole (one Model and its cache) when layout is 1 x 1, else a ShardedModel; the
// cache holds capacity positions. Throws moescope::Error naming the parameter for a layout the
// model cannot take, before any shard is made.
std::unique_ptr<Decoder> make_decoder(const LoadedModel& m, parallel::ParallelLayout layout,
                                      int threads, int64_t capacity);

}  // namespace moescope::app
