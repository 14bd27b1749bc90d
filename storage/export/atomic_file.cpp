// Temporary file + rename (see atomic_file.h).
#include "storage/export/atomic_file.h"

#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

#include "engine/core/error.h"

namespace moescope::storage {

AtomicFile::AtomicFile(const std::string& path)
    : path_(path), tmp_(path + ".tmp-" + std::to_string(getpid())) {
  out_.open(tmp_, std::ios::binary | std::ios::trunc);
  if (!out_) fail("export ", path_, ": cannot create ", tmp_, " (", std::strerror(errno), ")");
}

AtomicFile::~AtomicFile() {
  if (committed_) return;
  out_.close();
  std::remove(tmp_.c_str());
}

void AtomicFile::commit() {
  out_.flush();
  const bool ok = bool(out_);
  out_.close();
  if (!ok || out_.fail()) {
    std::remove(tmp_.c_str());
    fail("export ", path_, ": writing failed (disk full?)");
  }
  if (std::rename(tmp_.c_str(), path_.c_str()) != 0) {
    const int err = errno;
    std::remove(tmp_.c_str());
    fail("export ", path_, ": cannot move the finished file into place (", std::strerror(err), ")");
  }
  committed_ = true;
}

}  // namespace moescope::storage
