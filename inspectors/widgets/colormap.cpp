#include "inspectors/widgets/colormap.h"

#include <algorithm>
#include <cmath>
#include <cstdio>

#include "inspectors/widgets/plot_frame.h"

namespace moescope::widgets {

namespace {

struct Stop {
  unsigned char r, g, b;
};

// Sampled at equal steps from matplotlib's viridis and magma, and ColorBrewer's RdBu (reversed
// so that negative is blue).
constexpr Stop kViridis[] = {{68, 1, 84},    {71, 44, 122},  {59, 81, 139},
                             {44, 113, 142}, {33, 144, 141}, {39, 173, 129},
                             {92, 200, 99},  {170, 220, 50}, {253, 231, 37}};
constexpr Stop kMagma[] = {{0, 0, 4},      {28, 16, 68},    {79, 18, 123},
                           {129, 37, 129}, {181, 54, 122},  {229, 80, 100},
                           {251, 135, 97}, {254, 194, 135}, {252, 253, 191}};
constexpr Stop kDiverging[] = {{5, 48, 97},     {33, 102, 172},  {67, 147, 195},  {146, 197, 222},
                               {209, 229, 240}, {247, 247, 247}, {253, 219, 199}, {244, 165, 130},
                               {214, 96, 77},   {178, 24, 43},   {103, 0, 31}};

// Tableau 10 without its grey (it reads as "no data" on a dark background), then two extras.
constexpr Stop kCategories[] = {{31, 119, 180},  {255, 127, 14},  {44, 160, 44},   {214, 39, 40},
                                {148, 103, 189}, {140, 86, 75},   {227, 119, 194}, {188, 189, 34},
                                {23, 190, 207},  {255, 187, 120}, {152, 223, 138}, {174, 199, 232}};

template <size_t N>
ImU32 sample(const Stop (&stops)[N], float t) {
  t = std::clamp(t, 0.0f, 1.0f) * float(N - 1);
  const size_t i = std::min(size_t(t), N - 2);
  const float f = t - float(i);
  auto mix = [f](unsigned char a, unsigned char b) { return int(a + (b - a) * f + 0.5f); };
  return IM_COL32(mix(stops[i].r, stops[i + 1].r), mix(stops[i].g, stops[i + 1].g),
                  mix(stops[i].b, stops[i + 1].b), 255);
}

}  // namespace

ImU32 missing_color() {
  return IM_COL32(48, 48, 52, 255);
}

ImU32 colormap(Colormap cm, float t) {
  if (std::isnan(t)) return missing_color();
  switch (cm) {
    case Colormap::Viridis:
      return sample(kViridis, t);
    case Colormap::Magma:
      return sample(kMagma, t);
    case Colormap::Diverging:
      return sample(kDiverging, t);
  }
  return missing_color();
}

float colormap_t(float v, float lo, float hi, float centre) {
  if (std::isnan(v)) return NAN;
  if (std::isfinite(centre) && centre > lo && centre < hi)
    return v < centre ? 0.5f * (v - lo) / (centre - lo)
                      : 0.5f + 0.5f * (v - centre) / (hi - centre);
  const float span = hi - lo;
  return span > 0 ? (v - lo) / span : 0.5f;
}

ImU32 colormap_value(Colormap cm, float v, float lo, float hi, float centre) {
  return colormap(cm, colormap_t(v, lo, hi, centre));
}

ImU32 category_color(int i) {
  if (i < 0) return missing_color();
  constexpr int n = int(sizeof(kCategories) / sizeof(kCategories[0]));
  if (i < n) return IM_COL32(kCategories[i].r, kCategories[i].g, kCategories[i].b, 255);
  // Golden-angle hue steps keep neighbours apart for any number of experts.
  const float h = std::fmod(0.61803398875f * float(i), 1.0f);
  float r, g, b;
  ImGui::ColorConvertHSVtoRGB(h, 0.65f, 0.9f, r, g, b);
  return ImGui::ColorConvertFloat4ToU32(ImVec4(r, g, b, 1.0f));
}

ImU32 with_alpha(ImU32 c, float a) {
  const ImU32 alpha = ImU32(std::clamp(a, 0.0f, 1.0f) * 255.0f + 0.5f);
  return (c & ~IM_COL32_A_MASK) | (alpha << IM_COL32_A_SHIFT);
}

ImU32 contrast_text(ImU32 c) {
  const float r = float((c >> IM_COL32_R_SHIFT) & 0xFF), g = float((c >> IM_COL32_G_SHIFT) & 0xFF),
              b = float((c >> IM_COL32_B_SHIFT) & 0xFF);
  return 0.299f * r + 0.587f * g + 0.114f * b > 140.0f ? IM_COL32(0, 0, 0, 255)
                                                       : IM_COL32(255, 255, 255, 255);
}

void draw_colorbar(ImDrawList* dl, ImVec2 min, ImVec2 max, Colormap cm, float lo, float hi,
                   const char* title, float centre) {
  const float fh = ImGui::GetTextLineHeight();
  if (title) {
    // Clipped to the legend's own column: a long title must not run into the next plot.
    dl->PushClipRect(ImVec2(min.x, min.y), ImVec2(max.x, min.y + fh), true);
    dl->AddText(ImVec2(min.x, min.y), text_color(), title);
    dl->PopClipRect();
    min.y += fh + 4;
  }
  const float bar_w = std::min(16.0f, max.x - min.x);
  const ImVec2 bar_max(min.x + bar_w, max.y - fh * 0.5f);
  min.y += fh * 0.5f;  // room for the top tick label
  if (bar_max.y <= min.y) return;
  // Top = hi: a stack of gradient segments.
  constexpr int kSegments = 32;
  const float seg = (bar_max.y - min.y) / kSegments;
  for (int s = 0; s < kSegments; ++s) {
    const float t0 = 1.0f - float(s) / kSegments, t1 = 1.0f - float(s + 1) / kSegments;
    const ImU32 c0 = colormap(cm, t0), c1 = colormap(cm, t1);
    dl->AddRectFilledMultiColor(ImVec2(min.x, min.y + seg * s),
                                ImVec2(bar_max.x, min.y + seg * (s + 1) + 0.5f), c0, c0, c1, c1);
  }
  dl->AddRect(min, bar_max, axis_color());
  auto ticks = nice_ticks(lo, hi, std::max(2, int((bar_max.y - min.y) / (fh * 2.2f))));
  if (std::isfinite(centre) && std::find(ticks.begin(), ticks.end(), double(centre)) == ticks.end())
    ticks.push_back(centre);
  float last_y = 1e9f;
  std::sort(ticks.begin(), ticks.end());
  for (double v : ticks) {
    const float y = bar_max.y - colormap_t(float(v), lo, hi, centre) * (bar_max.y - min.y);
    if (std::fabs(y - last_y) < fh) continue;  // no overlapping labels
    last_y = y;
    dl->AddLine(ImVec2(bar_max.x, y), ImVec2(bar_max.x + 4, y), axis_color());
    dl->AddText(ImVec2(bar_max.x + 6, y - fh * 0.5f), text_color(), format_number(v).c_str());
  }
}

float draw_category_legend(ImDrawList* dl, ImVec2 at, float width, int n, const char* prefix) {
  const float fh = ImGui::GetTextLineHeight();
  float x = at.x, y = at.y;
  char buf[32];
  for (int i = 0; i < n; ++i) {
    std::snprintf(buf, sizeof buf, "%s%d", prefix ? prefix : "E", i);
    const float w = fh + 4 + ImGui::CalcTextSize(buf).x + 12;
    if (x + w > at.x + width && x > at.x) {
      x = at.x;
      y += fh + 4;
    }
    if (dl) {
      dl->AddRectFilled(ImVec2(x, y + 2), ImVec2(x + fh - 4, y + fh - 2), category_color(i), 2.0f);
      dl->AddText(ImVec2(x + fh, y), text_color(), buf);
    }
    x += w;
  }
  return y + fh + 4 - at.y;
}

}  // namespace moescope::widgets
