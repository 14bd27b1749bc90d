#include "inspectors/widgets/line_chart.h"

#include <imgui_internal.h>

#include <algorithm>
#include <cmath>

#include "inspectors/widgets/colormap.h"
#include "inspectors/widgets/plot_frame.h"

namespace moescope::widgets {

namespace {

float x_of(const LineSeries& s, int i) {
  return s.x ? s.x[i] : float(i);
}

// The index of the last point with x <= at (binary search), or -1.
int index_at(const LineSeries& s, float at) {
  int lo = 0, hi = s.n;
  while (lo < hi) {
    const int mid = (lo + hi) / 2;
    if (x_of(s, mid) <= at)
      lo = mid + 1;
    else
      hi = mid;
  }
  return lo - 1;
}

}  // namespace

LineEvent line_chart(const char* id, const LineSeries* series, int n_series, ImVec2 size,
                     const LineChartOptions& o) {
  LineEvent ev;
  PlotRect frame;
  if (!begin_plot(id, size, &frame)) return ev;
  record_rect(o.name, frame);
  ImDrawList* dl = ImGui::GetWindowDrawList();
  float x_lo = INFINITY, x_hi = -INFINITY, y_lo = INFINITY, y_hi = -INFINITY;
  for (int s = 0; s < n_series; ++s)
    for (int i = 0; i < series[s].n; ++i) {
      const float x = x_of(series[s], i), y = series[s].y[i];
      if (!std::isfinite(y)) continue;
      x_lo = std::min(x_lo, x);
      x_hi = std::max(x_hi, x);
      y_lo = std::min(y_lo, y);
      y_hi = std::max(y_hi, y);
    }
  if (!(x_lo <= x_hi)) {
    draw_centered_text(dl, frame, "no data yet");
    return ev;
  }
  if (x_hi == x_lo) x_hi = x_lo + 1;
  if (o.auto_range) {
    for (const auto& r : o.references) {
      y_lo = std::min(y_lo, r.first);
      y_hi = std::max(y_hi, r.first);
    }
    if (o.y_from_zero) y_lo = std::min(y_lo, 0.0f);
    y_hi += (y_hi - y_lo) * 0.08f;
    if (y_hi == y_lo) y_hi = y_lo + 1;
  } else {
    y_lo = o.y_min;
    y_hi = o.y_max;
  }
  const float fh = ImGui::GetTextLineHeight();
  const float legend_h = fh + 4;
  const PlotRect plot = inset(frame, ImGui::CalcTextSize("-0.000").x + 12, fh + 6 + legend_h, 10,
                              fh + 8 + (o.x_title ? fh + 2 : 0));
  draw_y_axis(dl, plot, y_lo, y_hi, o.y_title);
  draw_x_axis(dl, plot, x_lo, x_hi, o.x_title);
  auto sx = [&](float x) { return plot.min.x + (x - x_lo) / (x_hi - x_lo) * plot.width(); };
  auto sy = [&](float y) { return plot.max.y - (y - y_lo) / (y_hi - y_lo) * plot.height(); };
  for (const auto& r : o.references)
    draw_reference_line(dl, plot, sy(r.first), IM_COL32(255, 255, 255, 150), r.second.c_str());

  dl->PushClipRect(plot.min, plot.max, true);
  std::vector<ImVec2> pts;
  for (int s = 0; s < n_series; ++s) {
    const LineSeries& ls = series[s];
    const ImU32 c = ls.color ? ls.color : category_color(s);
    pts.clear();
    // One pixel column at a time: the min and max of the points in it keep spikes visible.
    int i = 0;
    while (i < ls.n) {
      if (!std::isfinite(ls.y[i])) {
        if (pts.size() > 1) dl->AddPolyline(pts.data(), int(pts.size()), c, 0, 1.5f);
        pts.clear();
        ++i;
        continue;
      }
      const float px = std::floor(sx(x_of(ls, i)));
      float mn = ls.y[i], mx = ls.y[i], first = ls.y[i], last = ls.y[i];
      int j = i + 1;
      while (j < ls.n && std::isfinite(ls.y[j]) && std::floor(sx(x_of(ls, j))) == px) {
        mn = std::min(mn, ls.y[j]);
        mx = std::max(mx, ls.y[j]);
        last = ls.y[j];
        ++j;
      }
      pts.push_back(ImVec2(px, sy(first)));
      if (j - i > 2) {
        pts.push_back(ImVec2(px, sy(mn)));
        pts.push_back(ImVec2(px, sy(mx)));
      }
      if (j - i > 1) pts.push_back(ImVec2(px, sy(last)));
      i = j;
    }
    if (pts.size() > 1) dl->AddPolyline(pts.data(), int(pts.size()), c, 0, 1.5f);
    if (pts.size() == 1) dl->AddCircleFilled(pts[0], 2.5f, c);
  }
  dl->PopClipRect();

  // Legend on one line above the plot.
  float lx = plot.min.x;
  for (int s = 0; s < n_series; ++s) {
    const ImU32 c = series[s].color ? series[s].color : category_color(s);
    const char* name = series[s].name ? series[s].name : "";
    const float w = fh + ImGui::CalcTextSize(name).x + 14;
    if (lx + w > frame.max.x) break;
    dl->AddLine(ImVec2(lx, frame.min.y + fh * 0.5f + 3),
                ImVec2(lx + fh - 4, frame.min.y + fh * 0.5f + 3), c, 3.0f);
    dl->AddText(ImVec2(lx + fh, frame.min.y + 3), text_color(), name);
    lx += w;
  }

  const ImVec2 m = ImGui::GetIO().MousePos;
  if (ImGui::IsItemHovered() && plot.contains(m)) {
    ev.hovered = true;
    ev.x = x_lo + (m.x - plot.min.x) / plot.width() * (x_hi - x_lo);
    dl->AddLine(ImVec2(m.x, plot.min.y), ImVec2(m.x, plot.max.y), IM_COL32(255, 255, 255, 90));
    ImGui::BeginTooltip();
    ImGui::Text("%s %s", o.x_title ? o.x_title : "x", format_number(ev.x).c_str());
    for (int s = 0; s < n_series; ++s) {
      const int i = index_at(series[s], ev.x + 0.5f * (x_hi - x_lo) / plot.width());
      if (i < 0) continue;
      ImGui::TextColored(
          ImGui::ColorConvertU32ToFloat4(series[s].color ? series[s].color : category_color(s)),
          "%s: %s", series[s].name ? series[s].name : "", format_number(series[s].y[i]).c_str());
    }
    ImGui::EndTooltip();
  }
  return ev;
}

}  // namespace moescope::widgets
