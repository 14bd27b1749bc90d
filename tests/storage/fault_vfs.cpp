// The fault-injecting VFS (see fault_vfs.h): every method forwards to the real file; writes,
// syncs and truncates check the fault first. Only one FaultVfs may exist at a time.
#include "tests/storage/fault_vfs.h"

#include <sqlite3.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <stdexcept>

namespace moescope::test {

namespace {

sqlite3_vfs* g_real = nullptr;
sqlite3_vfs g_vfs;
std::atomic<int> g_rc{0}, g_errno{0}, g_refused{0};

// Our file: the method table, then the real VFS's file right behind it.
struct File {
  sqlite3_file base;
  sqlite3_file* real() { return reinterpret_cast<sqlite3_file*>(this + 1); }
};

File* as_file(sqlite3_file* f) {
  return reinterpret_cast<File*>(f);
}
sqlite3_file* real(sqlite3_file* f) {
  return as_file(f)->real();
}

// As a failing system call would, the refusal leaves its errno behind.
int refuse() {
  const int rc = g_rc.load();
  if (rc) {
    ++g_refused;
    errno = g_errno.load();
  }
  return rc;
}

int x_close(sqlite3_file* f) {
  return real(f)->pMethods->xClose(real(f));
}
int x_read(sqlite3_file* f, void* p, int n, sqlite3_int64 o) {
  return real(f)->pMethods->xRead(real(f), p, n, o);
}
int x_write(sqlite3_file* f, const void* p, int n, sqlite3_int64 o) {
  if (const int rc = refuse()) return rc;
  return real(f)->pMethods->xWrite(real(f), p, n, o);
}
int x_truncate(sqlite3_file* f, sqlite3_int64 size) {
  if (const int rc = refuse()) return rc;
  return real(f)->pMethods->xTruncate(real(f), size);
}
int x_sync(sqlite3_file* f, int flags) {
  if (const int rc = refuse()) return rc;
  return real(f)->pMethods->xSync(real(f), flags);
}
int x_file_size(sqlite3_file* f, sqlite3_int64* size) {
  return real(f)->pMethods->xFileSize(real(f), size);
}
int x_lock(sqlite3_file* f, int l) {
  return real(f)->pMethods->xLock(real(f), l);
}
int x_unlock(sqlite3_file* f, int l) {
  return real(f)->pMethods->xUnlock(real(f), l);
}
int x_check_reserved(sqlite3_file* f, int* out) {
  return real(f)->pMethods->xCheckReservedLock(real(f), out);
}
int x_file_control(sqlite3_file* f, int op, void* arg) {
  return real(f)->pMethods->xFileControl(real(f), op, arg);
}
int x_sector_size(sqlite3_file* f) {
  return real(f)->pMethods->xSectorSize(real(f));
}
int x_device_characteristics(sqlite3_file* f) {
  return real(f)->pMethods->xDeviceCharacteristics(real(f));
}
int x_shm_map(sqlite3_file* f, int page, int size, int extend, void volatile** p) {
  return real(f)->pMethods->xShmMap(real(f), page, size, extend, p);
}
int x_shm_lock(sqlite3_file* f, int offset, int n, int flags) {
  return real(f)->pMethods->xShmLock(real(f), offset, n, flags);
}
void x_shm_barrier(sqlite3_file* f) {
  real(f)->pMethods->xShmBarrier(real(f));
}
int x_shm_unmap(sqlite3_file* f, int del) {
  return real(f)->pMethods->xShmUnmap(real(f), del);
}
int x_fetch(sqlite3_file* f, sqlite3_int64 o, int n, void** p) {
  return real(f)->pMethods->xFetch(real(f), o, n, p);
}
int x_unfetch(sqlite3_file* f, sqlite3_int64 o, void* p) {
  return real(f)->pMethods->xUnfetch(real(f), o, p);
}

// Version 3 methods, as the unix VFS has. Memory-mapped pages are read-only in SQLite's default
// build (SQLITE_MMAP_READWRITE off), so every write still passes through x_write.
const sqlite3_io_methods kMethods = {3,
                                     x_close,
                                     x_read,
                                     x_write,
                                     x_truncate,
                                     x_sync,
                                     x_file_size,
                                     x_lock,
                                     x_unlock,
                                     x_check_reserved,
                                     x_file_control,
                                     x_sector_size,
                                     x_device_characteristics,
                                     x_shm_map,
                                     x_shm_lock,
                                     x_shm_barrier,
                                     x_shm_unmap,
                                     x_fetch,
                                     x_unfetch};

int x_open(sqlite3_vfs*, sqlite3_filename name, sqlite3_file* f, int flags, int* out_flags) {
  File* file = as_file(f);
  file->base.pMethods = nullptr;
  const int rc = g_real->xOpen(g_real, name, file->real(), flags, out_flags);
  if (rc == SQLITE_OK && file->real()->pMethods) file->base.pMethods = &kMethods;
  return rc;
}

int x_get_last_error(sqlite3_vfs*, int n, char* buf) {
  if (const int e = g_errno.load(); g_rc.load() && e) return e;
  return g_real->xGetLastError(g_real, n, buf);
}

}  // namespace

FaultVfs::FaultVfs() {
  if (g_real) throw std::logic_error("only one FaultVfs at a time");
  g_real = sqlite3_vfs_find(nullptr);
  g_vfs = *g_real;
  g_vfs.szOsFile = int(sizeof(File)) + g_real->szOsFile;
  g_vfs.zName = "moescope-fault";
  g_vfs.pNext = nullptr;
  g_vfs.xOpen = x_open;
  g_vfs.xGetLastError = x_get_last_error;
  // The real VFS's methods receive our vfs pointer; unix ignores it except for pAppData, copied.
  fail_writes(0, 0);
  sqlite3_vfs_register(&g_vfs, 1);
}

FaultVfs::~FaultVfs() {
  sqlite3_vfs_unregister(&g_vfs);
  sqlite3_vfs_register(g_real, 1);
  g_real = nullptr;
}

void FaultVfs::fail_writes(int sqlite_rc, int sys_errno) {
  g_errno = sys_errno;
  g_refused = 0;
  g_rc = sqlite_rc;
}

int FaultVfs::refused_writes() const {
  return g_refused.load();
}

}  // namespace moescope::test
