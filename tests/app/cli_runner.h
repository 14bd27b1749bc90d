// Running the moescope binary from tests, as a user would: arguments in, exit code and the two
// output streams back.
#pragma once

#include <sys/wait.h>

#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "tests/common/test_paths.h"

namespace moescope::test {

struct CliRun {
  int rc = -1;
  std::string out, err;
};

inline std::string quote(const std::string& s) {
  std::string q = "'";
  for (char c : s) q += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return q + "'";
}

inline std::string slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

inline CliRun moescope(const std::vector<std::string>& args) {
  static const std::string dir = make_temp_dir("cli-out");
  std::string cmd = quote(binary_dir() + "/moescope");
  for (const auto& a : args) cmd += " " + quote(a);
  cmd += " >" + dir + "/out 2>" + dir + "/err";
  int status = std::system(cmd.c_str());
  CliRun r;
  r.rc = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  r.out = slurp(dir + "/out");
  r.err = slurp(dir + "/err");
  return r;
}

}  // namespace moescope::test
