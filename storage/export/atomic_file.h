// Writes an export all at once or not at all: the content goes to a temporary file beside the
// target, which is renamed over it only when every byte was written. A failed export never
// leaves a half-written file under the name the user asked for.
#pragma once

#include <fstream>
#include <string>

namespace moescope::storage {

class AtomicFile {
 public:
  // Opens PATH.tmp-PID; throws Error naming path when it cannot be created.
  explicit AtomicFile(const std::string& path);
  ~AtomicFile();  // removes the temporary file unless commit() succeeded
  AtomicFile(const AtomicFile&) = delete;
  AtomicFile& operator=(const AtomicFile&) = delete;

  std::ostream& out() { return out_; }
  // Flushes, checks for write errors and renames into place; throws Error naming path.
  void commit();

 private:
  std::string path_, tmp_;
  std::ofstream out_;
  bool committed_ = false;
};

}  // namespace moescope::storage
