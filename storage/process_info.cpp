// Process identity from /proc/PID/stat (Linux). Where /proc is missing the start time reads as 0
// and liveness falls back to kill(pid, 0).
#include "storage/process_info.h"

#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <string>

namespace moescope::storage {

namespace {

// Reads the state letter and start time of pid; false when there is no such process.
bool read_stat(int64_t pid, char& state, int64_t& start) {
  const std::string path = "/proc/" + std::to_string(pid) + "/stat";
  FILE* f = std::fopen(path.c_str(), "r");
  if (!f) return false;
  char buf[1024];
  const size_t n = std::fread(buf, 1, sizeof(buf) - 1, f);
  std::fclose(f);
  buf[n] = 0;
  // The command name (field 2) is in parentheses and may itself contain ") ": skip to the last.
  std::string s(buf, n);
  const size_t close = s.rfind(')');
  if (close == std::string::npos || close + 2 >= s.size()) return false;
  state = s[close + 2];
  // Fields after the name start at field 3 (state); start time is field 22.
  size_t at = close + 2;
  for (int field = 3; field < 22; ++field) {
    at = s.find(' ', at);
    if (at == std::string::npos) return false;
    ++at;
  }
  start = std::strtoll(s.c_str() + at, nullptr, 10);
  return true;
}

}  // namespace

ProcessId current_process() {
  ProcessId p;
  p.pid = int64_t(getpid());
  char state = 0;
  if (!read_stat(p.pid, state, p.start)) p.start = 0;
  return p;
}

bool process_alive(const ProcessId& p) {
  if (p.pid <= 0) return false;
  char state = 0;
  int64_t start = 0;
  if (read_stat(p.pid, state, start)) {
    if (state == 'Z' || state == 'X') return false;
    return p.start == 0 || start == p.start;
  }
  // No /proc entry: gone, unless /proc is not mounted at all.
  if (access("/proc/self/stat", R_OK) == 0) return false;
  return kill(pid_t(p.pid), 0) == 0 || errno == EPERM;
}

std::string abandoned_run_error(int64_t writer_pid) {
  return "the writer (process " + (writer_pid > 0 ? std::to_string(writer_pid) : std::string("?")) +
         ") ended without finishing the run";
}

}  // namespace moescope::storage
