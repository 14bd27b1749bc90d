// Every analysis a report shows, computed once and rendered by report_text.cpp and
// report_json.cpp (internal to the report).
#pragma once

#include <optional>
#include <vector>

#include "inspectors/analysis/coactivation.h"
#include "inspectors/analysis/consecutive.h"
#include "inspectors/analysis/position_range.h"
#include "inspectors/analysis/rank_load.h"
#include "inspectors/analysis/report.h"
#include "inspectors/analysis/routing_stats.h"
#include "inspectors/analysis/specialisation.h"
#include "inspectors/analysis/stability.h"

namespace moescope::inspectors {

struct ReportData {
  PositionRange range;  // clipped to the run
  std::vector<LayerRoutingStats> routing;
  std::vector<ConsecutiveRates> consecutive;
  std::vector<Coactivation> coactivation;
  std::vector<std::vector<ExpertTokens>> top_tokens;  // [L][E]
  std::optional<RoutingStability> stability;
  ExpertGroups groups;                // ep 1 unless the run was expert-parallel
  std::vector<GroupLoad> group_load;  // per layer, when expert-parallel
  std::vector<HeadMetrics> heads;
  std::vector<size_t> head_order;  // heads ranked by the chosen metric
  size_t attention_records = 0;
  std::vector<OpGroup> ops;
  int64_t op_count = 0;
  double op_total_ns = 0;
};

ReportData compute_report(const storage::RunData& run, const ReportOptions& options);

// The router z-loss's definition (both renderers print it).
extern const char* const kZLossDefinition;

}  // namespace moescope::inspectors
