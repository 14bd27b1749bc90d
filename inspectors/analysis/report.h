// `moescope report`: the numbers of one run, as plain text for people and as JSON for scripts.
// Both render the same analyses (routing_stats, consecutive, coactivation, specialisation,
// stability, attention_metrics, op_stats), so their values agree.
//
// Text sections: the run; per-layer expert load and imbalance (CV, max/mean, load entropy,
// aux losses in both conventions, router entropy, top-1 margin, top-k mass, hypothetical drop
// rate, consecutive-token reuse beside its random baseline); the layer x expert share table;
// co-activation and the top tokens per expert of one detail layer; routing stability against
// a second run (when given); the top attention heads by a chosen metric; the top ops by time.
// JSON: every layer's full set, including co-activation and top tokens; NaN becomes null.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>

#include "inspectors/analysis/attention_metrics.h"
#include "inspectors/analysis/ceilings.h"
#include "inspectors/analysis/op_stats.h"
#include "storage/run_data.h"

namespace moescope::inspectors {

struct ReportOptions {
  int64_t window_steps = 0;       // routing over the last W decode steps; 0 = the whole run
  double capacity_factor = 1.25;  // for the hypothetical drop rate
  int32_t detail_layer = -1;      // text: co-activation and top tokens of this layer; -1 = last
  int64_t top_tokens = 5;         // per expert
  HeadMetric head_metric = HeadMetric::Induction;
  int64_t top_heads = 10;  // heads listed (JSON lists all in rank order when <= 0)
  OpGrouping op_grouping = OpGrouping::Name;
  OpFilter op_filter;
  int64_t top_ops = 15;                       // groups listed (JSON lists all when <= 0)
  const MachineCeilings* ceilings = nullptr;  // for the ops' fraction of the machine's peak
  const storage::RunData* compare = nullptr;  // routing stability against this run
};

nlohmann::json report_json(const storage::RunData& run, const ReportOptions& options = {});
// report_json(run, options).dump(2) and a newline.
std::string render_report_json(const storage::RunData& run, const ReportOptions& options = {});
std::string render_report_text(const storage::RunData& run, const ReportOptions& options = {});

}  // namespace moescope::inspectors
