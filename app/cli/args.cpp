#include "app/cli/args.h"

#include <cerrno>
#include <cmath>
#include <cstdlib>

namespace moescope::app {

Args::Args(std::string command, std::vector<std::string> argv)
    : command_(std::move(command)), argv_(std::move(argv)), used_(argv_.size(), false) {}

std::optional<std::string> Args::value(const std::string& name) {
  const std::string opt = "--" + name, prefix = opt + "=";
  std::optional<std::string> found;
  for (size_t i = 0; i < argv_.size(); ++i) {
    if (used_[i]) continue;
    if (argv_[i] == opt) {
      if (i + 1 >= argv_.size()) throw UsageError(opt + " needs a value");
      used_[i] = used_[i + 1] = true;
      found = argv_[i + 1];
      ++i;
    } else if (argv_[i].rfind(prefix, 0) == 0) {
      used_[i] = true;
      found = argv_[i].substr(prefix.size());
    }
  }
  return found;  // the last occurrence wins, as in most CLIs
}

std::string Args::value(const std::string& name, const std::string& fallback) {
  return value(name).value_or(fallback);
}

bool Args::flag(const std::string& name) {
  const std::string opt = "--" + name;
  bool found = false;
  for (size_t i = 0; i < argv_.size(); ++i) {
    if (!used_[i] && argv_[i] == opt) used_[i] = found = true;
  }
  return found;
}

int64_t Args::integer(const std::string& name, int64_t fallback) {
  auto v = value(name);
  if (!v) return fallback;
  errno = 0;
  char* end = nullptr;
  long long n = std::strtoll(v->c_str(), &end, 10);
  if (v->empty() || *end != '\0' || errno == ERANGE)
    throw UsageError("--" + name + " expects an integer, got '" + *v + "'");
  return n;
}

double Args::number(const std::string& name, double fallback) {
  auto v = value(name);
  if (!v) return fallback;
  char* end = nullptr;
  double x = std::strtod(v->c_str(), &end);
  if (v->empty() || *end != '\0' || !std::isfinite(x))
    throw UsageError("--" + name + " expects a number, got '" + *v + "'");
  return x;
}

std::vector<std::string> Args::positionals() {
  std::vector<std::string> out;
  for (size_t i = 0; i < argv_.size(); ++i) {
    if (used_[i]) continue;
    if (argv_[i].size() > 2 && argv_[i].rfind("--", 0) == 0)
      throw UsageError("unknown option " + argv_[i]);
    used_[i] = true;
    out.push_back(argv_[i]);
  }
  return out;
}

void Args::done() {
  for (size_t i = 0; i < argv_.size(); ++i) {
    if (used_[i]) continue;
    if (argv_[i].rfind("--", 0) == 0) throw UsageError("unknown option " + argv_[i]);
    throw UsageError("unexpected argument '" + argv_[i] + "'");
  }
}

}  // namespace moescope::app
