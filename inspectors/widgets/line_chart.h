// Lines over a shared x axis (e.g. imbalance per layer over decode steps), with a legend,
// horizontal reference lines, and the values of every series at the hovered x. Long series are
// reduced to the min and max of each pixel column, so spikes survive.
#pragma once

#include <imgui.h>

#include <string>
#include <utility>
#include <vector>

namespace moescope::widgets {

struct LineSeries {
  const char* name = nullptr;
  const float* x = nullptr;  // [n], increasing; null: 0, 1, .. n-1
  const float* y = nullptr;  // [n]; NaN breaks the line
  int n = 0;
  ImU32 color = 0;  // 0: the palette colour of the series' index
};

struct LineChartOptions {
  const char* x_title = nullptr;
  const char* y_title = nullptr;
  bool auto_range = true;
  bool y_from_zero = true;  // auto range starts at 0
  float y_min = 0, y_max = 1;
  std::vector<std::pair<float, std::string>> references;  // dashed lines
  const char* name = nullptr;
};

struct LineEvent {
  bool hovered = false;
  float x = 0;  // the data x under the mouse
};

LineEvent line_chart(const char* id, const LineSeries* series, int n_series, ImVec2 size,
                     const LineChartOptions& options);

}  // namespace moescope::widgets
