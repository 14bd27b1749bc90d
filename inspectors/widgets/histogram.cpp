#include "inspectors/widgets/histogram.h"

#include <imgui_internal.h>

#include <algorithm>
#include <cmath>

#include "inspectors/widgets/colormap.h"
#include "inspectors/widgets/plot_frame.h"

namespace moescope::widgets {

double Histogram::edge(size_t i) const {
  const double f = counts.empty() ? 0 : double(i) / double(counts.size());
  if (log_x) return std::pow(10.0, std::log10(lo) + f * (std::log10(hi) - std::log10(lo)));
  return lo + f * (hi - lo);
}

Histogram make_histogram(const std::vector<double>& values, int bins, bool log_x) {
  Histogram h;
  h.log_x = log_x;
  double mn = INFINITY, mx = -INFINITY;
  for (double v : values) {
    if (!std::isfinite(v) || (log_x && v <= 0)) continue;
    mn = std::min(mn, v);
    mx = std::max(mx, v);
  }
  if (!(mn <= mx) || bins < 1) return h;
  if (mx == mn) mx = log_x ? mn * 1.01 : mn + 1;
  h.lo = mn;
  h.hi = mx;
  h.counts.assign(size_t(bins), 0);
  const double a = log_x ? std::log10(mn) : mn, b = log_x ? std::log10(mx) : mx;
  for (double v : values) {
    if (!std::isfinite(v) || (log_x && v <= 0)) continue;
    const double t = ((log_x ? std::log10(v) : v) - a) / (b - a);
    ++h.counts[size_t(std::clamp(int(t * bins), 0, bins - 1))];
    ++h.total;
  }
  return h;
}

void histogram(const char* id, const Histogram& h, ImVec2 size, const HistogramOptions& o) {
  PlotRect frame;
  if (!begin_plot(id, size, &frame)) return;
  record_rect(o.name, frame);
  ImDrawList* dl = ImGui::GetWindowDrawList();
  if (h.counts.empty() || h.total == 0) {
    draw_centered_text(dl, frame, "no data yet");
    return;
  }
  const int64_t peak = *std::max_element(h.counts.begin(), h.counts.end());
  const float fh = ImGui::GetTextLineHeight();
  const PlotRect plot = inset(frame, ImGui::CalcTextSize("00000").x + 12, fh + 6, 12,
                              fh + 8 + (o.x_title ? fh + 2 : 0));
  draw_y_axis(dl, plot, 0, double(peak) * 1.08, "count");
  const double a = h.log_x ? std::log10(h.lo) : h.lo, b = h.log_x ? std::log10(h.hi) : h.hi;
  auto sx = [&](double x) {
    const double t = ((h.log_x ? std::log10(std::max(x, 1e-300)) : x) - a) / (b - a);
    return plot.min.x + float(t) * plot.width();
  };
  // x ticks: powers of ten and their 2x, 5x on a log axis, nice ticks on a linear one.
  std::vector<double> ticks;
  if (h.log_x) {
    for (double p = std::pow(10.0, std::floor(a)); p <= h.hi * 1.0001; p *= 10)
      for (double m : {1.0, 2.0, 5.0})
        if (p * m >= h.lo * 0.9999 && p * m <= h.hi * 1.0001) ticks.push_back(p * m);
    const float max_ticks = plot.width() / 70.0f;
    while (ticks.size() > max_ticks && ticks.size() > 2) {
      std::vector<double> thin;
      for (size_t i = 0; i < ticks.size(); i += 2) thin.push_back(ticks[i]);
      ticks.swap(thin);
    }
  } else {
    ticks = nice_ticks(h.lo, h.hi, std::max(2, int(plot.width() / 80)));
  }
  dl->AddLine(ImVec2(plot.min.x, plot.max.y), ImVec2(plot.max.x, plot.max.y), axis_color());
  for (double t : ticks) {
    const float x = sx(t);
    const std::string s = o.as_duration ? format_duration_ns(t) : format_number(t);
    const float w = ImGui::CalcTextSize(s.c_str()).x;
    dl->AddLine(ImVec2(x, plot.max.y), ImVec2(x, plot.max.y + 4), axis_color());
    dl->AddText(ImVec2(x - w * 0.5f, plot.max.y + 4), text_color(), s.c_str());
  }
  if (o.x_title) {
    const float w = ImGui::CalcTextSize(o.x_title).x;
    dl->AddText(ImVec2(plot.max.x - w, plot.max.y + fh + 6), dim_text_color(), o.x_title);
  }
  const ImU32 c = o.color ? o.color : IM_COL32(86, 156, 214, 255);
  const size_t n = h.counts.size();
  const float bw = plot.width() / float(n);
  for (size_t i = 0; i < n; ++i) {
    if (!h.counts[i]) continue;
    const float y = plot.max.y - float(h.counts[i]) / float(double(peak) * 1.08) * plot.height();
    dl->AddRectFilled(ImVec2(plot.min.x + bw * i, std::min(y, plot.max.y - 1)),
                      ImVec2(plot.min.x + bw * (i + 1) - (bw > 4 ? 1 : 0), plot.max.y), c);
  }
  float label_y = plot.min.y + 2;
  for (const auto& [value, label] : o.markers) {
    const float x = sx(value);
    if (x < plot.min.x || x > plot.max.x) continue;
    dl->AddLine(ImVec2(x, plot.min.y), ImVec2(x, plot.max.y), IM_COL32(255, 200, 80, 220), 1.5f);
    dl->AddText(ImVec2(x + 3, label_y), IM_COL32(255, 200, 80, 255), label.c_str());
    label_y += fh;
  }
  const ImVec2 m = ImGui::GetIO().MousePos;
  if (ImGui::IsItemHovered() && plot.contains(m)) {
    const size_t i = std::min(n - 1, size_t((m.x - plot.min.x) / bw));
    dl->AddRectFilled(ImVec2(plot.min.x + bw * i, plot.min.y),
                      ImVec2(plot.min.x + bw * (i + 1), plot.max.y), IM_COL32(255, 255, 255, 30));
    ImGui::BeginTooltip();
    auto fmt = [&](double v) { return o.as_duration ? format_duration_ns(v) : format_number(v); };
    ImGui::Text("%s .. %s", fmt(h.edge(i)).c_str(), fmt(h.edge(i + 1)).c_str());
    ImGui::Text("%lld of %lld (%.1f%%)", (long long)h.counts[i], (long long)h.total,
                100.0 * double(h.counts[i]) / double(h.total));
    ImGui::EndTooltip();
  }
}

}  // namespace moescope::widgets
