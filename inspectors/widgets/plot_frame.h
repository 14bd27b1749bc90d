// What every plot widget shares: reserving the plot's rectangle as one ImGui item, the theme's
// plot colours, "nice" axis ticks and number formats, axes, and a registry of where each named
// plot was last drawn (the scripted mode writes it beside a screenshot so tests can find a
// plot's pixels).
#pragma once

#include <imgui.h>

#include <cstdint>
#include <string>
#include <vector>

namespace moescope::widgets {

ImU32 plot_background();
ImU32 grid_color();
ImU32 axis_color();
ImU32 text_color();
ImU32 dim_text_color();

// Up to about max_ticks round values (1, 2, 2.5 or 5 times a power of ten) within [lo, hi].
std::vector<double> nice_ticks(double lo, double hi, int max_ticks);
// Compact numbers for ticks and tooltips: "0", "0.25", "12.5", "3.4k", "1.2M", "2e-05".
std::string format_number(double v);
// Durations given in nanoseconds: "850 ns", "12.3 us", "4.56 ms", "1.23 s".
std::string format_duration_ns(double ns);
// Byte counts: "512 B", "3.2 KiB", "1.5 MiB", "2.0 GiB".
std::string format_bytes(double bytes);

struct PlotRect {
  ImVec2 min, max;
  float width() const { return max.x - min.x; }
  float height() const { return max.y - min.y; }
  bool contains(ImVec2 p) const {
    return p.x >= min.x && p.x < max.x && p.y >= min.y && p.y < max.y;
  }
};

// Reserves a plot of size (x <= 0: the available width; y <= 0: the available height, at least
// 60 px) at the cursor as one item with this id, so it can be hovered and dragged. Returns
// false when the item is clipped (nothing needs drawing).
bool begin_plot(const char* id, ImVec2 size, PlotRect* frame);
// Whether the plot just reserved is hovered / being dragged with the left button.
bool plot_hovered();
bool plot_active();

// The data area of a frame after the margins for axes and legends.
PlotRect inset(const PlotRect& r, float left, float top, float right, float bottom);

// A left axis with grid lines across plot for [lo, hi] (bottom to top).
void draw_y_axis(ImDrawList* dl, const PlotRect& plot, double lo, double hi, const char* title,
                 bool as_duration = false);
// A bottom axis for [lo, hi] (left to right).
void draw_x_axis(ImDrawList* dl, const PlotRect& plot, double lo, double hi, const char* title,
                 bool as_duration = false);
// Text centred in r, dimmed (a plot with nothing to show).
void draw_centered_text(ImDrawList* dl, const PlotRect& r, const char* text);
// A dashed horizontal line at y with a label at its right end.
void draw_reference_line(ImDrawList* dl, const PlotRect& plot, float y, ImU32 color,
                         const char* label);

// Named rectangles of the last frame, in window pixels: set by widgets given a name, read by
// the scripted mode. Cleared by clear_named_rects() at the start of each frame.
struct NamedRect {
  std::string name;
  PlotRect rect;
};
void record_rect(const char* name, const PlotRect& r);
const std::vector<NamedRect>& named_rects();
void clear_named_rects();

}  // namespace moescope::widgets
