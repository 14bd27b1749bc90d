// The SQLite file header (https://sqlite.org/fileformat.html section 1.3): magic at 0, page size
// at 16 (big-endian u16, 1 meaning 65536), change counter at 24, page count at 28 and the
// "version-valid-for" counter at 92; the page count is trusted only when the two counters agree.
#include "storage/file_checks.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstring>

#include "engine/core/error.h"

namespace moescope::storage {

namespace {

uint32_t be32(const unsigned char* p) {
  return uint32_t(p[0]) << 24 | uint32_t(p[1]) << 16 | uint32_t(p[2]) << 8 | uint32_t(p[3]);
}

}  // namespace

FileState check_trace_file(const std::string& path) {
  struct stat st;
  if (stat(path.c_str(), &st) != 0) {
    if (errno == ENOENT) return FileState::Missing;
    fail("trace ", path, ": cannot be read (", std::strerror(errno), ")");
  }
  if (S_ISDIR(st.st_mode)) fail("trace ", path, " is a directory, not a trace file");
  if (st.st_size == 0) return FileState::Empty;

  unsigned char h[100];
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) fail("trace ", path, ": cannot be read (", std::strerror(errno), ")");
  const ssize_t n = pread(fd, h, sizeof(h), 0);
  ::close(fd);
  if (n < 16 || std::memcmp(h, "SQLite format 3", 16) != 0)
    fail("trace ", path,
         ": not an SQLite database, so not a moescope trace (file is not a database)");
  if (n < ssize_t(sizeof(h)))
    fail("trace ", path, " is truncated: ", n, " bytes, shorter than an SQLite header (100 bytes)");

  const uint32_t page_size = h[16] == 0 && h[17] == 1 ? 65536u : (uint32_t(h[16]) << 8 | h[17]);
  const uint32_t pages = be32(h + 28);
  const bool pages_valid = pages != 0 && be32(h + 24) == be32(h + 92);
  // With a non-empty WAL beside it the main file may legitimately lag (pages still in the WAL,
  // or a checkpoint in progress), and SQLite recovers it; the check is for files at rest.
  struct stat wal;
  const bool wal_pending = stat((path + "-wal").c_str(), &wal) == 0 && wal.st_size > 0;
  const int64_t expected = int64_t(pages) * page_size;
  if (pages_valid && !wal_pending && st.st_size < expected)
    fail("trace ", path, " is truncated: its header describes ", expected, " bytes, the file has ",
         int64_t(st.st_size), " (an incomplete copy?)");
  return FileState::Database;
}

}  // namespace moescope::storage
