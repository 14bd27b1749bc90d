// The panel base class and what every panel is given (style-anchors.md lesson 9): one panel is
// one struct that owns its UI state and draws its content; this base supplies the chrome (a tab
// of the inspector host, or a window of its own when detached), the shared selection, and the
// scripted settings hook. Panels read the TraceModel under its shared lock and post commands.
#pragma once

#include <imgui.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "inspectors/panels/commands.h"
#include "inspectors/panels/workbench_status.h"
#include "inspectors/widgets/plot_frame.h"
#include "storage/trace_model.h"

namespace moescope::panels {

// What the user is looking at, shared by every panel.
struct Selection {
  int64_t run = -1;         // the run shown everywhere; -1: none
  int64_t compare = -1;     // the second run of a comparison; -1: none
  bool follow_live = true;  // switch to each new run as it starts
  int32_t layer = 0;
  int32_t head = 0;
  int64_t position = -1;  // a token position, -1: none
};

struct PanelContext {
  // The runs of the trace being shown. Shared, so background work can hold it.
  std::shared_ptr<const storage::TraceModel> model;
  CommandSink* commands = nullptr;
  const WorkbenchStatus* status = nullptr;
  Selection* selection = nullptr;
  GenerationSettings* settings = nullptr;
  // The text of a token id (the tokenizer's piece), when a model is loaded; else empty.
  std::function<std::string(int32_t)> token_text;
  double time_s = 0;  // a monotonic clock, for throttling work on live runs
};

class Panel {
 public:
  Panel(std::string id, std::string title) : id_(std::move(id)), title_(std::move(title)) {}
  virtual ~Panel() = default;
  Panel(const Panel&) = delete;
  Panel& operator=(const Panel&) = delete;

  // The script name ("expert_load") and the tab / window title.
  const std::string& id() const { return id_; }
  const std::string& title() const { return title_; }

  bool open = true;         // shown (as a tab, or as a window when detached)
  bool detached = false;    // its own window instead of a tab of the host
  bool focus_next = false;  // bring it to the front on the next frame

  // Chrome: a tab item of the tab bar being drawn; draws the content when the tab is selected.
  void draw_tab(PanelContext& ctx);
  // Chrome: a window of its own, placed at pos with size on first use (or when cond says).
  void draw_window(PanelContext& ctx, ImVec2 pos, ImVec2 size,
                   ImGuiCond cond = ImGuiCond_FirstUseEver);
  // Where the panel was last drawn (window pixels), for screenshots of one panel.
  const widgets::PlotRect& last_rect() const { return last_rect_; }
  bool visible() const { return visible_; }

  // A scripted setting ("layer", "2"); false when the key is unknown or the value invalid.
  virtual bool set(const std::string& key, const std::string& value) { return false; }
  // Whether background work for the panel is still running (scripted screenshots wait for it).
  virtual bool busy() { return false; }

 protected:
  virtual void draw_content(PanelContext& ctx) = 0;

 private:
  std::string id_, title_;
  widgets::PlotRect last_rect_{};
  bool visible_ = false;
};

// ---- helpers shared by panels ----

// A friendly empty state: a title and a hint, centred in the space left.
void no_data(const char* title, const char* hint);
// Reads run `run` of the context's model under the shared lock; false when there is none.
bool read_run(const PanelContext& ctx, int64_t run,
              const std::function<void(const storage::RunData&)>& fn);
// The "no run" state of a panel: explains how to get one (generate, or pick a stored run).
void no_run(const PanelContext& ctx);
// Parses an integer / float / bool setting value; false when it is not one.
bool parse_int(const std::string& s, int64_t* out);
bool parse_float(const std::string& s, double* out);
bool parse_bool(const std::string& s, bool* out);
// A token's text for display: newlines and tabs made visible, at most max_chars characters.
std::string printable(const std::string& text, size_t max_chars = 40);
// Recompute-or-not for live views: true when version changed and at least min_interval_s has
// passed since the last recompute (always true when the run id changed).
struct Throttle {
  int64_t run = -2;
  uint64_t version = 0;
  double last_s = -1e9;
  // A newer version was held back by the interval: the shown data is stale until the next due
  // call lets it through (a panel counts as busy meanwhile, so a screenshot waits for it).
  bool behind = false;
  bool due(int64_t run_id, uint64_t v, double now_s, double min_interval_s);
  void reset() {
    run = -2;
    behind = false;
  }
};

}  // namespace moescope::panels
