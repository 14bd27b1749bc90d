#include "inspectors/analysis/report_data.h"

#include <algorithm>

namespace moescope::inspectors {

const char* const kZLossDefinition =
    "(1/T) sum_t (log sum_i exp x_t,i)^2 over the recorded router logits x (ST-MoE), no "
    "coefficient; n/a for traces written without logits";

ReportData compute_report(const storage::RunData& run, const ReportOptions& options) {
  ReportData d;
  d.range = options.window_steps > 0 ? last_decode_steps(run, options.window_steps) : whole_run();
  d.range.begin = std::min(d.range.begin, run.n_positions());
  d.range.end = std::min(d.range.end, run.n_positions());
  RoutingStatsOptions ro;
  ro.capacity_factor = options.capacity_factor;
  d.routing = routing_stats(run, d.range, ro);
  SpecialisationOptions so;
  so.top_n = options.top_tokens;
  for (size_t l = 0; l < run.routing.size(); ++l) {
    d.consecutive.push_back(consecutive_rates(run, int32_t(l), d.range));
    d.coactivation.push_back(coactivation(run, int32_t(l), d.range));
    d.top_tokens.push_back(expert_top_tokens(run, int32_t(l), d.range, so));
  }
  if (options.compare) d.stability = routing_stability(run, *options.compare);
  d.groups = expert_groups(run);
  d.group_load = group_loads(d.groups, d.routing);

  HeadMetricsAccumulator heads;
  heads.update(run);
  d.heads = heads.metrics();
  d.attention_records = heads.records_consumed();
  d.head_order = rank_heads(d.heads, options.head_metric);

  d.ops = op_stats(run, options.op_grouping, options.op_filter, options.ceilings);
  for (const OpGroup& g : d.ops) {
    d.op_count += g.time_ns.count;
    d.op_total_ns += g.time_ns.total;
  }
  return d;
}

}  // namespace moescope::inspectors
