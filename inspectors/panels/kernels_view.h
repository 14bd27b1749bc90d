// Panel 4, kernels and ops: a timeline per device, thread and stream (rows: decode steps, layer
// ranges, expert ranges, then the ops themselves) with zoom and pan; a sortable per-op
// statistics table (op_stats: count, total, mean, p50/p90/p99, GB/s, GFLOP/s, share of the
// measured ceilings); the duration histogram of the selected op; the time by op kind; and the
// achieved bandwidth and compute of the busiest ops against the machine's ceilings.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "inspectors/analysis/ceilings.h"
#include "inspectors/analysis/op_stats.h"
#include "inspectors/panels/live_analysis.h"
#include "inspectors/panels/panel.h"
#include "inspectors/widgets/histogram.h"
#include "inspectors/widgets/timeline.h"

namespace moescope::panels {

// Which timeline row an item is on, below the ops rows: ranges the ops belong to.
enum class TimelineRowKind { Step = 0, Layer = 1, Expert = 2, Op = 3 };

struct OpsData {
  int64_t run = -1;
  size_t ops = 0;
  int64_t t_min = 0, t_max = 0;
  std::vector<widgets::TimelineLane> lanes;
  std::vector<std::string> strings;         // the run's interned names and kinds
  std::vector<inspectors::OpGroup> groups;  // by the chosen grouping
  std::vector<inspectors::OpGroup> kinds;   // by kind
  std::vector<inspectors::OpGroup> names;   // by name (throughput chart)
  widgets::Histogram histogram;             // of the selected group
  inspectors::Summary selected_summary;
};

// The timeline lanes of a run's ops: one lane per (device, stream), rows for steps, layers,
// experts, then as many op rows as nesting needs (exposed for tests).
std::vector<widgets::TimelineLane> build_op_lanes(const storage::RunData& run, int64_t* t_min,
                                                  int64_t* t_max);
// The colour of op kind k (an interned string id), the same in every chart.
ImU32 op_kind_color(int32_t kind);

class KernelsView : public Panel {
 public:
  KernelsView();
  bool set(const std::string& key, const std::string& value) override;
  bool busy() override { return data_.busy(); }

 protected:
  void draw_content(PanelContext& ctx) override;

 private:
  void refresh(const PanelContext& ctx);
  void draw_timeline(PanelContext& ctx, const OpsData& d);
  void draw_table(PanelContext& ctx, const OpsData& d);
  void draw_charts(PanelContext& ctx, const OpsData& d);

  inspectors::OpGrouping grouping_ = inspectors::OpGrouping::Name;
  std::string selected_;  // key of the selected group (see group_key)
  int sort_column_ = 2;
  bool sort_descending_ = true;
  widgets::ZoomRange view_;
  std::optional<inspectors::MachineCeilings> ceilings_;
  std::string ceilings_note_;
  bool ceilings_loaded_ = false;
  LiveAnalysis<OpsData> data_;
};

// A printable key of a group under its grouping ("attn.qkv_proj", "attn.qkv_proj L3", "L3", ...).
std::string group_key(const inspectors::OpGroup& g, inspectors::OpGrouping by);

}  // namespace moescope::panels
