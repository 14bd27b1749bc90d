// Screenshots of the workbench: the rendered frame (or one panel's rectangle of it) as a PNG,
// and beside it a JSON file naming the rectangles of the plots drawn in that frame, so tests and
// scripts can check the pixels of one plot.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "inspectors/widgets/plot_frame.h"

namespace moescope::gui {

struct Image {
  int w = 0, h = 0;
  std::vector<uint8_t> rgba;  // top row first
};

// The part of img inside r (clamped to the image).
Image crop(const Image& img, const widgets::PlotRect& r);
// Writes img as PNG; false (error set) when the file cannot be written.
bool write_png(const std::string& path, const Image& img, std::string* error);
// Writes the named rectangles (shifted by -origin, i.e. in the cropped image's pixels) as JSON.
bool write_rects(const std::string& path, const std::vector<widgets::NamedRect>& rects,
                 float origin_x, float origin_y, int w, int h, std::string* error);

}  // namespace moescope::gui
