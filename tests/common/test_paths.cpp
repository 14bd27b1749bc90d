#include "tests/common/test_paths.h"

#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <filesystem>
#include <mutex>
#include <vector>

namespace moescope::test {

std::string source_dir() {
  return MOESCOPE_SOURCE_DIR;
}
std::string binary_dir() {
  return MOESCOPE_BINARY_DIR;
}
std::string shared_dir() {
  if (const char* env = std::getenv("MOESCOPE_SHARED_DIR")) return env;
  return source_dir() + "/../shared";
}
std::string assets_dir() {
  return source_dir() + "/assets";
}

namespace {

// Removes every directory make_temp_dir created when the test binary exits (set
// MOESCOPE_KEEP_TEST_DIRS=1 to keep them for a post-mortem).
struct TempDirs {
  std::mutex mutex;
  std::vector<std::filesystem::path> dirs;
  ~TempDirs() {
    if (std::getenv("MOESCOPE_KEEP_TEST_DIRS")) return;
    std::error_code ec;
    for (const auto& d : dirs) std::filesystem::remove_all(d, ec);
  }
};
TempDirs& temp_dirs() {
  static TempDirs registry;
  return registry;
}

}  // namespace

std::string make_temp_dir(const std::string& tag) {
  static std::atomic<int> counter{0};
  auto dir =
      std::filesystem::temp_directory_path() /
      ("moescope-test-" + tag + "-" + std::to_string(getpid()) + "-" + std::to_string(counter++));
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  std::lock_guard<std::mutex> lock(temp_dirs().mutex);
  temp_dirs().dirs.push_back(dir);
  return dir.string();
}

bool file_exists(const std::string& path) {
  struct stat st;
  return stat(path.c_str(), &st) == 0;
}

}  // namespace moescope::test
