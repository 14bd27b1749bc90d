#include "engine/session/memory_sampler.h"

#include <sys/resource.h>
#include <unistd.h>

#include <cstdio>

#include "engine/trace/clock.h"

namespace moescope {

int64_t process_rss_bytes() {
  // statm rather than status: one short line to parse, a few microseconds between two steps.
  FILE* f = std::fopen("/proc/self/statm", "r");
  if (!f) return -1;
  long long size = 0, resident = -1;
  const int n = std::fscanf(f, "%lld %lld", &size, &resident);
  std::fclose(f);
  if (n != 2 || resident < 0) return -1;
  return int64_t(resident) * int64_t(sysconf(_SC_PAGESIZE));
}

int64_t process_peak_rss_bytes() {
  rusage ru{};
  if (getrusage(RUSAGE_SELF, &ru) != 0) return -1;
  return int64_t(ru.ru_maxrss) * 1024;  // Linux reports KiB
}

MemorySampler::MemorySampler(trace::Tracer& tracer)
    : tracer_(tracer), interval_ns_(tracer.capture().memory_interval_ms * 1'000'000) {}

void MemorySampler::maybe_sample(int64_t step) {
  if (interval_ns_ <= 0) return;
  if (trace::now_ns() - last_ns_ >= interval_ns_) sample(step);
}

void MemorySampler::sample(int64_t step) {
  if (interval_ns_ <= 0) return;
  trace::MemorySample s;
  s.step = step;
  s.time_ns = trace::now_ns();
  s.rss_bytes = process_rss_bytes();
  s.peak_rss_bytes = process_peak_rss_bytes();
  s.attention_bytes = tracer_.attention_captured_bytes();
  last_ns_ = s.time_ns;
  tracer_.memory(s);
}

}  // namespace moescope
