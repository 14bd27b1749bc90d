// A timeline of lanes (one per device, thread and stream), each a stack of rows of
// non-overlapping bars (e.g. layer ranges, expert ranges, ops), with a time axis, zoom (wheel,
// around the cursor) and pan (drag), bars narrower than a pixel merged into one block, labels
// inside bars that have room, and the item under the mouse.
#pragma once

#include <imgui.h>

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "inspectors/widgets/zoom_view.h"

namespace moescope::widgets {

struct TimelineItem {
  int64_t start = 0, end = 0;  // ns
  int32_t ref = 0;             // the caller's index (an op, a layer range, ...)
  ImU32 color = 0;
};

// Items sorted by start and not overlapping (so their ends are sorted too).
struct TimelineRow {
  std::vector<TimelineItem> items;
};

struct TimelineLane {
  std::string label;
  std::vector<TimelineRow> rows;
};

struct TimelineOptions {
  ZoomRange* view = nullptr;     // the visible time range (required for zoom and pan)
  int64_t t_min = 0, t_max = 0;  // the extent of the data; times are shown relative to t_min
  std::function<std::string(int lane, int row, const TimelineItem&)> label;  // text inside bars
  std::function<void(int lane, int row, const TimelineItem&)> tooltip;
  float row_height = 0;   // 0: a text line + padding
  float label_width = 0;  // 0: fit the lane labels
  const char* name = nullptr;
};

struct TimelineEvent {
  bool hovered = false;
  int lane = -1, row = -1;
  const TimelineItem* item = nullptr;  // under the mouse; valid until the lanes change
  bool clicked = false;
};

// Height the lanes need at the current font (for sizing a scrolling child around it).
float timeline_height(const std::vector<TimelineLane>& lanes, const TimelineOptions& options);

// The first item of a row whose end is >= t (binary search; rows are sorted and disjoint).
size_t first_visible(const TimelineRow& row, int64_t t);

TimelineEvent timeline(const char* id, const std::vector<TimelineLane>& lanes, ImVec2 size,
                       const TimelineOptions& options);

}  // namespace moescope::widgets
