#include "inspectors/widgets/plot_frame.h"

#include <imgui_internal.h>

#include <algorithm>
#include <cmath>
#include <cstdio>

namespace moescope::widgets {

namespace {

std::vector<NamedRect> g_rects;

std::string tick_label(double v, bool as_duration) {
  return as_duration ? format_duration_ns(v) : format_number(v);
}

}  // namespace

ImU32 plot_background() {
  return IM_COL32(24, 25, 30, 255);
}
ImU32 grid_color() {
  return IM_COL32(255, 255, 255, 22);
}
ImU32 axis_color() {
  return IM_COL32(150, 150, 160, 255);
}
ImU32 text_color() {
  return ImGui::GetColorU32(ImGuiCol_Text);
}
ImU32 dim_text_color() {
  return ImGui::GetColorU32(ImGuiCol_TextDisabled);
}

std::vector<double> nice_ticks(double lo, double hi, int max_ticks) {
  std::vector<double> out;
  if (!std::isfinite(lo) || !std::isfinite(hi) || max_ticks < 1) return out;
  if (hi < lo) std::swap(lo, hi);
  if (hi == lo) return {lo};
  const double raw = (hi - lo) / max_ticks;
  const double mag = std::pow(10.0, std::floor(std::log10(raw)));
  double step = 10 * mag;
  for (double m : {1.0, 2.0, 2.5, 5.0, 10.0})
    if (m * mag >= raw) {
      step = m * mag;
      break;
    }
  const double first = std::ceil(lo / step - 1e-9) * step;
  for (double v = first; v <= hi + step * 1e-9; v += step)
    out.push_back(std::fabs(v) < step * 1e-9 ? 0.0 : v);
  return out;
}

std::string format_number(double v) {
  char buf[32];
  const double a = std::fabs(v);
  if (std::isnan(v)) return "-";
  if (a == 0) return "0";
  if (a >= 1e9)
    std::snprintf(buf, sizeof buf, "%.3gG", v / 1e9);
  else if (a >= 1e6)
    std::snprintf(buf, sizeof buf, "%.3gM", v / 1e6);
  else if (a >= 1e4)
    std::snprintf(buf, sizeof buf, "%.3gk", v / 1e3);
  else if (a >= 1e-3)
    std::snprintf(buf, sizeof buf, "%.4g", v);
  else
    std::snprintf(buf, sizeof buf, "%.2g", v);
  return buf;
}

std::string format_duration_ns(double ns) {
  char buf[32];
  const double a = std::fabs(ns);
  if (std::isnan(ns)) return "-";
  if (a < 1e3)
    std::snprintf(buf, sizeof buf, "%.0f ns", ns);
  else if (a < 1e6)
    std::snprintf(buf, sizeof buf, "%.3g us", ns / 1e3);
  else if (a < 1e9)
    std::snprintf(buf, sizeof buf, "%.3g ms", ns / 1e6);
  else
    std::snprintf(buf, sizeof buf, "%.3g s", ns / 1e9);
  return buf;
}

std::string format_bytes(double bytes) {
  char buf[32];
  const char* units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
  int u = 0;
  while (std::fabs(bytes) >= 1024 && u < 4) {
    bytes /= 1024;
    ++u;
  }
  std::snprintf(buf, sizeof buf, u == 0 ? "%.0f %s" : "%.1f %s", bytes, units[u]);
  return buf;
}

bool begin_plot(const char* id, ImVec2 size, PlotRect* frame) {
  ImGuiWindow* window = ImGui::GetCurrentWindow();
  const ImVec2 avail = ImGui::GetContentRegionAvail();
  if (size.x <= 0) size.x = std::max(avail.x + size.x, 60.0f);
  if (size.y <= 0) size.y = std::max(avail.y + size.y, 60.0f);
  const ImVec2 pos = window->DC.CursorPos;
  const ImRect bb(pos, ImVec2(pos.x + size.x, pos.y + size.y));
  ImGui::ItemSize(bb);
  const ImGuiID gid = window->GetID(id);
  frame->min = bb.Min;
  frame->max = bb.Max;
  if (!ImGui::ItemAdd(bb, gid)) return false;
  // Hover, and a drag that keeps the item active while the mouse leaves it (panning).
  bool hovered = false, held = false;
  ImGui::ButtonBehavior(bb, gid, &hovered, &held, ImGuiButtonFlags_MouseButtonLeft);
  window->DrawList->AddRectFilled(bb.Min, bb.Max, plot_background(), 3.0f);
  return true;
}

bool plot_hovered() {
  return ImGui::IsItemHovered();
}

bool plot_active() {
  return ImGui::IsItemActive();
}

PlotRect inset(const PlotRect& r, float left, float top, float right, float bottom) {
  PlotRect out{ImVec2(r.min.x + left, r.min.y + top), ImVec2(r.max.x - right, r.max.y - bottom)};
  out.max.x = std::max(out.max.x, out.min.x + 1);
  out.max.y = std::max(out.max.y, out.min.y + 1);
  return out;
}

void draw_y_axis(ImDrawList* dl, const PlotRect& plot, double lo, double hi, const char* title,
                 bool as_duration) {
  const float fh = ImGui::GetTextLineHeight();
  dl->AddLine(ImVec2(plot.min.x, plot.min.y), ImVec2(plot.min.x, plot.max.y), axis_color());
  if (hi > lo) {
    for (double v : nice_ticks(lo, hi, std::max(2, int(plot.height() / (fh * 2.5f))))) {
      const float y = plot.max.y - float((v - lo) / (hi - lo)) * plot.height();
      dl->AddLine(ImVec2(plot.min.x, y), ImVec2(plot.max.x, y), grid_color());
      const std::string s = tick_label(v, as_duration);
      const float w = ImGui::CalcTextSize(s.c_str()).x;
      dl->AddText(ImVec2(plot.min.x - w - 5, y - fh * 0.5f), text_color(), s.c_str());
    }
  }
  if (title) dl->AddText(ImVec2(plot.min.x + 4, plot.min.y - fh - 2), dim_text_color(), title);
}

void draw_x_axis(ImDrawList* dl, const PlotRect& plot, double lo, double hi, const char* title,
                 bool as_duration) {
  const float fh = ImGui::GetTextLineHeight();
  dl->AddLine(ImVec2(plot.min.x, plot.max.y), ImVec2(plot.max.x, plot.max.y), axis_color());
  if (hi > lo) {
    const float label_w = ImGui::CalcTextSize(tick_label(hi, as_duration).c_str()).x + 24;
    for (double v : nice_ticks(lo, hi, std::max(2, int(plot.width() / label_w)))) {
      const float x = plot.min.x + float((v - lo) / (hi - lo)) * plot.width();
      dl->AddLine(ImVec2(x, plot.max.y), ImVec2(x, plot.max.y + 4), axis_color());
      const std::string s = tick_label(v, as_duration);
      const float w = ImGui::CalcTextSize(s.c_str()).x;
      dl->AddText(
          ImVec2(std::clamp(x - w * 0.5f, plot.min.x - 20, plot.max.x - w + 20), plot.max.y + 4),
          text_color(), s.c_str());
    }
  }
  if (title) {
    const float w = ImGui::CalcTextSize(title).x;
    dl->AddText(ImVec2(plot.max.x - w, plot.max.y + fh + 6), dim_text_color(), title);
  }
}

void draw_centered_text(ImDrawList* dl, const PlotRect& r, const char* text) {
  const ImVec2 s = ImGui::CalcTextSize(text);
  dl->AddText(ImVec2(r.min.x + (r.width() - s.x) * 0.5f, r.min.y + (r.height() - s.y) * 0.5f),
              dim_text_color(), text);
}

void draw_reference_line(ImDrawList* dl, const PlotRect& plot, float y, ImU32 color,
                         const char* label) {
  if (y < plot.min.y || y > plot.max.y) return;
  for (float x = plot.min.x; x < plot.max.x; x += 10)
    dl->AddLine(ImVec2(x, y), ImVec2(std::min(x + 6, plot.max.x), y), color, 1.5f);
  if (label) {
    const ImVec2 s = ImGui::CalcTextSize(label);
    dl->AddText(ImVec2(plot.max.x - s.x - 4, y - s.y - 1), color, label);
  }
}

void record_rect(const char* name, const PlotRect& r) {
  if (!name) return;
  for (auto& n : g_rects)
    if (n.name == name) {
      n.rect = r;
      return;
    }
  g_rects.push_back({name, r});
}

const std::vector<NamedRect>& named_rects() {
  return g_rects;
}

void clear_named_rects() {
  g_rects.clear();
}

}  // namespace moescope::widgets
