// `moescope gui` (and `moescope` alone, when a display is there): the workbench window.
//   moescope gui [--model DIR] [--trace FILE.db]   generate with a model, recording every run
//   moescope gui --open FILE.db                     browse stored runs, no model
//   moescope gui --script FILE --screenshot-dir DIR scripted mode (tests, documentation)
#include <cstdlib>

#include "app/cli/command_list.h"
#include "app/cli/common_options.h"
#include "engine/core/error.h"
#if MOESCOPE_HAVE_GUI
#include "app/gui/workbench.h"
#endif

namespace moescope::app {

bool gui_can_open() {
#if MOESCOPE_HAVE_GUI
  const char* x = std::getenv("DISPLAY");
  const char* w = std::getenv("WAYLAND_DISPLAY");
  return (x && x[0]) || (w && w[0]);
#else
  return false;
#endif
}

int cmd_gui(Args& args) {
  auto model = args.value("model");
  auto trace_path = args.value("trace");
  auto open_path = args.value("open");
  auto script = args.value("script");
  auto shots = args.value("screenshot-dir");
  auto stats = args.value("frame-stats");
  auto config = args.value("config-dir");
  auto size = args.value("size");
  const double scale = args.number("scale", 0);
  const int64_t threads = args.integer("threads", 0);
  activations_option(args);
  args.done();
  if (open_path && (model || trace_path))
    throw UsageError("--open browses a file without a model: drop --model and --trace");
  if (shots && !script) throw UsageError("--screenshot-dir needs --script");
  if (threads < 0) throw UsageError("--threads must be >= 0");
  if (scale != 0 && (scale < 0.5 || scale > 3)) throw UsageError("--scale must be within 0.5 .. 3");
  int width = 1600, height = 960;
  if (size &&
      (std::sscanf(size->c_str(), "%dx%d", &width, &height) != 2 || width < 200 || height < 200))
    throw UsageError("--size takes WIDTHxHEIGHT, e.g. 1600x960");
#if MOESCOPE_HAVE_GUI
  gui::GuiOptions o;
  o.model_dir = open_path ? "" : model.value_or(default_model_dir());
  o.trace_path = trace_path.value_or("");
  o.open_path = open_path.value_or("");
  o.script_path = script.value_or("");
  o.screenshot_dir = shots.value_or("");
  o.frame_stats_path = stats.value_or("");
  o.config_dir = config.value_or("");
  o.threads = int(threads);
  o.width = width;
  o.height = height;
  o.font_scale = float(scale);
  return gui::run_workbench(o);
#else
  fail(
      "this moescope was built without the workbench GUI (Dear ImGui or GLFW was missing at "
      "build time: install libimgui-dev and libglfw3-dev and rebuild)");
#endif
}

}  // namespace moescope::app
