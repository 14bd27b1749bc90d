// Paths the tests read from: the source tree, the build tree, and ../shared beside the project.
#pragma once

#include <string>

namespace moescope::test {

std::string source_dir();  // the project root
std::string binary_dir();  // the CMake build directory
std::string shared_dir();  // ../shared beside the project root (may not exist)
std::string assets_dir();  // source_dir()/assets
// A fresh empty directory under the system temp dir, unique per call.
std::string make_temp_dir(const std::string& tag);
bool file_exists(const std::string& path);

}  // namespace moescope::test
