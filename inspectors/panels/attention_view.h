// Panel 3, attention: pick a layer and a head; its query x key map with token labels, values
// on hover, zoom and pan for long contexts; a layers x heads grid of thumbnails grouped by KV
// head; and a sortable table of per-head metrics (entropy, sink, previous-token, duplicate,
// induction) whose rows open that head.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "inspectors/analysis/attention_metrics.h"
#include "inspectors/panels/live_analysis.h"
#include "inspectors/panels/panel.h"
#include "inspectors/widgets/zoom_view.h"

namespace moescope::panels {

// Every head's map pooled (max) to a thumb x thumb grid, kept up to date record by record: when
// the run outgrows the grid, the bucket (positions per cell) doubles and the grids are rebuilt,
// so the total work stays linear in the captured cells.
class AttentionThumbnails {
 public:
  static constexpr int kThumb = 32;
  void update(const storage::RunData& run);
  int32_t layers() const { return layers_; }
  int32_t heads() const { return heads_; }
  // [kThumb * kThumb] of (layer, head), or null when that head has no record.
  const float* grid(int32_t layer, int32_t head) const;
  int64_t cells_per_bucket() const { return bucket_; }
  // Grid cells in use along each side (the run's extent over the bucket).
  int used() const;

 private:
  void reset(const storage::RunData& run, int64_t bucket);
  void add(const storage::AttentionRecord& r);
  int64_t run_ = -1;
  int32_t layers_ = 0, heads_ = 0;
  int64_t bucket_ = 1;
  int64_t extent_ = 1;
  size_t next_ = 0;
  std::vector<std::vector<float>> grids_;  // [L * H]
};

struct AttentionData {
  int64_t run = -1;
  int32_t layers = 0, heads = 0, kv_heads = 0;
  int64_t positions = 0;
  size_t records = 0;
  std::vector<std::string> texts;  // [P]
  int32_t layer = 0, head = 0;     // the head of the map
  int64_t map_rows = 0, map_cols = 0;
  std::vector<float> map;  // [P, S] post-softmax p; NaN = not captured or masked
  int64_t captured_rows = 0;
  int thumb = 0;                           // thumbnails are thumb x thumb
  std::vector<std::vector<float>> thumbs;  // [L * H] sqrt of the grids (empty: not captured)
  std::vector<inspectors::HeadMetrics> metrics;
};

class AttentionView : public Panel {
 public:
  AttentionView();
  bool set(const std::string& key, const std::string& value) override;
  bool busy() override { return data_.busy(); }

 protected:
  void draw_content(PanelContext& ctx) override;

 private:
  void refresh(const PanelContext& ctx);
  void draw_map(PanelContext& ctx, const AttentionData& d, ImVec2 size);
  void draw_grid(PanelContext& ctx, const AttentionData& d, ImVec2 size);
  void draw_metrics(PanelContext& ctx, const AttentionData& d);

  bool sqrt_scale_ = true;
  std::vector<float> shown_;  // sqrt of the map, computed once per map
  const float* shown_src_ = nullptr;
  widgets::ZoomView view_;
  int sort_column_ = 0;
  bool sort_descending_ = false;
  // Owned by the background job while it runs (jobs run one at a time); declared before
  // data_ so that data_'s destructor (which waits for the job) runs first.
  std::unique_ptr<inspectors::HeadMetricsAccumulator> metrics_acc_;
  std::unique_ptr<AttentionThumbnails> thumbs_acc_;
  LiveAnalysis<AttentionData> data_;
};

}  // namespace moescope::panels
