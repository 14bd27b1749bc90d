// Panel 5, runs: open a trace file, list its runs, show any stored run in every panel (loaded
// from the file in the background), and compare two runs: their expert-load heat maps side by
// side with the difference, routing stability per layer, and the difference of their op
// statistics.
#pragma once

#include <string>
#include <vector>

#include "inspectors/analysis/op_stats.h"
#include "inspectors/analysis/routing_stats.h"
#include "inspectors/analysis/stability.h"
#include "inspectors/panels/async_value.h"
#include "inspectors/panels/panel.h"

namespace moescope::panels {

struct OpDiff {
  std::string name;
  int64_t count_a = 0, count_b = 0;
  double mean_a = NAN, mean_b = NAN;  // ns
  double total_a = 0, total_b = 0;
  double change = NAN;  // mean_b / mean_a - 1
};

struct CompareData {
  int64_t a = -1, b = -1;
  int32_t layers = 0, experts = 0, top_k = 1;
  std::vector<float> ratio_a, ratio_b, diff;  // [L, E] load / uniform, and b - a
  inspectors::RoutingStability stability;
  std::vector<OpDiff> ops;
};

// The comparison of two runs (exposed for tests).
CompareData compare_runs(const storage::RunData& a, const storage::RunData& b);

class RunsView : public Panel {
 public:
  RunsView();
  bool busy() override { return compare_.running() || pending_; }

 protected:
  void draw_content(PanelContext& ctx) override;

 private:
  void draw_list(PanelContext& ctx);
  void draw_compare(PanelContext& ctx);

  std::string path_input_;
  bool path_initialised_ = false;
  AsyncValue<CompareData> compare_;
  std::string inputs_;
  bool pending_ = false;
  int op_sort_ = 6;
  bool op_descending_ = true;
};

}  // namespace moescope::panels
