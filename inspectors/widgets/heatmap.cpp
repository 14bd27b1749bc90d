#include "inspectors/widgets/heatmap.h"

#include <imgui_internal.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <unordered_map>
#include <vector>

#include "inspectors/widgets/plot_frame.h"
#include "inspectors/widgets/texture.h"

namespace moescope::widgets {

namespace {

// What the last frame's image of a heat map was made from; it is rebuilt when any differs.
struct ImageKey {
  uint64_t version = 0;
  const float* values = nullptr;
  int rows = 0, cols = 0, c0 = 0, r0 = 0, tw = 0, th = 0, fx = 0, fy = 0, categories = 0;
  bool nan_transparent = false;
  float lo = 0, hi = 0, centre = 0;
  Colormap cm = Colormap::Viridis;
  bool operator==(const ImageKey&) const = default;
};

struct Cache {
  ImageKey image;
  uint64_t range_version = 0;
  const float* range_values = nullptr;
  float lo = 0, hi = 1;
};

std::unordered_map<ImGuiID, Cache>& caches() {
  static std::unordered_map<ImGuiID, Cache> c;
  return c;
}

// The value shown for cells [c0, c1) x [r0, r1): the max (continuous) or the first present one
// (categories: mixing ids would invent an expert).
float pool(const float* v, int cols, int r0, int r1, int c0, int c1, bool categorical) {
  float best = NAN;
  for (int r = r0; r < r1; ++r)
    for (int c = c0; c < c1; ++c) {
      const float x = v[int64_t(r) * cols + c];
      if (std::isnan(x)) continue;
      if (categorical) return x;
      if (std::isnan(best) || x > best) best = x;
    }
  return best;
}

ImU32 cell_color(float v, const HeatmapOptions& o, float lo, float hi) {
  if (std::isnan(v)) return o.nan_transparent ? 0 : missing_color();
  if (o.categories > 0) return category_color(int(v));
  return colormap_value(o.colormap, v, lo, hi, o.centre);
}

std::string label_of(const std::function<std::string(int)>& fn, int i) {
  return fn ? fn(i) : std::to_string(i);
}

// Text clipped to max_w pixels with an ellipsis.
std::string fit_text(std::string s, float max_w) {
  if (ImGui::CalcTextSize(s.c_str()).x <= max_w) return s;
  while (!s.empty() && ImGui::CalcTextSize((s + "..").c_str()).x > max_w) s.pop_back();
  return s + "..";
}

}  // namespace

void heatmap_range(const float* values, int64_t n, const HeatmapOptions& o, float* lo, float* hi) {
  if (o.categories > 0) {
    *lo = 0;
    *hi = float(o.categories - 1);
    return;
  }
  if (!o.auto_range) {
    *lo = o.lo;
    *hi = o.hi;
    return;
  }
  float a = INFINITY, b = -INFINITY;
  for (int64_t i = 0; i < n; ++i)
    if (std::isfinite(values[i])) {
      a = std::min(a, values[i]);
      b = std::max(b, values[i]);
    }
  if (a > b) a = b = 0;
  if (o.symmetric) {
    const float m = std::max(std::fabs(a), std::fabs(b));
    a = -m;
    b = m;
  }
  if (a == b) b = a + 1;  // a constant map still gets a legend
  *lo = a;
  *hi = b;
}

HeatmapEvent heatmap(const char* id, const float* values, int rows, int cols, ImVec2 size,
                     const HeatmapOptions& o) {
  HeatmapEvent ev;
  PlotRect frame;
  const ImGuiID gid = ImGui::GetID(id);
  if (!begin_plot(id, size, &frame)) return ev;
  record_rect(o.name, frame);
  ImDrawList* dl = ImGui::GetWindowDrawList();
  if (rows <= 0 || cols <= 0 || !values) {
    draw_centered_text(dl, frame, "no data yet");
    return ev;
  }
  Cache& cache = caches()[gid];
  if (o.version == 0 || cache.range_version != o.version || cache.range_values != values) {
    heatmap_range(values, int64_t(rows) * cols, o, &cache.lo, &cache.hi);
    cache.range_version = o.version;
    cache.range_values = values;
  }
  const float lo = cache.lo, hi = cache.hi;

  // Margins: row labels left, column labels and titles below, the legend right (or below).
  const float fh = ImGui::GetTextLineHeight();
  float label_w = 0;
  for (int r = 0; r < rows; r += std::max(1, rows / 64))
    label_w = std::max(label_w, ImGui::CalcTextSize(label_of(o.y_label, r).c_str()).x);
  label_w = std::min(label_w, o.max_label_width);
  float legend_w = o.categories > 0 ? 8.0f : 28.0f + ImGui::CalcTextSize("-0.000").x;
  if (o.categories == 0 && o.legend_title)
    legend_w = std::min(std::max(legend_w, ImGui::CalcTextSize(o.legend_title).x + 6), 150.0f);
  float legend_h = 0;
  if (o.categories > 0) {
    legend_h = draw_category_legend(nullptr, ImVec2(0, 0), frame.width() - label_w - 16,
                                    o.categories, o.category_prefix);
  }
  const float top = (o.y_title || o.legend_title) ? fh + 6 : 6;
  const float bottom = fh + 8 + (o.x_title ? fh + 2 : 0) + legend_h;
  const PlotRect plot = inset(frame, label_w + 10, top, legend_w + 6, bottom);

  ZoomView fit;
  ZoomView& v = o.view ? *o.view : fit;
  if (o.view) {
    zoom_pan_view(v, plot, 0, cols, 0, rows, std::min(cols, 4), std::min(rows, 4));
  } else {
    clamp_range(v.x, 0, cols, cols);
    clamp_range(v.y, 0, rows, rows);
  }
  const double x0 = v.x.lo, y0 = v.y.lo;
  const double cw = plot.width() / (v.x.hi - v.x.lo), ch = plot.height() / (v.y.hi - v.y.lo);
  const int c0 = std::max(0, int(std::floor(x0))), c1 = std::min(cols, int(std::ceil(v.x.hi)));
  const int r0 = std::max(0, int(std::floor(y0))), r1 = std::min(rows, int(std::ceil(v.y.hi)));
  // Cells per texel: 1 while a cell is at least a pixel, more when they must be pooled.
  const int fx = std::max(1, int(std::ceil(1.0 / cw))), fy = std::max(1, int(std::ceil(1.0 / ch)));
  const int tw = (c1 - c0 + fx - 1) / fx, th = (r1 - r0 + fy - 1) / fy;
  auto sx = [&](double c) { return plot.min.x + float((c - x0) * cw); };
  auto sy = [&](double r) { return plot.min.y + float((r - y0) * ch); };
  const bool categorical = o.categories > 0;

  dl->PushClipRect(plot.min, plot.max, true);
  TextureSource* ts = texture_source();
  if (int64_t(tw) * th <= 4096 || !ts) {
    const float gap = (cw > 12 && ch > 12) ? 1.0f : 0.0f;
    for (int ty = 0; ty < th; ++ty)
      for (int tx = 0; tx < tw; ++tx) {
        const int ca = c0 + tx * fx, cb = std::min(c1, ca + fx);
        const int ra = r0 + ty * fy, rb = std::min(r1, ra + fy);
        const float val = pool(values, cols, ra, rb, ca, cb, categorical);
        if (std::isnan(val) && o.nan_transparent) continue;
        dl->AddRectFilled(ImVec2(sx(ca), sy(ra)), ImVec2(sx(cb) - gap, sy(rb) - gap),
                          cell_color(val, o, lo, hi));
      }
  } else {
    const ImageKey key{o.version, values,       rows,
                       cols,      c0,           r0,
                       tw,        th,           fx,
                       fy,        o.categories, o.nan_transparent,
                       lo,        hi,           std::isnan(o.centre) ? -1e30f : o.centre,
                       o.colormap};
    ImTextureID tex = ts->get(gid);
    if (!tex || o.version == 0 || !(cache.image == key)) {
      std::vector<ImU32> img(size_t(tw) * th);
      for (int ty = 0; ty < th; ++ty)
        for (int tx = 0; tx < tw; ++tx) {
          const int ca = c0 + tx * fx, ra = r0 + ty * fy;
          img[size_t(ty) * tw + tx] = cell_color(
              pool(values, cols, ra, std::min(r1, ra + fy), ca, std::min(c1, ca + fx), categorical),
              o, lo, hi);
        }
      tex = ts->upload(gid, tw, th, img.data());
      cache.image = key;
    }
    dl->AddImage(tex, ImVec2(sx(c0), sy(r0)), ImVec2(sx(c0 + tw * fx), sy(r0 + th * fy)));
  }
  // Values inside cells that have room for them.
  if (o.show_values && fx == 1 && fy == 1 && ch >= fh + 2) {
    char buf[32];
    for (int r = r0; r < r1; ++r)
      for (int c = c0; c < c1; ++c) {
        const float val = values[int64_t(r) * cols + c];
        if (std::isnan(val)) continue;
        std::snprintf(buf, sizeof buf, o.value_format, val);
        const ImVec2 s = ImGui::CalcTextSize(buf);
        if (s.x + 4 > cw) continue;
        dl->AddText(ImVec2(sx(c + 0.5) - s.x * 0.5f, sy(r + 0.5) - s.y * 0.5f),
                    contrast_text(cell_color(val, o, lo, hi)), buf);
      }
  }
  if (o.selected_row >= 0 || o.selected_col >= 0) {
    const int ra = o.selected_row >= 0 ? o.selected_row : r0,
              rb = o.selected_row >= 0 ? o.selected_row + 1 : r1;
    const int ca = o.selected_col >= 0 ? o.selected_col : c0,
              cb = o.selected_col >= 0 ? o.selected_col + 1 : c1;
    dl->AddRect(ImVec2(sx(ca), sy(ra)), ImVec2(sx(cb), sy(rb)), IM_COL32(255, 255, 255, 230), 0, 0,
                2.0f);
  }
  dl->PopClipRect();
  dl->AddRect(plot.min, plot.max, axis_color());

  // Row labels: every k-th row so that they do not overlap.
  const int ky = std::max(1, int(std::ceil((fh + 1) / ch)));
  for (int r = (r0 + ky - 1) / ky * ky; r < r1; r += ky) {
    const float y = sy(r + 0.5);
    if (y < plot.min.y || y > plot.max.y) continue;
    const std::string s = fit_text(label_of(o.y_label, r), label_w);
    const float w = ImGui::CalcTextSize(s.c_str()).x;
    dl->AddText(ImVec2(plot.min.x - w - 6, y - fh * 0.5f), text_color(), s.c_str());
  }
  // Column labels: spaced by the widest label among the visible ones.
  float col_w = 0;
  for (int c = c0; c < c1; c += std::max(1, (c1 - c0) / 32))
    col_w = std::max(col_w, ImGui::CalcTextSize(label_of(o.x_label, c).c_str()).x);
  col_w = std::min(col_w, 120.0f);
  const int kx = std::max(1, int(std::ceil((col_w + 8) / cw)));
  for (int c = (c0 + kx - 1) / kx * kx; c < c1; c += kx) {
    const float x = sx(c + 0.5);
    if (x < plot.min.x || x > plot.max.x) continue;
    const std::string s = fit_text(label_of(o.x_label, c), std::max(float(cw * kx) - 6, 20.0f));
    const float w = ImGui::CalcTextSize(s.c_str()).x;
    dl->AddText(ImVec2(x - w * 0.5f, plot.max.y + 3), text_color(), s.c_str());
  }
  if (o.x_title) {
    const float w = ImGui::CalcTextSize(o.x_title).x;
    dl->AddText(ImVec2(plot.min.x + (plot.width() - w) * 0.5f, plot.max.y + fh + 5),
                dim_text_color(), o.x_title);
  }
  if (o.y_title) dl->AddText(ImVec2(frame.min.x + 4, frame.min.y + 2), dim_text_color(), o.y_title);
  if (categorical) {
    draw_category_legend(dl, ImVec2(plot.min.x, frame.max.y - legend_h), frame.max.x - plot.min.x,
                         o.categories, o.category_prefix);
  } else {
    draw_colorbar(dl, ImVec2(plot.max.x + 10, frame.min.y + 2), ImVec2(frame.max.x - 2, plot.max.y),
                  o.colormap, lo, hi, o.legend_title, o.centre);
  }

  // The cell under the mouse.
  const ImVec2 m = ImGui::GetIO().MousePos;
  if (ImGui::IsItemHovered() && plot.contains(m)) {
    const int col = int(std::floor(x0 + (m.x - plot.min.x) / cw));
    const int row = int(std::floor(y0 + (m.y - plot.min.y) / ch));
    if (row >= 0 && row < rows && col >= 0 && col < cols) {
      ev.hovered = true;
      ev.row = row;
      ev.col = col;
      dl->AddRect(ImVec2(sx(col), sy(row)), ImVec2(sx(col + 1), sy(row + 1)),
                  IM_COL32(255, 255, 255, 255), 0, 0, 1.5f);
      const float val = values[int64_t(row) * cols + col];
      ImGui::BeginTooltip();
      ImGui::Text("%s %s", o.y_title ? o.y_title : "row", label_of(o.y_label, row).c_str());
      ImGui::Text("%s %s", o.x_title ? o.x_title : "column", label_of(o.x_label, col).c_str());
      if (categorical)
        ImGui::Text("%s%d", o.category_prefix, int(val));
      else if (std::isnan(val))
        ImGui::TextDisabled("no data");
      else
        ImGui::Text("value %s", format_number(val).c_str());
      if (o.tooltip) o.tooltip(row, col);
      ImGui::EndTooltip();
      ev.clicked = ImGui::IsItemDeactivated() &&
                   ImGui::GetIO().MouseDragMaxDistanceSqr[ImGuiMouseButton_Left] < 9.0f;
    }
  }
  return ev;
}

}  // namespace moescope::widgets

namespace moescope::widgets {

ThumbnailEvent heatmap_thumbnail(const char* id, const float* values, int rows, int cols,
                                 ImVec2 size, Colormap colormap, float lo, float hi,
                                 uint64_t version, bool selected) {
  ThumbnailEvent ev;
  PlotRect r;
  const ImGuiID gid = ImGui::GetID(id);
  if (!begin_plot(id, size, &r)) return ev;
  ImDrawList* dl = ImGui::GetWindowDrawList();
  ev.hovered = ImGui::IsItemHovered();
  ev.clicked = ImGui::IsItemDeactivated() && ev.hovered;
  if (rows > 0 && cols > 0 && values) {
    // Pooled to at most the thumbnail's pixels; drawn as a texture when there is a source.
    const int tw = std::min(cols, std::max(1, int(r.width()))),
              th = std::min(rows, std::max(1, int(r.height())));
    const int fx = (cols + tw - 1) / tw, fy = (rows + th - 1) / th;
    const int w = (cols + fx - 1) / fx, h = (rows + fy - 1) / fy;
    TextureSource* ts = texture_source();
    Cache& cache = caches()[gid];
    const ImageKey key{version, values, rows, cols,  0,  0,  w, h,
                       fx,      fy,     0,    false, lo, hi, 0, colormap};
    auto color_at = [&](int ty, int tx) {
      const float v = pool(values, cols, ty * fy, std::min(rows, ty * fy + fy), tx * fx,
                           std::min(cols, tx * fx + fx), false);
      return colormap_value(colormap, v, lo, hi);
    };
    if (ts && w * h > 256) {
      ImTextureID tex = ts->get(gid);
      if (!tex || version == 0 || !(cache.image == key)) {
        std::vector<ImU32> img(size_t(w) * h);
        for (int ty = 0; ty < h; ++ty)
          for (int tx = 0; tx < w; ++tx) img[size_t(ty) * w + tx] = color_at(ty, tx);
        tex = ts->upload(gid, w, h, img.data());
        cache.image = key;
      }
      dl->AddImage(tex, r.min, r.max);
    } else {
      const float cw = r.width() / w, ch = r.height() / h;
      for (int ty = 0; ty < h; ++ty)
        for (int tx = 0; tx < w; ++tx)
          dl->AddRectFilled(ImVec2(r.min.x + tx * cw, r.min.y + ty * ch),
                            ImVec2(r.min.x + (tx + 1) * cw, r.min.y + (ty + 1) * ch),
                            color_at(ty, tx));
    }
  } else {
    dl->AddLine(r.min, r.max, dim_text_color());
  }
  if (selected)
    dl->AddRect(ImVec2(r.min.x - 2, r.min.y - 2), ImVec2(r.max.x + 2, r.max.y + 2),
                IM_COL32(255, 255, 255, 255), 0, 0, 2.5f);
  else if (ev.hovered)
    dl->AddRect(r.min, r.max, IM_COL32(255, 255, 255, 160));
  return ev;
}

}  // namespace moescope::widgets
