#include "app/gui/script_runner.h"

#include <cfloat>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "app/gui/screenshot.h"
#include "app/gui/workbench.h"
#include "inspectors/panels/prompt_console.h"

namespace moescope::gui {

namespace {

constexpr double kDefaultTimeout = 300;

double seconds_arg(const ScriptStep& s, size_t i, double fallback) {
  if (s.args.size() <= i) return fallback;
  double v;
  return panels::parse_float(s.args[i], &v) ? v : fallback;
}

}  // namespace

ScriptRunner::ScriptRunner(std::vector<ScriptStep> steps, std::string name, std::string out_dir)
    : steps_(std::move(steps)), name_(std::move(name)), dir_(std::move(out_dir)) {}

std::string ScriptRunner::path(const std::string& file) const {
  if (file.empty() || file[0] == '/' || dir_.empty()) return file;
  return dir_ + "/" + file;
}

void ScriptRunner::fail(const ScriptStep& s, const std::string& message) {
  std::fprintf(stderr, "moescope gui: %s:%d: %s\n", name_.c_str(), s.line, message.c_str());
  exit_code_ = 1;
  finished_ = true;
}

void ScriptRunner::before_frame(Workbench& wb, double now_s) {
  while (!finished_) {
    if (wait_ != Wait::None) {
      if (!waiting_done(wb, now_s)) return;
      wait_ = Wait::None;
      ++next_;
      continue;
    }
    if (next_ >= steps_.size()) {
      finished_ = true;
      return;
    }
    if (!run_step(wb, steps_[next_], now_s)) return;  // failed
    if (wait_ == Wait::None) ++next_;
    // A command handled by another thread (generate, a file to open) shows in the status only
    // from the next frame: a wait right after it must not read this frame's stale status.
    const std::string& c = steps_[next_ - (wait_ == Wait::None ? 1 : 0)].command;
    if (c == "generate" || c == "stop" || c == "open_trace" || c == "select" || c == "clear")
      return;
  }
}

bool ScriptRunner::waiting_done(Workbench& wb, double now_s) {
  const ScriptStep& s = steps_[next_];
  const panels::EngineStatus& e = wb.status_.engine;
  if (wait_ != Wait::Frames && wait_ != Wait::Seconds && now_s > deadline_) {
    fail(s, "timed out (" + e.message + ")");
    return false;
  }
  if ((wait_ == Wait::Done || wait_ == Wait::Tokens || wait_ == Wait::Model) &&
      e.state == panels::EngineState::Failed) {
    fail(s, "the engine failed: " + e.message);
    return false;
  }
  switch (wait_) {
    case Wait::Done: {
      if (e.state != panels::EngineState::Ready) return false;
      // The run is complete in the model the panels read (the worker flushed the writer).
      bool closed = false;
      wb.live_->read(e.live_run, [&](const storage::RunData& r) {
        closed = r.status != storage::RunStatus::Running;
      });
      return closed || e.live_run < 0;
    }
    case Wait::Tokens:
      if (e.generated >= count_) return true;
      if (e.state != panels::EngineState::Generating) {
        fail(s, "the engine is idle with " + std::to_string(e.generated) + " of " +
                    std::to_string(count_) + " tokens generated");
        return false;
      }
      return false;
    case Wait::Model:
      return e.state != panels::EngineState::Loading;
    case Wait::Frames:
      return --count_ < 0;
    case Wait::Seconds:
      return now_s >= until_;
    case Wait::Shot:
      // Background work (file loads, analyses) must be done, then a few frames to settle the
      // layout; after_render() takes the picture and clears shot_file_.
      if (wb.browser_->status().busy || wb.panels_.busy()) {
        settle_ = 3;
        return false;
      }
      if (settle_ > 0) {
        if (--settle_ == 0) shot_ready_ = true;
        return false;
      }
      return shot_file_.empty();
    case Wait::None:
      return true;
  }
  return true;
}

bool ScriptRunner::run_step(Workbench& wb, const ScriptStep& s, double now_s) {
  const std::string& c = s.command;
  auto ctx = wb.context();
  int64_t n = 0;
  if (c == "size") {
    int64_t w, h;
    if (!panels::parse_int(s.args[0], &w) || !panels::parse_int(s.args[1], &h) || w < 200 ||
        h < 200) {
      fail(s, "size needs two integers >= 200");
      return false;
    }
    wb.window_->set_size(int(w), int(h));
    wb.reset_layout_ = true;
  } else if (c == "scale") {
    double v;
    if (!panels::parse_float(s.args[0], &v) || v < 0.5 || v > 3) {
      fail(s, "scale must be within 0.5 .. 3");
      return false;
    }
    wb.window_->set_font_scale(float(v));
  } else if (c == "prompt") {
    wb.panels_.console->set_prompt(s.args[0]);
  } else if (c == "set") {
    const std::string& key = s.args[0];
    const size_t dot = key.find('.');
    const std::string panel = key.substr(0, dot), k = key.substr(dot + 1);
    panels::Panel* p = wb.panels_.find(panel);
    bool ok = false;
    if (panel == "console" || panel == "capture") {
      // Sampling and capture settings are shared; the console and model panels edit them.
      panels::GenerationSettings& g = wb.generation_;
      double v = 0;
      bool b = false;
      const bool num = panels::parse_float(s.args[1], &v), flag = panels::parse_bool(s.args[1], &b);
      if (k == "max_tokens" && num && v >= 0)
        g.sampling.max_tokens = int64_t(v), ok = true;
      else if (k == "temperature" && num && v >= 0)
        g.sampling.temperature = float(v), ok = true;
      else if (k == "top_k" && num && v >= 0)
        g.sampling.top_k = int64_t(v), ok = true;
      else if (k == "top_p" && num && v > 0 && v <= 1)
        g.sampling.top_p = float(v), ok = true;
      else if (k == "seed" && num && v >= 0)
        g.sampling.seed = uint64_t(v), ok = true;
      else if (k == "stop_at_eos" && flag)
        g.sampling.stop_at_eos = b, ok = true;
      else if (k == "routing" && flag)
        g.capture.routing = b, ok = true;
      else if (k == "ops" && flag)
        g.capture.ops = b, ok = true;
      else if (k == "attention" && flag)
        g.capture.attention = b, ok = true;
      else if (k == "attention_budget_mb" && num && v >= 0)
        g.capture.attention_budget_mb = int64_t(v), ok = true;
      else if (k == "attention_layers")
        ok = panels::parse_index_list(s.args[1], &g.capture.attention_layers);
      else if (k == "attention_heads")
        ok = panels::parse_index_list(s.args[1], &g.capture.attention_heads);
    }
    if (!ok && p) ok = p->set(k, s.args[1]);
    if (!ok) {
      fail(s,
           "cannot set " + key + " to '" + s.args[1] + "' (unknown panel or key, or a bad value)");
      return false;
    }
  } else if (c == "generate") {
    wb.panels_.console->generate(ctx);
  } else if (c == "stop") {
    wb.router_->post(panels::cmd::Stop{});
  } else if (c == "clear") {
    wb.router_->post(panels::cmd::Clear{});
  } else if (c == "wait") {
    const std::string& what = s.args[0];
    if (what == "done") {
      wait_ = Wait::Done;
      deadline_ = now_s + seconds_arg(s, 1, kDefaultTimeout);
    } else if (what == "model") {
      wait_ = Wait::Model;
      deadline_ = now_s + seconds_arg(s, 1, kDefaultTimeout);
    } else if (what == "tokens" && s.args.size() >= 2 && panels::parse_int(s.args[1], &n)) {
      wait_ = Wait::Tokens;
      count_ = n;
      deadline_ = now_s + seconds_arg(s, 2, kDefaultTimeout);
    } else if (what == "frames" && s.args.size() == 2 && panels::parse_int(s.args[1], &n)) {
      wait_ = Wait::Frames;
      count_ = n;
    } else if (what == "seconds" && s.args.size() == 2) {
      wait_ = Wait::Seconds;
      until_ = now_s + seconds_arg(s, 1, 0);
    } else {
      fail(s, "wait takes: done [S] | model [S] | tokens N [S] | frames N | seconds S");
      return false;
    }
  } else if (c == "open" || c == "detach" || c == "attach") {
    panels::Panel* p = wb.panels_.find(s.args[0]);
    if (!p) {
      fail(s, "no panel '" + s.args[0] + "'");
      return false;
    }
    p->open = true;
    if (c == "detach") p->detached = true;
    if (c == "attach") p->detached = false;
    p->focus_next = true;
  } else if (c == "select") {
    const std::string& what = s.args[0];
    const std::string& v = s.args[1];
    const bool ok = panels::parse_int(v, &n) && n >= 0;
    if (what == "layer" && ok) {
      wb.selection_.layer = int32_t(n);
    } else if (what == "head" && ok) {
      wb.selection_.head = int32_t(n);
    } else if (what == "position" && ok) {
      wb.selection_.position = n;
    } else if (what == "run" && (ok || v == "latest")) {
      int64_t id = n;
      if (v == "latest") {
        id = -1;
        for (const auto& r : wb.status_.source.runs) id = std::max(id, r.id);
        for (const auto& r : wb.browser_->model()->runs()) id = std::max(id, r.id);
      }
      wb.router_->post(panels::cmd::SelectRun{id, false});
    } else if (what == "compare" && (ok || v == "none")) {
      wb.router_->post(panels::cmd::SelectRun{v == "none" ? -1 : n, true});
    } else {
      fail(s, "select takes: layer N | head N | position N | run N|latest | compare N|none");
      return false;
    }
  } else if (c == "open_trace") {
    wb.router_->post(panels::cmd::OpenTrace{s.args[0]});
  } else if (c == "mouse") {
    int64_t x, y;
    if (s.args.size() == 1 && s.args[0] == "off") {
      wb.mouse_pos_ = ImVec2(-FLT_MAX, -FLT_MAX);  // away: no hover
    } else if (s.args.size() == 2 && panels::parse_int(s.args[0], &x) &&
               panels::parse_int(s.args[1], &y)) {
      wb.mouse_override_ = true;
      wb.mouse_pos_ = ImVec2(float(x), float(y));
    } else {
      fail(s, "mouse takes: X Y | off");
      return false;
    }
  } else if (c == "mouse_at") {
    double fx, fy;
    const widgets::NamedRect* r = nullptr;
    for (const auto& nr : widgets::named_rects())
      if (nr.name == s.args[0]) r = &nr;
    if (!r || !panels::parse_float(s.args[1], &fx) || !panels::parse_float(s.args[2], &fy)) {
      fail(s, "mouse_at needs a plot drawn in the last frame and two fractions (no plot '" +
                  s.args[0] + "')");
      return false;
    }
    wb.mouse_override_ = true;
    wb.mouse_pos_ = ImVec2(r->rect.min.x + float(fx) * r->rect.width(),
                           r->rect.min.y + float(fy) * r->rect.height());
  } else if (c == "screenshot") {
    shot_file_ = s.args[0];
    shot_panel_ = s.args.size() > 1 ? s.args[1] : "";
    if (!shot_panel_.empty() && !wb.panels_.find(shot_panel_)) {
      fail(s, "no panel '" + shot_panel_ + "'");
      return false;
    }
    wait_ = Wait::Shot;
    settle_ = 3;
    shot_ready_ = false;
    deadline_ = now_s + kDefaultTimeout;
  } else if (c == "dump") {
    std::string error;
    if (!dump(wb, s.args[0], &error)) {
      fail(s, error);
      return false;
    }
  } else if (c == "measure") {
    wb.frame_stats_.begin(s.args[0]);
  } else if (c == "quit") {
    finished_ = true;
  }
  return true;
}

void ScriptRunner::after_render(Workbench& wb) {
  if (wait_ != Wait::Shot || !shot_ready_ || shot_file_.empty()) return;
  Image img;
  img.rgba = wb.window_->read_pixels(&img.w, &img.h);
  widgets::PlotRect area{ImVec2(0, 0), ImVec2(float(img.w), float(img.h))};
  if (!shot_panel_.empty()) area = wb.panels_.find(shot_panel_)->last_rect();
  // Window pixels to framebuffer pixels (they differ on high-DPI displays).
  const ImVec2 scale = ImGui::GetIO().DisplayFramebufferScale;
  const widgets::PlotRect px{ImVec2(area.min.x * scale.x, area.min.y * scale.y),
                             ImVec2(area.max.x * scale.x, area.max.y * scale.y)};
  const Image out = crop(img, px);
  std::string error;
  std::vector<widgets::NamedRect> rects = widgets::named_rects();
  for (auto& r : rects)
    r.rect = {ImVec2(r.rect.min.x * scale.x, r.rect.min.y * scale.y),
              ImVec2(r.rect.max.x * scale.x, r.rect.max.y * scale.y)};
  std::string json = path(shot_file_);
  json = json.substr(0, json.rfind('.')) + ".json";
  if (!write_png(path(shot_file_), out, &error) ||
      !write_rects(json, rects, px.min.x, px.min.y, out.w, out.h, &error)) {
    fail(steps_[next_], error);
    return;
  }
  wb.skip_frame_stats_ = true;
  shot_file_.clear();
}

bool ScriptRunner::dump(Workbench& wb, const std::string& file, std::string* error) {
  nlohmann::json j;
  j["engine"] = {{"state", panels::engine_state_name(wb.status_.engine.state)},
                 {"message", wb.status_.engine.message},
                 {"live_run", wb.status_.engine.live_run}};
  j["selection"] = {
      {"run", wb.selection_.run}, {"layer", wb.selection_.layer}, {"head", wb.selection_.head}};
  j["console"] = {{"run", wb.panels_.console->shown_run()},
                  {"tokens", wb.panels_.console->shown_tokens()}};
  j["trace_path"] = wb.status_.source.path;
  wb.browser_->model()->read(wb.selection_.run, [&](const storage::RunData& r) {
    nlohmann::json run = {{"id", r.id},
                          {"status", trace::run_status_name(r.status)},
                          {"prompt_tokens", r.prompt_tokens()},
                          {"generated_tokens", r.generated_tokens()},
                          {"ops", r.ops.size()},
                          {"attention_records", r.attention.size()}};
    nlohmann::json ids = nlohmann::json::array(), rows = nlohmann::json::array();
    for (const auto& t : r.tokens) ids.push_back(t.id);
    for (const auto& l : r.routing) {
      int64_t present = 0;
      for (uint8_t p : l.present) present += p != 0;
      rows.push_back(present);
    }
    run["token_ids"] = ids;
    run["routing_rows"] = rows;
    // Each layer's first choice per position (-1: not recorded), for checks against pixels.
    nlohmann::json first = nlohmann::json::array();
    const int64_t k = r.info.top_k;
    for (const auto& l : r.routing) {
      nlohmann::json f = nlohmann::json::array();
      for (size_t p = 0; p < l.present.size(); ++p)
        f.push_back(l.present[p] && k > 0 && l.ids.size() >= (p + 1) * size_t(k)
                        ? l.ids[p * size_t(k)]
                        : -1);
      first.push_back(f);
    }
    run["first_choice"] = first;
    j["run"] = run;
  });
  std::ofstream out(path(file));
  out << j.dump(2) << "\n";
  if (!out) {
    *error = "cannot write " + path(file);
    return false;
  }
  return true;
}

}  // namespace moescope::gui
