#include "tests/common/test_paths.h"

#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <filesystem>

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

std::string make_temp_dir(const std::string& tag) {
  static std::atomic<int> counter{0};
  auto dir =
      std::filesystem::temp_directory_path() /
      ("moescope-test-" + tag + "-" + std::to_string(getpid()) + "-" + std::to_string(counter++));
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  return dir.string();
}

bool file_exists(const std::string& path) {
  struct stat st;
  return stat(path.c_str(), &st) == 0;
}

}  // namespace moescope::test
