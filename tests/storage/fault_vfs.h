// Fault injection under SQLite: a VFS that wraps the default one and, on demand, fails every
// write, sync and truncate with a chosen SQLite code and errno -- what a disk that fills up or a
// file system remounted read-only does to a running writer. It works as root, where chmod and
// permission tricks do not, and needs no mount.
#pragma once

namespace moescope::test {

class FaultVfs {
 public:
  // Installs the wrapper as SQLite's default VFS; connections opened from now on go through it.
  FaultVfs();
  // Restores the previous default. Every connection opened through the wrapper must be closed.
  ~FaultVfs();
  FaultVfs(const FaultVfs&) = delete;
  FaultVfs& operator=(const FaultVfs&) = delete;

  // From now on writes fail with sqlite_rc (e.g. SQLITE_FULL, SQLITE_IOERR_WRITE) and the VFS
  // reports sys_errno (ENOSPC, EROFS) as the system error; 0 heals the disk.
  void fail_writes(int sqlite_rc, int sys_errno);
  // Writes refused since the fault was set.
  int refused_writes() const;
};

}  // namespace moescope::test
