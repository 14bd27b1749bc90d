// Vertical bars for n categories, one or more series side by side (e.g. two runs), per-bar
// colours (experts), a dashed reference line (e.g. the uniform share k/E) and the values of the
// hovered bar. Negative values grow downwards from zero (differences).
#pragma once

#include <imgui.h>

#include <cmath>
#include <functional>
#include <string>

namespace moescope::widgets {

struct BarSeries {
  const char* name = nullptr;
  const float* values = nullptr;  // [n]
  ImU32 color = 0;                // 0: BarChartOptions::color, else a palette colour
};

struct BarChartOptions {
  std::function<std::string(int)> x_label;  // default: the index
  const char* x_title = nullptr;
  const char* y_title = nullptr;
  bool auto_range = true;
  float y_min = 0, y_max = 1;
  float reference = NAN;  // a dashed line at this value
  const char* reference_label = nullptr;
  std::function<ImU32(int series, int i)> color;  // per-bar colour when a series has none
  std::function<void(int i)> tooltip;             // more tooltip lines for the hovered bar
  bool as_duration = false;                       // values are nanoseconds
  int selected = -1;                              // outlined
  const char* name = nullptr;
};

struct BarEvent {
  bool hovered = false;
  int index = -1;
  bool clicked = false;
};

BarEvent bar_chart(const char* id, int n, const BarSeries* series, int n_series, ImVec2 size,
                   const BarChartOptions& options);

}  // namespace moescope::widgets
