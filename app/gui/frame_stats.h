// Frame times of the workbench: each frame's wall time (input, panels, draw and buffer swap,
// without the idle wait that caps the frame rate) and the UI thread's CPU time in it, grouped
// into named segments (a script's `measure LABEL`), reported as mean, p50, p99 and max in
// milliseconds, over all frames and over the frames drawn while a generation was running.
// The CPU time does not count time the thread waited for a core, so on a loaded machine it
// tells the UI's own cost apart from the wall time the scheduler added.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace moescope::gui {

struct FrameSummary {
  std::string label;
  int64_t frames = 0;
  double mean_ms = 0, p50_ms = 0, p99_ms = 0, max_ms = 0;
  double cpu_mean_ms = 0, cpu_p99_ms = 0;
};

class FrameStats {
 public:
  // Frames from now on belong to label (until the next begin).
  void begin(const std::string& label);
  void add(double wall_ms, double cpu_ms, bool generating);
  std::vector<FrameSummary> summaries() const;
  nlohmann::json to_json() const;
  // One line per summary, for stderr.
  std::string text() const;

 private:
  struct Series {
    std::vector<double> wall, cpu;
  };
  struct Segment {
    std::string label;
    Series all, generating;
  };
  std::vector<Segment> segments_{{"frames", {}, {}}};
};

// p in [0, 100] of values, linear interpolation between closest ranks (values are copied).
double percentile(std::vector<double> values, double p);

}  // namespace moescope::gui
