#include "tests/gui/gui_test_util.h"

#include <stb_image.h>

#include <algorithm>
#include <fstream>
#include <set>
#include <sstream>

namespace moescope::test {

Png load_png(const std::string& path) {
  Png p;
  int n = 0;
  unsigned char* data = stbi_load(path.c_str(), &p.w, &p.h, &n, 4);
  if (!data) {
    p.w = p.h = 0;
    return p;
  }
  p.rgba.assign(data, data + size_t(p.w) * p.h * 4);
  stbi_image_free(data);
  return p;
}

Rect named_rect(const std::string& json_path, const std::string& name) {
  Rect r;
  const auto j = read_json(json_path);
  if (!j.contains("rects") || !j["rects"].contains(name)) return r;
  const auto& a = j["rects"][name];
  r.x0 = int(a[0].get<double>());
  r.y0 = int(a[1].get<double>());
  r.x1 = int(a[2].get<double>());
  r.y1 = int(a[3].get<double>());
  return r;
}

int64_t count_pixels(const Png& img, Rect r, int inset,
                     const std::function<bool(int, int, int)>& pred) {
  int64_t n = 0;
  for (int y = std::max(0, r.y0 + inset); y < std::min(img.h, r.y1 - inset); ++y)
    for (int x = std::max(0, r.x0 + inset); x < std::min(img.w, r.x1 - inset); ++x) {
      const uint8_t* p = img.at(x, y);
      if (pred(p[0], p[1], p[2])) ++n;
    }
  return n;
}

size_t distinct_colours(const Png& img, Rect r, int inset) {
  std::set<uint32_t> seen;
  count_pixels(img, r, inset, [&](int a, int b, int c) {
    seen.insert(uint32_t(a) << 16 | uint32_t(b) << 8 | uint32_t(c));
    return true;
  });
  return seen.size();
}

bool has_colour(const Png& img, Rect r, uint32_t rgb) {
  const int R = int(rgb >> 16 & 255), G = int(rgb >> 8 & 255), B = int(rgb & 255);
  return count_pixels(img, r, 0, [&](int a, int b, int c) { return a == R && b == G && c == B; }) >
         0;
}

bool is_saturated(int r, int g, int b) {
  return std::max({r, g, b}) - std::min({r, g, b}) > 50;
}

bool is_background(int r, int g, int b) {
  // Plot and window backgrounds are dark greys (all channels below 50, nearly equal).
  return std::max({r, g, b}) < 50 && std::max({r, g, b}) - std::min({r, g, b}) < 12;
}

std::string slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

nlohmann::json read_json(const std::string& path) {
  try {
    return nlohmann::json::parse(slurp(path));
  } catch (const std::exception&) {
    return nlohmann::json::object();
  }
}

}  // namespace moescope::test
