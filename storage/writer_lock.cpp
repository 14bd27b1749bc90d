// flock-based writer claim on PATH.lock (see writer_lock.h).
#include "storage/writer_lock.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <utility>

#include "engine/core/error.h"

namespace moescope::storage {

namespace {

std::string holder_pid(int fd) {
  char buf[32] = {};
  const ssize_t n = pread(fd, buf, sizeof(buf) - 1, 0);
  std::string s(buf, n > 0 ? size_t(n) : 0);
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
  return s;
}

}  // namespace

WriterLock WriterLock::acquire(const std::string& path) {
  WriterLock lock;
  lock.lock_path_ = lock_path(path);
  // A releasing writer unlinks the lock file before unlocking it; if we opened that old file we
  // hold a lock nobody else can see, so check that the path still names the file we locked.
  for (int attempt = 0; attempt < 8; ++attempt) {
    const int fd = ::open(lock.lock_path_.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0)
      fail("trace ", path, ": cannot create the writer lock ", lock.lock_path_, " (",
           std::strerror(errno), ")");
    if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
      const int err = errno;
      const std::string pid = holder_pid(fd);
      ::close(fd);
      if (err == EWOULDBLOCK)
        fail("trace ", path, " is being written by process ", pid.empty() ? "?" : pid,
             " (writer lock ", lock.lock_path_, ")");
      fail("trace ", path, ": cannot lock ", lock.lock_path_, " (", std::strerror(err), ")");
    }
    struct stat held, named;
    if (fstat(fd, &held) == 0 && stat(lock.lock_path_.c_str(), &named) == 0 &&
        held.st_dev == named.st_dev && held.st_ino == named.st_ino) {
      const std::string pid = std::to_string(getpid()) + "\n";
      if (ftruncate(fd, 0) == 0 && pwrite(fd, pid.data(), pid.size(), 0) == ssize_t(pid.size())) {
      }  // the pid is informative only; the lock is what counts
      lock.fd_ = fd;
      return lock;
    }
    ::close(fd);
  }
  fail("trace ", path, ": the writer lock ", lock.lock_path_, " keeps changing; another writer?");
}

WriterLock::~WriterLock() {
  release();
}

WriterLock::WriterLock(WriterLock&& o) noexcept
    : fd_(std::exchange(o.fd_, -1)), lock_path_(std::move(o.lock_path_)) {}

WriterLock& WriterLock::operator=(WriterLock&& o) noexcept {
  if (this != &o) {
    release();
    fd_ = std::exchange(o.fd_, -1);
    lock_path_ = std::move(o.lock_path_);
  }
  return *this;
}

void WriterLock::release() {
  if (fd_ < 0) return;
  ::unlink(lock_path_.c_str());
  ::close(fd_);  // closing the last descriptor releases the flock
  fd_ = -1;
}

}  // namespace moescope::storage
