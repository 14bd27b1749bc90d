// A heat map of a rows x cols grid of values (row-major, NaN = no data), with row and column
// labels, a colour legend, the value and labels of the cell under the mouse, optional zoom and
// pan, and a categorical mode (values are category indices, e.g. expert ids, drawn in the
// expert palette with a swatch legend). Large grids are pooled to the screen's resolution
// (max, so a single strong cell stays visible) and drawn as one texture.
#pragma once

#include <imgui.h>

#include <cstdint>
#include <functional>
#include <string>

#include "inspectors/widgets/colormap.h"
#include "inspectors/widgets/zoom_view.h"

namespace moescope::widgets {

struct HeatmapOptions {
  Colormap colormap = Colormap::Viridis;
  bool auto_range = true;  // else [lo, hi]
  float lo = 0, hi = 1;
  bool symmetric = false;        // auto range symmetric around 0 (differences)
  float centre = NAN;            // the neutral value of a diverging map (see colormap_t)
  bool nan_transparent = false;  // NaN cells show the plot background (e.g. a causal mask)
  int categories = 0;            // > 0: values are category indices 0 .. categories-1
  const char* category_prefix = "E";
  const char* x_title = nullptr;
  const char* y_title = nullptr;
  const char* legend_title = nullptr;
  std::function<std::string(int)> x_label;  // column labels (default: the index)
  std::function<std::string(int)> y_label;  // row labels (default: the index)
  bool show_values = false;                 // print each value where the cell has room
  const char* value_format = "%.3g";
  ZoomView* view = nullptr;  // zoom and pan state; null: always the whole grid
  // Must change whenever the values change (e.g. the run's version), or be 0 for "always
  // recompute": the pooled image and the auto range are cached on it.
  uint64_t version = 0;
  std::function<void(int row, int col)> tooltip;  // more tooltip lines for the hovered cell
  const char* name = nullptr;                     // recorded for the scripted mode
  int selected_row = -1, selected_col = -1;       // outlined
  float max_label_width = 160;
};

struct HeatmapEvent {
  bool hovered = false;
  int row = -1, col = -1;
  bool clicked = false;  // released without dragging
};

HeatmapEvent heatmap(const char* id, const float* values, int rows, int cols, ImVec2 size,
                     const HeatmapOptions& options);

// The colour range heatmap() uses for values with these options (exposed for tests).
void heatmap_range(const float* values, int64_t n, const HeatmapOptions& o, float* lo, float* hi);

}  // namespace moescope::widgets

namespace moescope::widgets {

// A small heat map without labels or legend (one cell of a grid of heads): pooled like
// heatmap(), outlined when selected, with hover and click. version as in HeatmapOptions.
struct ThumbnailEvent {
  bool hovered = false;
  bool clicked = false;
};
ThumbnailEvent heatmap_thumbnail(const char* id, const float* values, int rows, int cols,
                                 ImVec2 size, Colormap colormap, float lo, float hi,
                                 uint64_t version, bool selected);

}  // namespace moescope::widgets
