#include "app/gui/workbench.h"

#define GLFW_INCLUDE_NONE
#include <GLFW/glfw3.h>
#include <imgui.h>

#include <time.h>

#include <cfloat>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include "app/gui/script_runner.h"
#include "engine/core/error.h"
#include "inspectors/panels/prompt_console.h"

namespace moescope::gui {

namespace {

constexpr double kFrameBudget = 1.0 / 60.0;  // the UI never draws faster than 60 fps

double thread_cpu_ms() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return double(ts.tv_sec) * 1e3 + double(ts.tv_nsec) * 1e-6;
}

std::string read_file(const std::string& path) {
  std::ifstream in(path);
  if (!in) fail("cannot read the script ", path);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

}  // namespace

int run_workbench(const GuiOptions& options) {
  Workbench wb(options);
  return wb.run();
}

Workbench::Workbench(const GuiOptions& options) : options_(options) {}

Workbench::~Workbench() {
  if (!config_path_.empty() && window_) save_settings(config_path_, collect_settings());
  widgets::set_texture_source(nullptr);
  // The threads go before the window (they hold no GL state, but panels' jobs hold the models).
  script_.reset();
  panels_ = {};
  worker_.reset();
  browser_.reset();
  // ImGui keeps IniFilename as a bare pointer into ini_path_ and writes the layout when its
  // context is destroyed, which happens in ~Window, after ini_path_ (declared later) is gone:
  // save now and take the pointer back.
  if (window_ && !ini_path_.empty()) {
    ImGui::SaveIniSettingsToDisk(ini_path_.c_str());
    ImGui::GetIO().IniFilename = nullptr;
  }
  window_.reset();
}

bool Workbench::init(std::string* error) {
  // The script is checked before anything opens, so a typo fails fast.
  std::vector<ScriptStep> steps;
  if (!options_.script_path.empty()) {
    try {
      steps = parse_script(read_file(options_.script_path), options_.script_path);
    } catch (const Error& e) {
      *error = e.what();
      return false;
    }
    if (!options_.screenshot_dir.empty()) {
      std::error_code ec;
      std::filesystem::create_directories(options_.screenshot_dir, ec);
    }
    script_ = std::make_unique<ScriptRunner>(std::move(steps), options_.script_path,
                                             options_.screenshot_dir);
    // The pointer of a virtual display sits wherever it likes (mid-screen under Xvfb): a
    // script's screenshots show hover tooltips only where it puts the mouse.
    mouse_override_ = true;
    mouse_pos_ = ImVec2(-FLT_MAX, -FLT_MAX);
  }
  window_ = Window::create(options_.width, options_.height, "moescope", error);
  if (!window_) return false;
  widgets::set_texture_source(&textures_);

  // Settings: the user's, unless a script runs without an explicit config directory (scripted
  // screenshots must not depend on, or change, the user's layout).
  const std::string dir = !options_.config_dir.empty() ? options_.config_dir
                          : script_                    ? ""
                                                       : config_dir();
  panels_ = panels::make_panels();
  Settings settings;
  if (!dir.empty()) {
    config_path_ = dir + "/settings.json";
    ini_path_ = dir + "/imgui.ini";
    std::string warning;
    settings = load_settings(config_path_, &warning);
    if (!warning.empty()) std::fprintf(stderr, "moescope gui: %s\n", warning.c_str());
    std::error_code ec;
    std::filesystem::create_directories(dir, ec);
    ImGui::GetIO().IniFilename = ini_path_.c_str();
    ImGui::LoadIniSettingsFromDisk(ini_path_.c_str());
    reset_layout_ = !std::filesystem::exists(ini_path_);
  }
  apply_settings(settings);
  if (options_.font_scale > 0) window_->set_font_scale(options_.font_scale);
  window_->set_vsync(!script_);

  live_ = std::make_shared<storage::TraceModel>();
  browser_ = std::make_unique<TraceBrowser>();
  if (!options_.open_path.empty()) {
    browser_->open(options_.open_path, std::make_shared<storage::TraceModel>(), false);
    selection_.follow_live = false;
    status_.engine.state = panels::EngineState::None;
  } else {
    browser_->open("", live_, true);
    WorkerOptions wo;
    wo.model_dir = options_.model_dir;
    wo.trace_path = options_.trace_path.empty()
                        ? (data_dir().empty() ? "" : data_dir() + "/workbench.db")
                        : options_.trace_path;
    wo.threads = options_.threads;
    worker_ = std::make_unique<EngineWorker>(wo, live_);
  }
  router_ = std::make_unique<CommandRouter>(worker_.get(), browser_.get(), &selection_, live_);
  return true;
}

void Workbench::apply_settings(const Settings& s) {
  window_->set_font_scale(s.font_scale);
  active_tab_ = s.active_tab;
  generation_ = s.generation;
  if (!s.prompt.empty()) panels_.console->set_prompt(s.prompt);
  for (auto& p : panels_.all) {
    auto it = s.panels.find(p->id());
    if (it != s.panels.end()) {
      p->open = it->second.open;
      p->detached = it->second.detached;
    }
    if (p->id() == active_tab_) p->focus_next = true;
  }
}

Settings Workbench::collect_settings() const {
  Settings s;
  s.font_scale = window_->font_scale();
  s.active_tab = active_tab_;
  s.generation = generation_;
  s.prompt = panels_.console->prompt();
  for (const auto& p : panels_.all) s.panels[p->id()] = {p->open, p->detached};
  return s;
}

panels::PanelContext Workbench::context() {
  panels::PanelContext ctx;
  ctx.model = browser_->model();
  ctx.commands = router_.get();
  ctx.status = &status_;
  ctx.selection = &selection_;
  ctx.settings = &generation_;
  if (worker_) ctx.token_text = [w = worker_.get()](int32_t id) { return w->token_text(id); };
  ctx.time_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
  return ctx;
}

void Workbench::update_status() {
  status_.engine = worker_ ? worker_->status() : panels::EngineStatus{};
  status_.source = browser_->status();
  const panels::EngineState state = status_.engine.state;
  // Once the worker has opened its trace file, the Runs panel lists that file.
  if (worker_ && !recording_opened_ && state != panels::EngineState::Loading) {
    recording_opened_ = true;
    const std::string path = worker_->trace_path();
    router_->set_recording_path(path);
    if (!path.empty()) browser_->open(path, live_, true);
  }
  // A finished run is in the file now: list the file again.
  if (last_state_ == panels::EngineState::Generating && state != last_state_) browser_->reload();
  last_state_ = state;
  // Follow each new live run from its first event.
  const int64_t live = status_.engine.live_run;
  if (live != last_live_run_) {
    last_live_run_ = live;
    if (selection_.follow_live && live >= 0) {
      selection_.run = live;
      selection_.position = -1;
    }
  }
  // Browsing a file: show its newest run once the listing arrives.
  if (!worker_ && !auto_selected_ && !status_.source.busy && !status_.source.runs.empty()) {
    auto_selected_ = true;
    if (selection_.run < 0) router_->post(panels::cmd::SelectRun{status_.source.runs.back().id});
  }
}

int Workbench::run() {
  std::string error;
  if (!init(&error)) {
    std::fprintf(stderr, "moescope: error: %s\n", error.c_str());
    return 1;
  }
  using clock = std::chrono::steady_clock;
  while (!window_->should_close()) {
    // Idle (nothing can change without input): sleep in the event wait instead of drawing.
    const bool idle = !script_ && !generating() && !status_.source.busy && !panels_.busy() &&
                      status_.engine.state != panels::EngineState::Loading;
    window_->poll(idle, 0.25);
    const auto t0 = clock::now();
    const double cpu0 = thread_cpu_ms();
    frame();
    const double ms = std::chrono::duration<double, std::milli>(clock::now() - t0).count();
    if (!skip_frame_stats_) frame_stats_.add(ms, thread_cpu_ms() - cpu0, generating());
    skip_frame_stats_ = false;
    status_.frame_ms = ms;
    if (script_ && script_->finished()) {
      exit_code_ = script_->exit_code();
      break;
    }
    const auto next = t0 + std::chrono::duration<double>(kFrameBudget);
    if (clock::now() < next) std::this_thread::sleep_until(next);
  }
  if (!options_.frame_stats_path.empty()) {
    int w = 0, h = 0;
    window_->framebuffer_size(&w, &h);
    const nlohmann::json j = {{"renderer", window_->renderer()},
                              {"framebuffer", {w, h}},
                              {"segments", frame_stats_.to_json()}};
    std::ofstream out(options_.frame_stats_path);
    out << j.dump(2) << "\n";
  }
  if (script_)
    std::fprintf(stderr, "[renderer %s]\n%s", window_->renderer().c_str(),
                 frame_stats_.text().c_str());
  return exit_code_;
}

void Workbench::frame() {
  update_status();
  const double now_s =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
  if (script_) script_->before_frame(*this, now_s);
  window_->begin_frame(mouse_override_ ? &mouse_pos_ : nullptr);
  widgets::clear_named_rects();
  handle_shortcuts();
  draw_ui();
  window_->end_frame();
  if (script_) script_->after_render(*this);
  window_->swap();
  textures_.collect();
}

}  // namespace moescope::gui
