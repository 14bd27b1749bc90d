// One writer per trace file. The claim is an flock on a side file, PATH.lock, that holds the
// writer's pid: the kernel releases it when the process ends however it ends (SIGKILL included),
// so a crashed writer never blocks the next one, and a second writer -- in another process or in
// this one -- is refused with the pid of the first instead of interleaving its transactions.
// Readers never look at it: they always work alongside the writer.
#pragma once

#include <string>

namespace moescope::storage {

class WriterLock {
 public:
  WriterLock() = default;
  // Throws Error "trace PATH is being written by process N" when another writer holds the file,
  // or naming the lock file when it cannot be created.
  static WriterLock acquire(const std::string& path);
  ~WriterLock();  // removes the lock file, then unlocks
  WriterLock(WriterLock&& o) noexcept;
  WriterLock& operator=(WriterLock&& o) noexcept;
  WriterLock(const WriterLock&) = delete;
  WriterLock& operator=(const WriterLock&) = delete;

  static std::string lock_path(const std::string& path) { return path + ".lock"; }

 private:
  void release();
  int fd_ = -1;
  std::string lock_path_;
};

}  // namespace moescope::storage
