// The visible part of a plot's data, owned by the panel so that zoom and pan survive between
// frames: mouse wheel zooms around the cursor, a left-button drag pans, a double click fits the
// whole data again.
#pragma once

#include "inspectors/widgets/plot_frame.h"

namespace moescope::widgets {

struct ZoomRange {
  double lo = 0, hi = 0;
  bool valid = false;  // false: fit to the data on the next frame
  // The data's extent when last clamped: a view that showed all of it keeps showing all of it
  // as a live run grows, and one that showed its end follows the end.
  double extent_lo = 0, extent_hi = 0;
};

struct ZoomView {
  ZoomRange x, y;
  void reset() { x.valid = y.valid = false; }
};

// Fits r to [lo, hi] when not valid; follows a growing extent (see ZoomRange); clamps it to
// [lo, hi] with a span of at least min_span.
void clamp_range(ZoomRange& r, double lo, double hi, double min_span);

// Applies this frame's wheel / drag / double click over the plot just reserved with
// begin_plot() to one axis (pixels from px0 to px1 map lo..hi of r; flip for axes that grow
// downwards are not needed: callers map rows top-down). zoom_axis: whether the wheel zooms it.
// Returns true when the range changed.
bool zoom_pan(ZoomRange& r, float px0, float px1, float mouse, float drag_delta, bool zoom_axis,
              double lo, double hi, double min_span);

// Both axes of a view at once over plot, for the plot item just reserved. Wheel zooms both,
// Shift+wheel only x, Ctrl+wheel only y.
bool zoom_pan_view(ZoomView& v, const PlotRect& plot, double x_lo, double x_hi, double y_lo,
                   double y_hi, double min_span_x, double min_span_y, bool zoom_x = true,
                   bool zoom_y = true);

}  // namespace moescope::widgets
