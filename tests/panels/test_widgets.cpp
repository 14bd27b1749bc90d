// The plot widgets without a window: layout and hover mapping, the numbers they print, pooling,
// the timeline's search and merging, and that every widget draws something (and a friendly
// "no data" when given nothing).
#include <gtest/gtest.h>

#include <cmath>
#include <set>
#include <vector>

#include "inspectors/widgets/bar_chart.h"
#include "inspectors/widgets/colormap.h"
#include "inspectors/widgets/heatmap.h"
#include "inspectors/widgets/histogram.h"
#include "inspectors/widgets/line_chart.h"
#include "inspectors/widgets/plot_frame.h"
#include "inspectors/widgets/timeline.h"
#include "tests/panels/imgui_harness.h"

namespace moescope {
namespace {

using namespace widgets;

TEST(Widgets, NiceTicksAreRoundAndInside) {
  const auto t = nice_ticks(0, 1, 5);
  ASSERT_EQ(t.size(), 6u);  // 0, 0.2, .. 1
  EXPECT_DOUBLE_EQ(t[1], 0.2);
  for (double v : nice_ticks(3.7, 48.2, 6)) {
    EXPECT_GE(v, 3.7);
    EXPECT_LE(v, 48.2);
    EXPECT_EQ(std::fmod(v, 10.0), 0.0) << v;  // step 10 for that span
  }
  EXPECT_EQ(nice_ticks(2, 2, 5).size(), 1u);
  EXPECT_TRUE(nice_ticks(NAN, 1, 5).empty());
}

TEST(Widgets, NumberFormats) {
  EXPECT_EQ(format_number(0), "0");
  EXPECT_EQ(format_number(0.25), "0.25");
  EXPECT_EQ(format_number(12500), "12.5k");
  EXPECT_EQ(format_number(3.4e6), "3.4M");
  EXPECT_EQ(format_duration_ns(850), "850 ns");
  EXPECT_EQ(format_duration_ns(12300), "12.3 us");
  EXPECT_EQ(format_duration_ns(4.56e6), "4.56 ms");
  EXPECT_EQ(format_bytes(1536), "1.5 KiB");
}

TEST(Widgets, ExpertColoursAreDistinct) {
  std::set<ImU32> seen;
  for (int i = 0; i < 64; ++i) seen.insert(category_color(i));
  EXPECT_EQ(seen.size(), 64u);
  // Colour maps run from dark to bright, and the diverging map is white in the middle.
  auto lum = [](ImU32 c) {
    return 0.3 * ((c >> IM_COL32_R_SHIFT) & 255) + 0.59 * ((c >> IM_COL32_G_SHIFT) & 255) +
           0.11 * ((c >> IM_COL32_B_SHIFT) & 255);
  };
  EXPECT_LT(lum(colormap(Colormap::Viridis, 0)), lum(colormap(Colormap::Viridis, 1)));
  EXPECT_GT(lum(colormap(Colormap::Diverging, 0.5f)), 240);
  EXPECT_EQ(colormap(Colormap::Viridis, NAN), missing_color());
}

TEST(Widgets, HeatmapRange) {
  const float v[] = {-1, 3, NAN, 2};
  HeatmapOptions o;
  float lo, hi;
  heatmap_range(v, 4, o, &lo, &hi);
  EXPECT_EQ(lo, -1);
  EXPECT_EQ(hi, 3);
  o.symmetric = true;
  heatmap_range(v, 4, o, &lo, &hi);
  EXPECT_EQ(lo, -3);
  EXPECT_EQ(hi, 3);
  o.categories = 8;
  heatmap_range(v, 4, o, &lo, &hi);
  EXPECT_EQ(hi, 7);
}

TEST(Widgets, HeatmapHoverFindsTheCellUnderTheMouse) {
  test::ImGuiHarness ui;
  std::vector<float> v(4 * 8);
  for (size_t i = 0; i < v.size(); ++i) v[i] = float(i);
  HeatmapEvent ev;
  auto draw = [&] {
    ImGui::SetCursorScreenPos(ImVec2(100, 100));
    HeatmapOptions o;
    o.name = "hm";
    ev = heatmap("hm", v.data(), 4, 8, ImVec2(600, 300), o);
  };
  ui.frame(draw);
  const auto& rects = named_rects();
  ASSERT_EQ(rects.size(), 1u);
  EXPECT_EQ(rects[0].rect.min.x, 100);
  EXPECT_EQ(rects[0].rect.max.y, 400);
  // The plot area sits inside the frame; aim at the centre of the frame, then at a point
  // inside the bottom-right quarter, and check that rows and columns grow right and down.
  ui.set_mouse(ImVec2(350, 220));
  ui.frame(draw);
  ui.frame(draw);
  ASSERT_TRUE(ev.hovered);
  const int r1 = ev.row, c1 = ev.col;
  EXPECT_GE(r1, 0);
  EXPECT_LT(r1, 4);
  ui.set_mouse(ImVec2(560, 330));
  ui.frame(draw);
  ASSERT_TRUE(ev.hovered);
  EXPECT_GT(ev.col, c1);
  EXPECT_GE(ev.row, r1);
  ui.set_mouse(ImVec2(5, 5));
  ui.frame(draw);
  EXPECT_FALSE(ev.hovered);
}

TEST(Widgets, HeatmapZoomNarrowsTheView) {
  test::ImGuiHarness ui;
  std::vector<float> v(64 * 64, 1.0f);
  ZoomView view;
  auto draw = [&] {
    ImGui::SetCursorScreenPos(ImVec2(50, 50));
    HeatmapOptions o;
    o.view = &view;
    heatmap("zoomable", v.data(), 64, 64, ImVec2(500, 500), o);
  };
  ui.frame(draw);
  EXPECT_DOUBLE_EQ(view.x.hi - view.x.lo, 64);
  ui.set_mouse(ImVec2(300, 300));
  ui.frame(draw);
  ui.set_wheel(3);
  ui.frame(draw);
  EXPECT_LT(view.x.hi - view.x.lo, 64);
  EXPECT_LT(view.y.hi - view.y.lo, 64);
  EXPECT_GE(view.x.lo, 0);
  EXPECT_LE(view.x.hi, 64);
}

TEST(Widgets, HistogramBins) {
  std::vector<double> v = {1, 2, 3, 4, 100};
  Histogram h = make_histogram(v, 4, false);
  EXPECT_EQ(h.total, 5);
  EXPECT_EQ(h.counts[0], 4);
  EXPECT_EQ(h.counts[3], 1);
  Histogram lg = make_histogram({10, 100, 1000, -1}, 3, true);
  EXPECT_EQ(lg.total, 3);  // the negative value cannot be placed on a log axis
  EXPECT_EQ(lg.counts[0], 1);
  EXPECT_EQ(lg.counts[1], 1);
  EXPECT_EQ(lg.counts[2], 1);
  EXPECT_NEAR(lg.edge(1), std::pow(10.0, 1 + 2.0 / 3), 1e-9);  // equal steps in log10
}

TEST(Widgets, TimelineSearchAndHover) {
  TimelineLane lane{"cpu thread 0", {}};
  lane.rows.resize(1);
  for (int i = 0; i < 1000; ++i)
    lane.rows[0].items.push_back({i * 100, i * 100 + 50, i, category_color(i % 4)});
  EXPECT_EQ(first_visible(lane.rows[0], 0), 0u);
  EXPECT_EQ(first_visible(lane.rows[0], 51), 1u);
  EXPECT_EQ(first_visible(lane.rows[0], 50), 0u);
  EXPECT_EQ(first_visible(lane.rows[0], 1000000), 1000u);

  test::ImGuiHarness ui;
  std::vector<TimelineLane> lanes{lane};
  ZoomRange view;
  TimelineEvent ev;
  int verts_zoomed_out = 0;
  auto draw = [&] {
    ImGui::SetCursorScreenPos(ImVec2(0, 100));
    TimelineOptions o;
    o.view = &view;
    o.t_min = 0;
    o.t_max = 100000;
    ev = timeline("tl", lanes, ImVec2(1000, 0), o);
  };
  verts_zoomed_out = ui.frame(draw);
  // 1000 items of ~0.4 px each are merged into a few blocks, not 1000 rectangles.
  EXPECT_LT(verts_zoomed_out, 1000 * 4);
  // Zoom in around the left edge until single items are wide, then hover one.
  ui.set_mouse(ImVec2(200, 100 + ImGui::GetTextLineHeight() + 12));
  ui.frame(draw);
  for (int i = 0; i < 30; ++i) {
    ui.set_wheel(2);
    ui.frame(draw);
  }
  EXPECT_LT(view.hi - view.lo, 5000);
  // Aim at the middle of item k, then at the gap after it.
  const float plot_x0 = ImGui::CalcTextSize("cpu thread 0").x + 12, plot_x1 = 1000 - 4;
  const double px_per_ns = (plot_x1 - plot_x0) / (view.hi - view.lo);
  const int k = int(std::ceil(view.lo / 100)) + 1;
  const float y = 100 + ImGui::GetTextLineHeight() + 12;
  ui.set_mouse(ImVec2(plot_x0 + float((k * 100 + 25 - view.lo) * px_per_ns), y));
  ui.frame(draw);
  ASSERT_TRUE(ev.hovered);
  ASSERT_NE(ev.item, nullptr);
  EXPECT_EQ(ev.item->ref, k);
  ui.set_mouse(ImVec2(plot_x0 + float((k * 100 + 75 - view.lo) * px_per_ns), y));
  ui.frame(draw);
  EXPECT_TRUE(ev.hovered);
  EXPECT_EQ(ev.item, nullptr);
}

TEST(Widgets, EveryWidgetDrawsAndSaysWhenEmpty) {
  test::ImGuiHarness ui;
  std::vector<float> ys = {1, 3, 2, 5, 4};
  int with_data = ui.frame([&] {
    BarSeries s{"load", ys.data(), 0};
    bar_chart("bars", 5, &s, 1, ImVec2(400, 200), {});
    LineSeries l{"cv", nullptr, ys.data(), 5, 0};
    line_chart("lines", &l, 1, ImVec2(400, 200), {});
    histogram("hist", make_histogram({1, 2, 2, 3}, 3, false), ImVec2(400, 200), {});
  });
  int empty = ui.frame([&] {
    bar_chart("bars", 0, nullptr, 0, ImVec2(400, 200), {});
    LineSeries l{"cv", nullptr, ys.data(), 0, 0};
    line_chart("lines", &l, 1, ImVec2(400, 200), {});
    histogram("hist", Histogram{}, ImVec2(400, 200), {});
  });
  EXPECT_GT(with_data, empty);
  EXPECT_GT(empty, 0);  // "no data yet" text
}

TEST(Widgets, ZoomFollowsAGrowingRun) {
  using widgets::clamp_range;
  widgets::ZoomRange whole;
  clamp_range(whole, 0, 10, 1);
  clamp_range(whole, 0, 20, 1);  // showed everything: still does
  EXPECT_EQ(whole.lo, 0);
  EXPECT_EQ(whole.hi, 20);
  widgets::ZoomRange tail;
  clamp_range(tail, 0, 10, 1);
  tail.lo = 6;  // zoomed on the end
  clamp_range(tail, 0, 10, 1);
  clamp_range(tail, 0, 30, 1);  // follows the end, same span
  EXPECT_EQ(tail.hi, 30);
  EXPECT_EQ(tail.lo, 26);
  widgets::ZoomRange middle;
  clamp_range(middle, 0, 10, 1);
  middle.lo = 2;
  middle.hi = 5;
  clamp_range(middle, 0, 10, 1);
  clamp_range(middle, 0, 30, 1);  // looking at the middle: stays
  EXPECT_EQ(middle.lo, 2);
  EXPECT_EQ(middle.hi, 5);
}

}  // namespace
}  // namespace moescope
