#include "app/gui/script.h"

#include <map>
#include <sstream>

#include "engine/core/error.h"

namespace moescope::gui {

namespace {

struct Arity {
  int min, max;
};

const std::map<std::string, Arity>& commands() {
  static const std::map<std::string, Arity> c = {
      {"size", {2, 2}},       {"scale", {1, 1}},   {"prompt", {0, 1 << 20}}, {"set", {2, 1 << 20}},
      {"generate", {0, 0}},   {"stop", {0, 0}},    {"clear", {0, 0}},        {"wait", {1, 3}},
      {"open", {1, 1}},       {"detach", {1, 1}},  {"attach", {1, 1}},       {"select", {2, 2}},
      {"open_trace", {1, 1}}, {"mouse", {1, 2}},   {"mouse_at", {3, 3}},     {"screenshot", {1, 2}},
      {"dump", {1, 1}},       {"measure", {1, 1}}, {"quit", {0, 0}}};
  return c;
}

std::string unescape(const std::string& s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '\\' && i + 1 < s.size()) {
      const char n = s[++i];
      out += n == 'n' ? '\n' : n == 't' ? '\t' : n;
    } else {
      out += s[i];
    }
  }
  return out;
}

}  // namespace

std::vector<ScriptStep> parse_script(const std::string& text, const std::string& name) {
  std::vector<ScriptStep> steps;
  std::istringstream in(text);
  std::string line;
  int n = 0;
  while (std::getline(in, line)) {
    ++n;
    const size_t start = line.find_first_not_of(" \t\r");
    if (start == std::string::npos || line[start] == '#') continue;
    while (!line.empty() && (line.back() == '\r' || line.back() == ' ')) line.pop_back();
    ScriptStep s;
    s.line = n;
    const size_t end = line.find_first_of(" \t", start);
    s.command = line.substr(start, end == std::string::npos ? std::string::npos : end - start);
    if (end != std::string::npos) {
      const size_t r = line.find_first_not_of(" \t", end);
      if (r != std::string::npos) s.rest = unescape(line.substr(r));
      std::istringstream words(line.substr(end));
      for (std::string w; words >> w;) s.args.push_back(w);
    }
    const auto it = commands().find(s.command);
    if (it == commands().end()) fail(name, ":", n, ": unknown command '", s.command, "'");
    if (s.command == "prompt") {
      s.args = {s.rest};
    } else if (int(s.args.size()) < it->second.min || int(s.args.size()) > it->second.max) {
      fail(name, ":", n, ": '", s.command, "' takes ", it->second.min,
           it->second.max > it->second.min ? " or more" : "", " argument(s), got ", s.args.size());
    }
    if (s.command == "set" && s.args[0].find('.') == std::string::npos)
      fail(name, ":", n, ": 'set' needs PANEL.KEY, got '", s.args[0], "'");
    if (s.command == "set") {
      // The value is the rest after the key (it may contain spaces).
      const size_t k = s.rest.find_first_of(" \t");
      s.args = {s.args[0], s.rest.substr(s.rest.find_first_not_of(" \t", k))};
    }
    steps.push_back(std::move(s));
  }
  return steps;
}

}  // namespace moescope::gui
