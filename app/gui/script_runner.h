// Runs a parsed script against the workbench, one frame at a time: commands that take effect at
// once run back to back; waits (for the engine, for frames, for background work before a
// screenshot) hold the script while the UI keeps drawing.
#pragma once

#include <string>
#include <vector>

#include "app/gui/script.h"

namespace moescope::gui {

class Workbench;

class ScriptRunner {
 public:
  ScriptRunner(std::vector<ScriptStep> steps, std::string name, std::string out_dir);

  // Before a frame: runs commands until one has to wait or the script ends.
  void before_frame(Workbench& wb, double now_s);
  // After the frame is rendered, before it is shown: takes a pending screenshot.
  void after_render(Workbench& wb);
  bool finished() const { return finished_; }
  // 0, or 1 after a failed step (the message was printed).
  int exit_code() const { return exit_code_; }

 private:
  enum class Wait { None, Done, Tokens, Model, Frames, Seconds, Shot };
  bool run_step(Workbench& wb, const ScriptStep& s, double now_s);
  bool waiting_done(Workbench& wb, double now_s);
  void fail(const ScriptStep& s, const std::string& message);
  std::string path(const std::string& file) const;
  bool dump(Workbench& wb, const std::string& file, std::string* error);

  std::vector<ScriptStep> steps_;
  std::string name_, dir_;
  size_t next_ = 0;
  Wait wait_ = Wait::None;
  double deadline_ = 0, until_ = 0;
  int64_t count_ = 0;
  int settle_ = 0;
  std::string shot_file_, shot_panel_;
  bool shot_ready_ = false;
  bool finished_ = false;
  int exit_code_ = 0;
};

}  // namespace moescope::gui
