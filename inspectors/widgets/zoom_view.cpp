#include "inspectors/widgets/zoom_view.h"

#include <imgui.h>
#include <imgui_internal.h>

#include <algorithm>
#include <cmath>

namespace moescope::widgets {

void clamp_range(ZoomRange& r, double lo, double hi, double min_span) {
  if (!r.valid || !(r.hi > r.lo)) {
    r.lo = lo;
    r.hi = hi;
    r.valid = true;
  } else if (r.extent_lo != lo || r.extent_hi != hi) {
    const double eps = 1e-9 * std::max(1.0, std::fabs(r.extent_hi));
    const bool whole = r.lo <= r.extent_lo + eps && r.hi >= r.extent_hi - eps;
    const bool at_end = r.hi >= r.extent_hi - eps;
    if (whole) {
      r.lo = lo;
      r.hi = hi;
    } else if (at_end) {
      const double span = r.hi - r.lo;
      r.hi = hi;
      r.lo = hi - span;
    }
  }
  r.extent_lo = lo;
  r.extent_hi = hi;
  min_span = std::min(min_span, hi - lo);
  double span = std::clamp(r.hi - r.lo, min_span, hi - lo);
  const double centre = (r.lo + r.hi) * 0.5;
  r.lo = std::clamp(centre - span * 0.5, lo, hi - span);
  r.hi = r.lo + span;
}

bool zoom_pan(ZoomRange& r, float px0, float px1, float mouse, float drag_delta, bool zoom_axis,
              double lo, double hi, double min_span) {
  const double before_lo = r.lo, before_hi = r.hi;
  const float pixels = std::max(px1 - px0, 1.0f);
  const ImGuiIO& io = ImGui::GetIO();
  if (zoom_axis && io.MouseWheel != 0 && ImGui::IsItemHovered()) {
    const double factor = std::pow(0.85, double(io.MouseWheel));
    const double at = r.lo + (r.hi - r.lo) * double(std::clamp((mouse - px0) / pixels, 0.0f, 1.0f));
    double span = std::clamp((r.hi - r.lo) * factor, std::min(min_span, hi - lo), hi - lo);
    r.lo = at - (at - r.lo) * span / (r.hi - r.lo);
    r.hi = r.lo + span;
  }
  if (drag_delta != 0) {
    const double shift = -double(drag_delta) / pixels * (r.hi - r.lo);
    r.lo += shift;
    r.hi += shift;
  }
  clamp_range(r, lo, hi, min_span);
  return r.lo != before_lo || r.hi != before_hi;
}

bool zoom_pan_view(ZoomView& v, const PlotRect& plot, double x_lo, double x_hi, double y_lo,
                   double y_hi, double min_span_x, double min_span_y, bool zoom_x, bool zoom_y) {
  clamp_range(v.x, x_lo, x_hi, min_span_x);
  clamp_range(v.y, y_lo, y_hi, min_span_y);
  if (ImGui::IsItemHovered()) ImGui::SetItemUsingMouseWheel();
  if (ImGui::IsItemHovered() && ImGui::IsMouseDoubleClicked(ImGuiMouseButton_Left)) {
    v.reset();
    clamp_range(v.x, x_lo, x_hi, min_span_x);
    clamp_range(v.y, y_lo, y_hi, min_span_y);
    return true;
  }
  const ImGuiIO& io = ImGui::GetIO();
  const bool dragging =
      ImGui::IsItemActive() && ImGui::IsMouseDragging(ImGuiMouseButton_Left, 1.0f);
  const ImVec2 d = dragging ? io.MouseDelta : ImVec2(0, 0);
  const bool wheel_x = zoom_x && !io.KeyCtrl, wheel_y = zoom_y && !io.KeyShift;
  bool changed =
      zoom_pan(v.x, plot.min.x, plot.max.x, io.MousePos.x, d.x, wheel_x, x_lo, x_hi, min_span_x);
  changed |=
      zoom_pan(v.y, plot.min.y, plot.max.y, io.MousePos.y, d.y, wheel_y, y_lo, y_hi, min_span_y);
  return changed;
}

}  // namespace moescope::widgets
