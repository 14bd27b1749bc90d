// The plot widgets drawn in a real OpenGL window (through the texture path that headless tests
// cannot take) and read back: a heat map has its colours and its legend, categories get their
// own palette colours, and a timeline draws bars.
#include <gtest/gtest.h>
#include <imgui.h>

#include <memory>
#include <string>

#include "app/gui/gl_textures.h"
#include "app/gui/window.h"
#include "inspectors/widgets/colormap.h"
#include "inspectors/widgets/heatmap.h"
#include "inspectors/widgets/timeline.h"
#include "tests/gui/gui_test_util.h"

namespace moescope {
namespace {

// One window for the whole suite: closing GLFW and reconnecting to the X server in the same
// process (which the workbench never does) fails now and then under Xvfb ("Failed to open
// display"), and the widgets need nothing from a fresh window.
class WidgetPixels : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    if (!test::have_display()) return;
    window_ = gui::Window::create(900, 700, "widget pixels", &error_);
    if (window_) textures_ = std::make_unique<gui::GlTextures>();
  }
  static void TearDownTestSuite() {
    textures_.reset();  // while the GL context still exists
    window_.reset();
  }
  void SetUp() override {
    if (!test::have_display()) GTEST_SKIP() << "no display (run under xvfb-run)";
    ASSERT_TRUE(window_) << error_;
    widgets::set_texture_source(textures_.get());
  }
  void TearDown() override { widgets::set_texture_source(nullptr); }
  // Draws body for a few frames (hover and layout settle) and returns the last frame.
  test::Png render(const std::function<void()>& body) {
    test::Png img;
    for (int i = 0; i < 3; ++i) {
      window_->poll(false, 0);
      ImVec2 away(-1e6f, -1e6f);
      window_->begin_frame(&away);
      widgets::clear_named_rects();
      ImGui::SetNextWindowPos(ImVec2(0, 0));
      ImGui::SetNextWindowSize(ImGui::GetIO().DisplaySize);
      ImGui::Begin("w", nullptr, ImGuiWindowFlags_NoDecoration);
      body();
      ImGui::End();
      window_->end_frame();
      img.rgba = window_->read_pixels(&img.w, &img.h);
      window_->swap();
    }
    return img;
  }
  test::Rect rect(const char* name) {
    for (const auto& r : widgets::named_rects())
      if (r.name == name)
        return {int(r.rect.min.x), int(r.rect.min.y), int(r.rect.max.x), int(r.rect.max.y)};
    return {};
  }

  static inline std::unique_ptr<gui::Window> window_;
  static inline std::unique_ptr<gui::GlTextures> textures_;
  static inline std::string error_;
};

TEST_F(WidgetPixels, LargeHeatMapIsDrawnAsATextureWithItsColours) {
  // 200 x 300 cells: more than the rectangle path draws, so this goes through a GL texture.
  std::vector<float> v(200 * 300);
  for (int r = 0; r < 200; ++r)
    for (int c = 0; c < 300; ++c) v[size_t(r) * 300 + c] = float(c) / 299.0f;
  test::Rect r;
  const auto img = render([&] {
    widgets::HeatmapOptions o;
    o.name = "big";
    o.legend_title = "value";
    o.version = 1;
    widgets::heatmap("big", v.data(), 200, 300, ImVec2(800, 500), o);
    r = rect("big");
  });
  ASSERT_FALSE(r.empty());
  EXPECT_GE(textures_->size(), 1u);
  // The plot is full of colour: the colour map's two ends both appear.
  const int64_t coloured = test::count_pixels(
      img, r, 2, [](int a, int b, int c) { return !test::is_background(a, b, c); });
  EXPECT_GT(coloured, int64_t(r.x1 - r.x0) * (r.y1 - r.y0) / 2);
  const ImU32 lo = widgets::colormap(widgets::Colormap::Viridis, 0),
              hi = widgets::colormap(widgets::Colormap::Viridis, 1);
  auto rgb = [](ImU32 c) {
    return uint32_t((c >> IM_COL32_R_SHIFT) & 255) << 16 |
           uint32_t((c >> IM_COL32_G_SHIFT) & 255) << 8 | uint32_t((c >> IM_COL32_B_SHIFT) & 255);
  };
  EXPECT_TRUE(test::has_colour(img, r, rgb(lo)));
  EXPECT_TRUE(test::has_colour(img, r, rgb(hi)));
  EXPECT_GT(test::distinct_colours(img, r, 2), 50u);  // a gradient, plus the legend
}

TEST_F(WidgetPixels, CategoriesGetTheirPaletteColours) {
  std::vector<float> v(8 * 64);
  for (int r = 0; r < 8; ++r)
    for (int c = 0; c < 64; ++c) v[size_t(r) * 64 + c] = float((r + c) % 8);
  test::Rect r;
  const auto img = render([&] {
    widgets::HeatmapOptions o;
    o.categories = 8;
    o.name = "strip";
    widgets::heatmap("strip", v.data(), 8, 64, ImVec2(800, 300), o);
    r = rect("strip");
  });
  for (int e = 0; e < 8; ++e) {
    const ImU32 c = widgets::category_color(e);
    const uint32_t rgb = uint32_t((c >> IM_COL32_R_SHIFT) & 255) << 16 |
                         uint32_t((c >> IM_COL32_G_SHIFT) & 255) << 8 |
                         uint32_t((c >> IM_COL32_B_SHIFT) & 255);
    EXPECT_TRUE(test::has_colour(img, r, rgb)) << "expert " << e;
  }
}

TEST_F(WidgetPixels, TimelineDrawsBars) {
  widgets::TimelineLane lane{"cpu thread 0", {}};
  lane.rows.resize(2);
  for (int i = 0; i < 50; ++i) {
    lane.rows[0].items.push_back({i * 1000, i * 1000 + 900, i, widgets::category_color(i % 3)});
    lane.rows[1].items.push_back({i * 1000 + 100, i * 1000 + 400, i, widgets::category_color(4)});
  }
  std::vector<widgets::TimelineLane> lanes{lane};
  widgets::ZoomRange view;
  test::Rect r;
  const auto img = render([&] {
    widgets::TimelineOptions o;
    o.view = &view;
    o.t_min = 0;
    o.t_max = 50000;
    o.name = "tl";
    widgets::timeline("tl", lanes, ImVec2(850, 0), o);
    r = rect("tl");
  });
  ASSERT_FALSE(r.empty());
  const int64_t bars = test::count_pixels(img, r, 0, test::is_saturated);
  // Row 0 covers 90% of its strip, row 1 30%: thousands of coloured pixels.
  EXPECT_GT(bars, 5000);
}

}  // namespace
}  // namespace moescope
