// The fuzzers' findings as regression tests: every input under tests/fuzz/regressions/<target>/
// once crashed its parser and must now end in one clean moescope::Error; the seeds under
// tests/fuzz/corpus/<target>/ must parse (or, named bad-*, be refused with an Error). Both go
// through the same harness as the libFuzzer targets (fuzz_inputs.h).
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>
#include <string>
#include <vector>

#include "engine/core/error.h"
#include "tests/common/test_paths.h"
#include "tests/fuzz/fuzz_inputs.h"

namespace moescope {
namespace {

namespace fs = std::filesystem;
using Feed = std::function<void(std::string_view)>;

struct Target {
  const char* name;
  Feed feed;
};

const std::vector<Target>& targets() {
  static const std::vector<Target> t = {
      {"safetensors_header", fuzz::feed_safetensors},
      {"config_json", fuzz::feed_config_json},
      {"pickle", fuzz::feed_pickle},
      {"tokenizer_file", fuzz::feed_tokenizer_file},
      {"trace_file", fuzz::feed_trace_file},
  };
  return t;
}

std::vector<std::string> files_in(const std::string& dir) {
  std::vector<std::string> out;
  if (!fs::is_directory(dir)) return out;
  for (const auto& e : fs::directory_iterator(dir))
    if (e.is_regular_file() && e.path().filename().string()[0] != '.') out.push_back(e.path());
  std::sort(out.begin(), out.end());
  return out;
}

std::string read_bytes(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(f), {});
}

TEST(FuzzRegressions, EveryCrashInputNowEndsInOneCleanError) {
  int inputs = 0;
  for (const Target& t : targets()) {
    for (const std::string& path :
         files_in(test::source_dir() + "/tests/fuzz/regressions/" + t.name)) {
      SCOPED_TRACE(path);
      ++inputs;
      try {
        t.feed(read_bytes(path));
        ADD_FAILURE() << "accepted; it crashed the parser once and is not a valid file";
      } catch (const Error& e) {
        const std::string msg = e.what();
        EXPECT_FALSE(msg.empty());
        EXPECT_EQ(msg.find('\n'), std::string::npos) << msg;
      }
      // Anything else (another exception type) fails the test through gtest, a crash by itself.
    }
  }
  std::printf("  %d regression inputs\n", inputs);
}

// Seeds named bad-* are files the parser must refuse (a pickle calling os.system); the rest
// are good files and must parse.
TEST(FuzzRegressions, EverySeedParsesOrIsRefusedAsExpected) {
  for (const Target& t : targets()) {
    const std::vector<std::string> seeds =
        files_in(test::source_dir() + "/tests/fuzz/corpus/" + t.name);
    EXPECT_FALSE(seeds.empty()) << "no seed corpus for " << t.name;
    for (const std::string& path : seeds) {
      SCOPED_TRACE(path);
      const bool bad = fs::path(path).filename().string().rfind("bad-", 0) == 0;
      try {
        t.feed(read_bytes(path));
        EXPECT_FALSE(bad) << "accepted a file that must be refused";
      } catch (const Error& e) {
        EXPECT_TRUE(bad) << e.what();
      }
    }
  }
}

}  // namespace
}  // namespace moescope
