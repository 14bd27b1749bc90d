// `moescope runs FILE.db`: the runs recorded in a trace file, one line each.
#include <cstdio>
#include <ctime>

#include "app/cli/command_list.h"
#include "app/cli/format.h"
#include "storage/trace_file.h"

namespace moescope::app {

namespace {

std::string local_time(int64_t unix_ns) {
  const std::time_t t = std::time_t(unix_ns / 1000000000);
  std::tm tm{};
  localtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%d %H:%M:%S", &tm);
  return buf;
}

// The prompt on one line, shortened to width characters (UTF-8 aware, never splitting one).
std::string one_line(const std::string& text, size_t width) {
  std::string out;
  size_t chars = 0;
  for (size_t i = 0; i < text.size() && chars < width; ++chars) {
    const unsigned char c = static_cast<unsigned char>(text[i]);
    const size_t len = c < 0x80 ? 1 : c < 0xE0 ? 2 : c < 0xF0 ? 3 : 4;
    if (c == '\n' || c == '\t' || c == '\r')
      out += ' ';
    else
      out.append(text, i, len);
    i += len;
    if (chars + 1 == width && i < text.size()) out += "...";
  }
  return out;
}

}  // namespace

int cmd_runs(Args& args) {
  std::vector<std::string> pos = args.positionals();
  if (pos.size() != 1) throw UsageError("expected one trace file: moescope runs FILE.db");
  auto file = storage::TraceFile::open(pos[0]);
  auto runs = file->runs();
  if (runs.empty()) {
    std::printf("%s: no runs\n", pos[0].c_str());
    return 0;
  }
  std::printf("%4s  %-19s  %-20s  %8s  %6s  %6s  %-9s  %s\n", "id", "started", "model", "seconds",
              "prompt", "gen", "status", "prompt text");
  for (const auto& r : runs) {
    std::printf("%4lld  %-19s  %-20s  %8s  %6lld  %6lld  %-9s  %s\n", (long long)r.id,
                local_time(r.start_unix_ns).c_str(), one_line(r.model, 20).c_str(),
                r.duration_s > 0 ? fixed(r.duration_s, 2).c_str() : "-", (long long)r.prompt_tokens,
                (long long)r.generated_tokens, trace::run_status_name(r.status),
                one_line(r.prompt, 40).c_str());
  }
  return 0;
}

}  // namespace moescope::app
