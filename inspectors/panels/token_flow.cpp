#include "inspectors/panels/token_flow.h"

#include <algorithm>

namespace moescope::panels {

void TokenFlow::begin(float width, float line_height) {
  if (width != width_ || line_height != line_h_) {
    boxes_.clear();
    tokens_ = 0;
    x_ = y_ = 0;
    width_ = width;
    line_h_ = line_height;
  }
}

size_t TokenFlow::first_box_below(float y) const {
  return size_t(std::partition_point(boxes_.begin(), boxes_.end(),
                                     [&](const TokenBox& b) { return b.y + line_h_ < y; }) -
                boxes_.begin());
}

int64_t TokenFlow::token_at(float x, float y) const {
  for (size_t i = first_box_below(y); i < boxes_.size() && boxes_[i].y <= y; ++i) {
    const TokenBox& b = boxes_[i];
    if (y >= b.y && y < b.y + line_h_ && x >= b.x && x < b.x + std::max(b.w, 4.0f)) return b.token;
  }
  return -1;
}

}  // namespace moescope::panels
