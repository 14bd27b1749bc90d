#include "inspectors/widgets/bar_chart.h"

#include <imgui_internal.h>

#include <algorithm>

#include "inspectors/widgets/colormap.h"
#include "inspectors/widgets/plot_frame.h"

namespace moescope::widgets {

BarEvent bar_chart(const char* id, int n, const BarSeries* series, int n_series, ImVec2 size,
                   const BarChartOptions& o) {
  BarEvent ev;
  PlotRect frame;
  if (!begin_plot(id, size, &frame)) return ev;
  record_rect(o.name, frame);
  ImDrawList* dl = ImGui::GetWindowDrawList();
  if (n <= 0 || n_series <= 0) {
    draw_centered_text(dl, frame, "no data yet");
    return ev;
  }
  float lo = o.y_min, hi = o.y_max;
  if (o.auto_range) {
    lo = 0;
    hi = 0;
    for (int s = 0; s < n_series; ++s)
      for (int i = 0; i < n; ++i)
        if (std::isfinite(series[s].values[i])) {
          lo = std::min(lo, series[s].values[i]);
          hi = std::max(hi, series[s].values[i]);
        }
    if (std::isfinite(o.reference)) hi = std::max(hi, o.reference);
    hi += (hi - lo) * 0.08f;  // headroom for the tallest bar
    if (hi == lo) hi = lo + 1;
  }
  const float fh = ImGui::GetTextLineHeight();
  const float left = ImGui::CalcTextSize(o.as_duration ? "999 us" : "-0.000").x + 12;
  const float legend_h = n_series > 1 ? fh + 4 : 0;
  const PlotRect plot =
      inset(frame, left, fh + 6 + legend_h, 10, fh + 8 + (o.x_title ? fh + 2 : 0));
  draw_y_axis(dl, plot, lo, hi, o.y_title, o.as_duration);
  auto sy = [&](float v) { return plot.max.y - (v - lo) / (hi - lo) * plot.height(); };
  const float slot = plot.width() / n;
  const float bar_w = std::max(1.0f, slot * 0.8f / n_series);
  const float zero = sy(std::clamp(0.0f, lo, hi));

  for (int i = 0; i < n; ++i)
    for (int s = 0; s < n_series; ++s) {
      const float v = series[s].values[i];
      if (!std::isfinite(v)) continue;
      const float x = plot.min.x + slot * i + slot * 0.1f + bar_w * s;
      const ImU32 c = series[s].color ? series[s].color
                      : o.color       ? o.color(s, i)
                                      : category_color(s);
      const float y = sy(std::clamp(v, lo, hi));
      dl->AddRectFilled(ImVec2(x, std::min(y, zero)),
                        ImVec2(x + bar_w - (bar_w > 4 ? 1 : 0), std::max(y, zero)), c);
    }
  if (o.selected >= 0 && o.selected < n)
    dl->AddRect(ImVec2(plot.min.x + slot * o.selected, plot.min.y),
                ImVec2(plot.min.x + slot * (o.selected + 1), plot.max.y),
                IM_COL32(255, 255, 255, 160));
  if (std::isfinite(o.reference))
    draw_reference_line(dl, plot, sy(o.reference), IM_COL32(255, 255, 255, 200), o.reference_label);
  dl->AddLine(ImVec2(plot.min.x, zero), ImVec2(plot.max.x, zero), axis_color());

  // Category labels, thinned to what fits.
  float label_w = 0;
  for (int i = 0; i < n; i += std::max(1, n / 32))
    label_w = std::max(
        label_w,
        ImGui::CalcTextSize(o.x_label ? o.x_label(i).c_str() : std::to_string(i).c_str()).x);
  const int step = std::max(1, int(std::ceil((label_w + 6) / slot)));
  for (int i = 0; i < n; i += step) {
    const std::string s = o.x_label ? o.x_label(i) : std::to_string(i);
    const float w = ImGui::CalcTextSize(s.c_str()).x;
    dl->AddText(ImVec2(plot.min.x + slot * (i + 0.5f) - w * 0.5f, plot.max.y + 3), text_color(),
                s.c_str());
  }
  if (o.x_title) {
    const float w = ImGui::CalcTextSize(o.x_title).x;
    dl->AddText(ImVec2(plot.min.x + (plot.width() - w) * 0.5f, plot.max.y + fh + 5),
                dim_text_color(), o.x_title);
  }
  if (n_series > 1) {
    float x = plot.min.x + 80;
    for (int s = 0; s < n_series; ++s) {
      const ImU32 c = series[s].color ? series[s].color : category_color(s);
      dl->AddRectFilled(ImVec2(x, frame.min.y + 4), ImVec2(x + fh - 4, frame.min.y + fh), c);
      const char* name = series[s].name ? series[s].name : "";
      dl->AddText(ImVec2(x + fh, frame.min.y + 2), text_color(), name);
      x += fh + ImGui::CalcTextSize(name).x + 16;
    }
  }

  const ImVec2 m = ImGui::GetIO().MousePos;
  if (ImGui::IsItemHovered() && plot.contains(m)) {
    const int i = std::clamp(int((m.x - plot.min.x) / slot), 0, n - 1);
    ev.hovered = true;
    ev.index = i;
    dl->AddRectFilled(ImVec2(plot.min.x + slot * i, plot.min.y),
                      ImVec2(plot.min.x + slot * (i + 1), plot.max.y), IM_COL32(255, 255, 255, 24));
    ImGui::BeginTooltip();
    ImGui::Text("%s %s", o.x_title ? o.x_title : "",
                o.x_label ? o.x_label(i).c_str() : std::to_string(i).c_str());
    for (int s = 0; s < n_series; ++s) {
      const float v = series[s].values[i];
      const std::string text = o.as_duration ? format_duration_ns(v) : format_number(v);
      if (n_series > 1)
        ImGui::Text("%s: %s", series[s].name ? series[s].name : "", text.c_str());
      else
        ImGui::Text("%s %s", o.y_title ? o.y_title : "value", text.c_str());
    }
    if (o.tooltip) o.tooltip(i);
    ImGui::EndTooltip();
    ev.clicked = ImGui::IsItemDeactivated();
  }
  return ev;
}

}  // namespace moescope::widgets
