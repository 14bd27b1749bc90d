#include "app/gui/frame_stats.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <numeric>

namespace moescope::gui {

namespace {

double mean(const std::vector<double>& v) {
  return v.empty() ? NAN : std::accumulate(v.begin(), v.end(), 0.0) / double(v.size());
}

}  // namespace

double percentile(std::vector<double> values, double p) {
  if (values.empty()) return NAN;
  std::sort(values.begin(), values.end());
  const double h = (double(values.size()) - 1) * p / 100.0;
  const size_t i = size_t(std::floor(h));
  if (i + 1 >= values.size()) return values.back();
  return values[i] + (h - double(i)) * (values[i + 1] - values[i]);
}

void FrameStats::begin(const std::string& label) {
  segments_.push_back({label, {}, {}});
}

void FrameStats::add(double wall_ms, double cpu_ms, bool generating) {
  Segment& s = segments_.back();
  s.all.wall.push_back(wall_ms);
  s.all.cpu.push_back(cpu_ms);
  if (generating) {
    s.generating.wall.push_back(wall_ms);
    s.generating.cpu.push_back(cpu_ms);
  }
}

std::vector<FrameSummary> FrameStats::summaries() const {
  std::vector<FrameSummary> out;
  auto summarize = [&](const std::string& label, const Series& v) {
    FrameSummary s;
    s.label = label;
    s.frames = int64_t(v.wall.size());
    s.mean_ms = mean(v.wall);
    s.p50_ms = percentile(v.wall, 50);
    s.p99_ms = percentile(v.wall, 99);
    s.max_ms = v.wall.empty() ? NAN : *std::max_element(v.wall.begin(), v.wall.end());
    s.cpu_mean_ms = mean(v.cpu);
    s.cpu_p99_ms = percentile(v.cpu, 99);
    out.push_back(s);
  };
  for (const auto& s : segments_) {
    if (s.all.wall.empty()) continue;
    summarize(s.label, s.all);
    if (!s.generating.wall.empty() && s.generating.wall.size() != s.all.wall.size())
      summarize(s.label + " (while generating)", s.generating);
  }
  return out;
}

nlohmann::json FrameStats::to_json() const {
  nlohmann::json j = nlohmann::json::array();
  for (const auto& s : summaries())
    j.push_back({{"label", s.label},
                 {"frames", s.frames},
                 {"mean_ms", s.mean_ms},
                 {"p50_ms", s.p50_ms},
                 {"p99_ms", s.p99_ms},
                 {"max_ms", s.max_ms},
                 {"ui_cpu_mean_ms", s.cpu_mean_ms},
                 {"ui_cpu_p99_ms", s.cpu_p99_ms}});
  return j;
}

std::string FrameStats::text() const {
  std::string out;
  char buf[320];
  for (const auto& s : summaries()) {
    std::snprintf(buf, sizeof buf,
                  "[frames %s: %lld, mean %.2f ms, p50 %.2f ms, p99 %.2f ms, max %.2f ms; UI "
                  "thread CPU mean %.2f ms, p99 %.2f ms]\n",
                  s.label.c_str(), (long long)s.frames, s.mean_ms, s.p50_ms, s.p99_ms, s.max_ms,
                  s.cpu_mean_ms, s.cpu_p99_ms);
    out += buf;
  }
  return out;
}

}  // namespace moescope::gui
