// A small command-line parser: options are read by name as a command needs them
// (--name VALUE, --name=VALUE, or a bare --flag); what is left over are positionals, and
// anything else starting with "--" is an unknown option.
#pragma once

#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

namespace moescope::app {

// A mistake in how a command was called; the CLI prints it with the command's usage, exit 2.
class UsageError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

class Args {
 public:
  Args(std::string command, std::vector<std::string> argv);

  const std::string& command() const { return command_; }
  std::optional<std::string> value(const std::string& name);
  std::string value(const std::string& name, const std::string& fallback);
  bool flag(const std::string& name);
  int64_t integer(const std::string& name, int64_t fallback);
  double number(const std::string& name, double fallback);
  // The arguments not consumed as options; throws UsageError on an unknown --option.
  std::vector<std::string> positionals();
  // Throws UsageError when anything was not consumed.
  void done();

 private:
  std::string command_;
  std::vector<std::string> argv_;
  std::vector<bool> used_;
};

}  // namespace moescope::app
