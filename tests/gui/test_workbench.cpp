// The whole workbench driven by a script, as a user would run it, under a display: load the
// default model, type a prompt, generate, then a screenshot of every panel. The checks look at
// pixels, not just at the exit code: the heat map holds colour, different experts have
// different colours, the timeline holds bars, and the trace file holds the tokens and routing
// rows that the console showed. Then the same file is browsed without a model.
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <algorithm>
#include <filesystem>

#include <cstdlib>
#include <fstream>
#include <set>

#include "inspectors/panels/kernels_view.h"
#include "inspectors/widgets/colormap.h"
#include "storage/trace_file.h"
#include "tests/common/test_paths.h"
#include "tests/gui/gui_test_util.h"

namespace moescope {
namespace {

std::string quote(const std::string& s) {
  std::string q = "'";
  for (char c : s) q += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return q + "'";
}

struct ProcessResult {
  int rc = -1;
  std::string err;
};

// Runs the moescope binary with args (environment changes as a prefix, e.g. "env -u DISPLAY").
ProcessResult moescope(const std::string& dir, const std::vector<std::string>& args,
                       const std::string& prefix = "") {
  std::string cmd = prefix + quote(test::binary_dir() + "/moescope");
  for (const auto& a : args) cmd += " " + quote(a);
  cmd += " >" + dir + "/stdout 2>" + dir + "/stderr";
  const int status = std::system(cmd.c_str());
  ProcessResult r;
  r.rc = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  r.err = test::slurp(dir + "/stderr");
  return r;
}

uint32_t rgb(ImU32 c) {
  return uint32_t((c >> IM_COL32_R_SHIFT) & 255) << 16 |
         uint32_t((c >> IM_COL32_G_SHIFT) & 255) << 8 | uint32_t((c >> IM_COL32_B_SHIFT) & 255);
}

class Workbench : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!test::have_display()) GTEST_SKIP() << "no display (ctest runs this under xvfb-run)";
    dir_ = test::make_temp_dir("gui-e2e");
  }
  std::string write_script(const std::string& name, const std::string& text) {
    const std::string path = dir_ + "/" + name;
    std::ofstream(path) << text;
    return path;
  }
  std::string dir_;
};

TEST_F(Workbench, PromptGenerateAndEveryPanel) {
  const std::string trace = dir_ + "/trace.db", shots = dir_ + "/shots";
  const std::string script = write_script("e2e.txt",
                                          "wait model 120\n"
                                          "screenshot empty.png expert_load\n"
                                          "prompt The history of the Roman Empire begins with\n"
                                          "set console.max_tokens 40\n"
                                          "generate\n"
                                          "wait done 300\n"
                                          "screenshot console.png console\n"
                                          "open expert_load\n"
                                          "screenshot expert_load.png expert_load\n"
                                          "open attention\n"
                                          "screenshot attention.png attention\n"
                                          "open kernels\n"
                                          "screenshot kernels.png kernels\n"
                                          "open runs\n"
                                          "screenshot runs.png runs\n"
                                          "open model\n"
                                          "screenshot model.png model\n"
                                          "dump dump.json\n");
  const ProcessResult r =
      moescope(dir_, {"gui", "--trace", trace, "--script", script, "--screenshot-dir", shots,
                      "--size", "1500x950", "--threads", "2", "--config-dir", dir_ + "/cfg"});
  ASSERT_EQ(r.rc, 0) << r.err;
  // The window layout is saved where asked, and nowhere else (no stray file in the working
  // directory under a garbage name).
  std::ifstream ini(dir_ + "/cfg/imgui.ini");
  std::string first_line;
  std::getline(ini, first_line);
  EXPECT_EQ(first_line.rfind("[Window]", 0), 0u) << first_line;
  for (const auto& e : std::filesystem::directory_iterator(dir_)) {
    const std::string name = e.path().filename().string();
    EXPECT_TRUE(std::all_of(name.begin(), name.end(), [](char c) { return c > 32 && c < 127; }))
        << "a file with an unprintable name in the working directory";
  }
  EXPECT_NE(r.err.find("[frames"), std::string::npos) << "frame statistics at exit: " << r.err;

  // Every panel has its screenshot.
  for (const char* p : {"console", "expert_load", "attention", "kernels", "runs", "model"}) {
    const auto img = test::load_png(shots + "/" + p + ".png");
    ASSERT_TRUE(img.ok()) << p;
    EXPECT_GT(img.w, 300) << p;
    EXPECT_GT(test::distinct_colours(img, {0, 0, img.w, img.h}, 0), 20u) << p << ": a blank image";
  }

  // Before the run, the expert load heat map was not drawn (a "no data" state instead).
  EXPECT_TRUE(test::named_rect(shots + "/empty.json", "expert_load.heatmap").empty());

  // The load heat map is full of colour.
  const auto load = test::load_png(shots + "/expert_load.png");
  const test::Rect hm = test::named_rect(shots + "/expert_load.json", "expert_load.heatmap");
  ASSERT_FALSE(hm.empty());
  const int64_t area = int64_t(hm.x1 - hm.x0) * (hm.y1 - hm.y0);
  EXPECT_GT(test::count_pixels(load, hm, 4,
                               [](int a, int b, int c) { return !test::is_background(a, b, c); }),
            area / 3);
  EXPECT_GT(test::distinct_colours(load, hm, 4), 30u);

  // The trace (read back from the file, independently of the GUI) holds the tokens the console
  // showed, and a routing row for every position in every layer.
  const auto dump = test::read_json(shots + "/dump.json");
  ASSERT_TRUE(dump.contains("run")) << dump.dump();
  const auto shown = dump["console"]["tokens"].get<std::vector<int32_t>>();
  ASSERT_GT(shown.size(), 40u);
  const int64_t run_id = dump["console"]["run"].get<int64_t>();
  auto file = storage::TraceFile::open(trace);
  const storage::RunData stored = file->load(run_id);
  std::vector<int32_t> stored_ids;
  for (const auto& t : stored.tokens) stored_ids.push_back(t.id);
  EXPECT_EQ(stored_ids, shown);
  EXPECT_EQ(stored.generated_tokens(), 40);
  ASSERT_FALSE(stored.routing.empty());
  for (size_t l = 0; l < stored.routing.size(); ++l) {
    int64_t present = 0;
    for (uint8_t p : stored.routing[l].present) present += p != 0;
    EXPECT_EQ(present, int64_t(shown.size())) << "layer " << l;
    EXPECT_EQ(dump["run"]["routing_rows"][l].get<int64_t>(), present) << "layer " << l;
  }

  // Different experts have different colours: in the token x layer strip, the palette colour
  // of every expert chosen first in layer 0 appears, and there are several.
  const test::Rect strip = test::named_rect(shots + "/expert_load.json", "expert_load.strip");
  ASSERT_FALSE(strip.empty());
  std::set<int> experts;
  for (const auto& e : dump["run"]["first_choice"][0]) experts.insert(e.get<int>());
  EXPECT_GE(experts.size(), 2u);
  std::set<uint32_t> colours;
  for (int e : experts) {
    if (e < 0) continue;
    colours.insert(rgb(widgets::category_color(e)));
    EXPECT_TRUE(test::has_colour(load, strip, rgb(widgets::category_color(e)))) << "expert " << e;
  }
  EXPECT_EQ(colours.size(), experts.size() - experts.count(-1));

  // The timeline holds bars (coloured pixels: steps, layers, experts and ops).
  const auto kernels = test::load_png(shots + "/kernels.png");
  const test::Rect tl = test::named_rect(shots + "/kernels.json", "kernels.timeline");
  ASSERT_FALSE(tl.empty());
  EXPECT_GT(test::count_pixels(kernels, tl, 2, test::is_saturated), 2000);

  // The attention map of the chosen head holds its causal triangle.
  const auto att = test::load_png(shots + "/attention.png");
  const test::Rect map = test::named_rect(shots + "/attention.json", "attention.map");
  ASSERT_FALSE(map.empty());
  EXPECT_GT(test::count_pixels(att, map, 4,
                               [](int a, int b, int c) { return !test::is_background(a, b, c); }),
            int64_t(map.x1 - map.x0) * (map.y1 - map.y0) / 8);

  // The same file browsed without a model: the newest run is shown in every panel.
  const std::string browse = write_script("browse.txt",
                                          "open expert_load\n"
                                          "screenshot browse_load.png expert_load\n"
                                          "dump browse.json\n");
  const ProcessResult b =
      moescope(dir_, {"gui", "--open", trace, "--script", browse, "--screenshot-dir", shots});
  ASSERT_EQ(b.rc, 0) << b.err;
  const auto bdump = test::read_json(shots + "/browse.json");
  EXPECT_EQ(bdump["console"]["tokens"].get<std::vector<int32_t>>(), shown);
  EXPECT_FALSE(test::named_rect(shots + "/browse_load.json", "expert_load.heatmap").empty());
}

TEST_F(Workbench, ScriptErrorsAndNoDisplay) {
  // A script error is reported with its line, before any window opens.
  const std::string bad = write_script("bad.txt", "generate\nfly away\n");
  ProcessResult r = moescope(dir_, {"gui", "--script", bad, "--trace", dir_ + "/t.db"});
  EXPECT_EQ(r.rc, 1);
  EXPECT_NE(r.err.find("bad.txt:2: unknown command 'fly'"), std::string::npos) << r.err;
  // A wait that cannot finish in time fails the script instead of hanging, and so does a wait
  // for tokens when nothing is generating.
  const std::string stuck = write_script(
      "stuck.txt", "wait model 120\nset console.max_tokens 200\ngenerate\nwait done 0.001\n");
  r = moescope(dir_, {"gui", "--script", stuck, "--trace", dir_ + "/t.db"});
  EXPECT_EQ(r.rc, 1);
  EXPECT_NE(r.err.find("stuck.txt:4: timed out"), std::string::npos) << r.err;
  const std::string idle = write_script("idle.txt", "wait model 120\nwait tokens 5\n");
  r = moescope(dir_, {"gui", "--script", idle, "--trace", dir_ + "/t.db"});
  EXPECT_EQ(r.rc, 1);
  EXPECT_NE(r.err.find("idle.txt:2: the engine is idle with 0 of 5"), std::string::npos) << r.err;
  // Without a display, `moescope` alone prints its help and exits 2 as before, and `gui` says
  // why it cannot open.
  r = moescope(dir_, {}, "env -u DISPLAY -u WAYLAND_DISPLAY ");
  EXPECT_EQ(r.rc, 2);
  r = moescope(dir_, {"gui", "--trace", dir_ + "/t.db"}, "env -u DISPLAY -u WAYLAND_DISPLAY ");
  EXPECT_EQ(r.rc, 1);
  EXPECT_NE(r.err.find("display"), std::string::npos) << r.err;
}

}  // namespace
}  // namespace moescope
