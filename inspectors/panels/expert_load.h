// Panel 2, expert load: the layer x expert load heat map (counts, or the load against the
// uniform k/E), a per-layer table of imbalance metrics (CV, max/mean, entropy, aux losses, drops
// at a chosen capacity factor), imbalance over decode steps, the co-activation of a chosen
// layer, its load per expert, and a token x layer strip of the experts chosen. All from the
// analyses in inspectors/analysis, recomputed in the background as the run grows.
#pragma once

#include <string>
#include <vector>

#include "inspectors/analysis/coactivation.h"
#include "inspectors/analysis/consecutive.h"
#include "inspectors/analysis/rank_load.h"
#include "inspectors/analysis/routing_stats.h"
#include "inspectors/panels/live_analysis.h"
#include "inspectors/panels/panel.h"
#include "inspectors/widgets/zoom_view.h"

namespace moescope::panels {

// Everything the panel draws, computed off the UI thread from one run.
struct ExpertLoadData {
  int64_t run = -1;
  int32_t layers = 0, experts = 0, top_k = 0;
  int64_t positions = 0, prompt_tokens = 0;
  int64_t range_begin = 0, range_end = 0;
  std::vector<inspectors::LayerRoutingStats> stats;       // [L]
  std::vector<inspectors::ConsecutiveRates> consecutive;  // [L]
  std::vector<float> counts;                              // [L, E] tokens routed to each expert
  std::vector<float> ratio;                               // [L, E] (n_i / T) / (k / E): 1 = uniform
  std::vector<float> step_x;                  // decode steps sampled for the imbalance chart
  std::vector<std::vector<float>> imbalance;  // [L][points]
  inspectors::Coactivation coactivation;      // of the chosen layer
  std::vector<float> coactivation_p;          // [E, E] P(j | i)
  std::vector<float> strip;                   // [L * K, P] expert ids, NaN = not recorded
  std::vector<std::string> texts;             // [P] token texts
  // Expert-parallel runs: the expert groups and, per layer, the assignments each served.
  inspectors::ExpertGroups groups;
  std::vector<inspectors::GroupLoad> group_load;  // [L] when groups.ep > 1
};

class ExpertLoad : public Panel {
 public:
  ExpertLoad();
  bool set(const std::string& key, const std::string& value) override;
  bool busy() override { return data_.busy(); }

 protected:
  void draw_content(PanelContext& ctx) override;

 private:
  void refresh(const PanelContext& ctx);
  void draw_heatmaps(PanelContext& ctx, const ExpertLoadData& d);
  void draw_table(PanelContext& ctx, const ExpertLoadData& d);
  void draw_groups(const ExpertLoadData& d);  // expert-parallel runs only
  void draw_charts(PanelContext& ctx, const ExpertLoadData& d);
  void draw_strip(PanelContext& ctx, const ExpertLoadData& d);

  bool share_ = false;   // heat map: load against uniform instead of counts
  bool window_ = false;  // the last window_steps_ decode steps instead of the whole run
  int window_steps_ = 64;
  float capacity_factor_ = 1.25f;
  bool cv_chart_ = false;  // imbalance chart: CV instead of max/mean
  int chart_window_ = 32;  // positions per point of the imbalance chart
  LiveAnalysis<ExpertLoadData> data_;
  widgets::ZoomView strip_view_;
};

// The panel's data for one run (exposed for tests). chosen_layer: co-activation's layer.
ExpertLoadData compute_expert_load(const storage::RunData& run, bool window, int window_steps,
                                   double capacity_factor, bool cv_chart, int chart_window,
                                   int32_t chosen_layer);

}  // namespace moescope::panels
