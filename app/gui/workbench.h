// The workbench application: the window and its main loop, the engine worker, the trace
// browser, the panels with their shared selection and settings, the scripted mode and the
// frame-time statistics. `moescope gui` (app/cli/cmd_gui.cpp) fills GuiOptions and calls
// run_workbench().
#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "app/gui/command_router.h"
#include "app/gui/engine_worker.h"
#include "app/gui/frame_stats.h"
#include "app/gui/gl_textures.h"
#include "app/gui/script.h"
#include "app/gui/settings.h"
#include "app/gui/trace_browser.h"
#include "app/gui/window.h"
#include "inspectors/panels/registry.h"

namespace moescope::gui {

struct GuiOptions {
  std::string model_dir;   // the model to load ("" with open_path: browse only)
  std::string trace_path;  // where runs are recorded ("" = data_dir()/workbench.db)
  std::string open_path;   // browse this trace file without a model
  std::string script_path;
  std::string screenshot_dir;
  std::string frame_stats_path;  // JSON of frame times, written at exit
  std::string config_dir;        // "" = config_dir() (scripts without it persist nothing)
  int threads = 0;
  int width = 1600, height = 960;
  float font_scale = 0;  // 0 = the saved setting
};

// Runs the workbench until its window is closed or the script ends. Returns the exit code
// (1 when the window cannot be opened or the script fails).
int run_workbench(const GuiOptions& options);

class Workbench {
 public:
  explicit Workbench(const GuiOptions& options);
  ~Workbench();
  // Returns the exit code.
  int run();

 private:
  friend class ScriptRunner;

  bool init(std::string* error);
  void frame();
  void update_status();
  void draw_ui();
  void draw_menu();
  void draw_status_bar(float y, float height);
  void handle_shortcuts();
  void apply_settings(const Settings& s);
  Settings collect_settings() const;
  bool generating() const { return status_.engine.state == panels::EngineState::Generating; }
  panels::PanelContext context();

  GuiOptions options_;
  std::unique_ptr<Window> window_;
  GlTextures textures_;
  std::shared_ptr<storage::TraceModel> live_;
  std::unique_ptr<EngineWorker> worker_;
  std::unique_ptr<TraceBrowser> browser_;
  std::unique_ptr<CommandRouter> router_;
  panels::PanelSet panels_;
  panels::Selection selection_;
  panels::GenerationSettings generation_;
  panels::WorkbenchStatus status_;
  FrameStats frame_stats_;
  std::unique_ptr<class ScriptRunner> script_;
  std::string config_path_, ini_path_;
  std::string active_tab_;
  bool reset_layout_ = true;
  bool show_help_ = false;
  int64_t last_live_run_ = -1;
  bool auto_selected_ = false;
  bool recording_opened_ = false;
  panels::EngineState last_state_ = panels::EngineState::None;
  bool mouse_override_ = false;
  ImVec2 mouse_pos_{0, 0};
  std::chrono::steady_clock::time_point start_ = std::chrono::steady_clock::now();
  int exit_code_ = 0;
  bool skip_frame_stats_ = false;  // a screenshot was taken in this frame (slow on purpose)
};

}  // namespace moescope::gui
