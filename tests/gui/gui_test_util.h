// Helpers of the workbench tests that run under a display (xvfb-run): whether there is one,
// reading screenshots and the plot rectangles written beside them, and counting pixels.
#pragma once

#include <cstdint>
#include <cstdlib>
#include <functional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace moescope::test {

// The tests that need a window skip when there is no display (ctest runs them under xvfb-run;
// without xvfb-run installed they skip cleanly).
inline bool have_display() {
  const char* d = std::getenv("DISPLAY");
  return d && d[0];
}

struct Png {
  int w = 0, h = 0;
  std::vector<uint8_t> rgba;
  bool ok() const { return w > 0; }
  const uint8_t* at(int x, int y) const { return rgba.data() + (size_t(y) * w + x) * 4; }
};

Png load_png(const std::string& path);

struct Rect {
  int x0 = 0, y0 = 0, x1 = 0, y1 = 0;
  bool empty() const { return x1 <= x0 || y1 <= y0; }
};

// The rectangle named `name` in the JSON written beside a screenshot (empty when absent).
Rect named_rect(const std::string& json_path, const std::string& name);

// Pixels of r (shrunk by inset) for which pred(r, g, b) holds.
int64_t count_pixels(const Png& img, Rect r, int inset,
                     const std::function<bool(int, int, int)>& pred);
// Distinct colours in r (shrunk by inset).
size_t distinct_colours(const Png& img, Rect r, int inset);
// Whether colour (r, g, b) appears exactly in r.
bool has_colour(const Png& img, Rect r, uint32_t rgb);

// Not the plot background, a window background or a grey: a data colour.
bool is_saturated(int r, int g, int b);
bool is_background(int r, int g, int b);

std::string slurp(const std::string& path);
nlohmann::json read_json(const std::string& path);

}  // namespace moescope::test
