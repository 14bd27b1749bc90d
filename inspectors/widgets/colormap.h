// Colours shared by every plot: sequential and diverging colour maps for heat maps, a
// categorical palette for experts (the same expert has the same colour in every panel), and the
// colour legend drawn beside a heat map.
#pragma once

#include <imgui.h>

#include <cmath>
#include <cstdint>

namespace moescope::widgets {

enum class Colormap {
  Viridis,   // sequential, perceptually uniform, readable in grey: counts, probabilities
  Magma,     // sequential, dark to bright: attention (mass stands out on a dark background)
  Diverging  // blue - white - red around the middle: differences and shares against uniform
};

// t in [0, 1] (clamped). NaN gives the "missing" colour.
ImU32 colormap(Colormap cm, float t);
// Where v falls on a map spanning [lo, hi]: 0 .. 1, linear; with a finite centre, [lo, centre]
// and [centre, hi] each take half (a diverging map whose neutral colour is not mid-range, e.g.
// load / uniform from 0 to E/k with 1 neutral).
float colormap_t(float v, float lo, float hi, float centre = NAN);
// The colour of value v on a map spanning [lo, hi] (see colormap_t).
ImU32 colormap_value(Colormap cm, float v, float lo, float hi, float centre = NAN);

// Cells with no data (NaN): a dark grey distinct from every map's low end.
ImU32 missing_color();

// Expert i of n: well-separated hues for the first 12, golden-angle hues after that.
ImU32 category_color(int i);
// The same colour with alpha a in [0, 1].
ImU32 with_alpha(ImU32 c, float a);
// Black or white, whichever reads better on background c.
ImU32 contrast_text(ImU32 c);

// A vertical colour bar in rect with tick labels on its right (title above), for [lo, hi].
void draw_colorbar(ImDrawList* dl, ImVec2 min, ImVec2 max, Colormap cm, float lo, float hi,
                   const char* title, float centre = NAN);
// Swatches with names for n categories ("E0".. by default), laid out in rows within width.
// Returns the height used; with a null dl it only measures.
float draw_category_legend(ImDrawList* dl, ImVec2 at, float width, int n, const char* prefix);

}  // namespace moescope::widgets
