#include "app/cli/parallel_plan.h"

#include <cstdio>

#include "app/cli/command_list.h"
#include "app/cli/format.h"
#include "app/cli/sharding_options.h"
#include "engine/core/error.h"

namespace moescope::app {

std::optional<PlanRequest> plan_request(Args& args) {
  bool given = false;
  parallel::ParallelLayout layout = sharding_options(args, &given);
  auto dtype = args.value("dtype");
  const double gb = args.number("gpu-memory-gb", 80);
  if (!given && !dtype) return std::nullopt;
  PlanRequest r;
  r.layout = std::move(layout);
  if (dtype) r.format = parallel::parse_weight_format(*dtype);
  if (!(gb > 0)) throw UsageError("--gpu-memory-gb must be > 0");
  r.device_bytes = int64_t(gb * 1e9);
  return r;
}

namespace {

// Tokens of KV cache (bf16) that fit in what the weights leave; 0 when they do not fit.
int64_t kv_tokens_left(const parallel::RankMemory& m, int64_t device_bytes) {
  const int64_t left = device_bytes - m.total;
  return left > 0 && m.kv_bytes_per_token > 0 ? left / m.kv_bytes_per_token : 0;
}

}  // namespace

nlohmann::json plan_json(const ModelConfig& c, PlanRequest& request) {
  parallel::validate_layout(c, request.layout);
  const auto plan = parallel::memory_plan(c, request.layout, request.format);
  nlohmann::json ranks = nlohmann::json::array();
  for (const auto& m : plan)
    ranks.push_back({{"rank", m.rank},
                     {"tp_rank", m.tp_rank},
                     {"ep_rank", m.ep_rank},
                     {"experts_held_per_layer", m.experts_held},
                     {"kv_heads_held", m.kv_heads_held},
                     {"attention_bytes", m.attention},
                     {"expert_bytes", m.experts},
                     {"shared_mlp_bytes", m.shared_mlp},
                     {"table_bytes", m.tables},
                     {"replicated_bytes", m.replicated},
                     {"total_bytes", m.total},
                     {"kv_cache_bytes_per_token", m.kv_bytes_per_token},
                     {"fits", m.total <= request.device_bytes},
                     {"kv_tokens_that_fit", kv_tokens_left(m, request.device_bytes)}});
  return {{"tp", request.layout.tp},
          {"ep", request.layout.ep},
          {"world_size", request.layout.world()},
          {"dtype", parallel::weight_format_name(request.format)},
          {"expert_placement", request.layout.expert_group},
          {"device_bytes", request.device_bytes},
          {"ranks", ranks}};
}

void print_plan(const ModelConfig& c, PlanRequest& request) {
  parallel::validate_layout(c, request.layout);
  const auto plan = parallel::memory_plan(c, request.layout, request.format);
  const auto& L = request.layout;
  std::printf(
      "\nparallel plan: --tp %d x --ep %d = %d ranks, %s weights, bf16 KV cache, %s per GPU\n",
      L.tp, L.ep, L.world(), parallel::weight_format_name(request.format),
      decimal_bytes(request.device_bytes).c_str());
  // The tp ranks of an expert group hold the same amounts: one line per group.
  for (const auto& m : plan) {
    if (m.tp_rank != 0) continue;
    const std::string who =
        L.tp == 1 ? cat("rank ", m.rank) : cat("ranks ", m.rank, "..", m.rank + L.tp - 1);
    std::printf(
        "  %-14s %s: attention %s, experts %s (%lld per layer%s), tables %s, "
        "replicated %s\n",
        who.c_str(), decimal_bytes(m.total).c_str(), decimal_bytes(m.attention).c_str(),
        decimal_bytes(m.experts + m.shared_mlp).c_str(), (long long)m.experts_held,
        L.tp > 1 ? cat(", 1/", L.tp, " of each").c_str() : "", decimal_bytes(m.tables).c_str(),
        decimal_bytes(m.replicated).c_str());
    const int64_t tokens = kv_tokens_left(m, request.device_bytes);
    if (m.total > request.device_bytes)
      std::printf("  %-14s does not fit: %s over\n", "",
                  decimal_bytes(m.total - request.device_bytes).c_str());
    else
      std::printf("  %-14s KV cache %s B/token (%lld KV head%s): %s tokens fit in the rest\n", "",
                  with_commas(m.kv_bytes_per_token).c_str(), (long long)m.kv_heads_held,
                  m.kv_heads_held == 1 ? "" : "s", with_commas(tokens).c_str());
  }
}

}  // namespace moescope::app
