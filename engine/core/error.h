// Errors at the engine's input boundaries (files, configs, user parameters).
//
// Bad input throws moescope::Error with a one-line message that names the file, tensor or field
// and says what was expected; the CLI prints it and exits non-zero. Programmer errors use assert.
#pragma once

#include <sstream>
#include <stdexcept>
#include <string>
#include <utility>

namespace moescope {

class Error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// Concatenates its arguments with operator<<: cat("tensor '", name, "' has ", n, " dims").
template <typename... Args>
std::string cat(Args&&... args) {
  std::ostringstream out;
  (out << ... << std::forward<Args>(args));
  return out.str();
}

template <typename... Args>
[[noreturn]] void fail(Args&&... args) {
  throw Error(cat(std::forward<Args>(args)...));
}

}  // namespace moescope
