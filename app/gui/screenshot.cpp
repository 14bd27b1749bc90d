#include "app/gui/screenshot.h"

#include <stb_image_write.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <fstream>
#include <nlohmann/json.hpp>

namespace moescope::gui {

Image crop(const Image& img, const widgets::PlotRect& r) {
  const int x0 = std::clamp(int(std::floor(r.min.x)), 0, img.w);
  const int y0 = std::clamp(int(std::floor(r.min.y)), 0, img.h);
  const int x1 = std::clamp(int(std::ceil(r.max.x)), x0, img.w);
  const int y1 = std::clamp(int(std::ceil(r.max.y)), y0, img.h);
  Image out;
  out.w = x1 - x0;
  out.h = y1 - y0;
  out.rgba.resize(size_t(out.w) * out.h * 4);
  for (int y = 0; y < out.h; ++y)
    std::memcpy(out.rgba.data() + size_t(y) * out.w * 4,
                img.rgba.data() + (size_t(y0 + y) * img.w + x0) * 4, size_t(out.w) * 4);
  return out;
}

bool write_png(const std::string& path, const Image& img, std::string* error) {
  if (img.w <= 0 || img.h <= 0) {
    *error = "empty image for " + path;
    return false;
  }
  // Opaque: the window's alpha channel is meaningless in a screenshot.
  std::vector<uint8_t> px = img.rgba;
  for (size_t i = 3; i < px.size(); i += 4) px[i] = 255;
  stbi_write_png_compression_level = 9;
  if (!stbi_write_png(path.c_str(), img.w, img.h, 4, px.data(), img.w * 4)) {
    *error = "cannot write " + path;
    return false;
  }
  return true;
}

bool write_rects(const std::string& path, const std::vector<widgets::NamedRect>& rects,
                 float origin_x, float origin_y, int w, int h, std::string* error) {
  nlohmann::json j = {{"width", w}, {"height", h}, {"rects", nlohmann::json::object()}};
  for (const auto& r : rects)
    j["rects"][r.name] = {r.rect.min.x - origin_x, r.rect.min.y - origin_y, r.rect.max.x - origin_x,
                          r.rect.max.y - origin_y};
  std::ofstream out(path);
  out << j.dump(2) << "\n";
  if (!out) {
    *error = "cannot write " + path;
    return false;
  }
  return true;
}

}  // namespace moescope::gui
