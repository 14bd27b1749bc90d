// Machine ceilings: JSON round trip, the data-directory path, and bad files.
#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>

#include "inspectors/analysis/ceilings.h"
#include "tests/common/expect_error.h"
#include "tests/common/test_paths.h"

namespace moescope::inspectors {
namespace {

MachineCeilings sample() {
  MachineCeilings c;
  c.read_gbps_one_thread = 12.5;
  c.read_gbps = 40.25;
  c.threads = 16;
  c.gemm_gflops = 512.0;
  c.cpu = "Test CPU";
  c.host = "box";
  c.measured_unix_s = 1700000000;
  return c;
}

void write(const std::string& path, const std::string& text) {
  std::ofstream(path) << text;
}

TEST(Ceilings, SaveAndLoadRoundTrip) {
  const std::string dir = test::make_temp_dir("ceilings");
  const std::string path = dir + "/nested/moescope/ceilings.json";
  EXPECT_FALSE(load_ceilings(path).has_value());  // not measured yet
  save_ceilings(path, sample());
  const auto c = load_ceilings(path);
  ASSERT_TRUE(c.has_value());
  EXPECT_EQ(c->read_gbps_one_thread, 12.5);
  EXPECT_EQ(c->read_gbps, 40.25);
  EXPECT_EQ(c->threads, 16);
  EXPECT_EQ(c->gemm_gflops, 512.0);
  EXPECT_EQ(c->gemm_t, 256);
  EXPECT_EQ(c->gemm_k, 1024);
  EXPECT_EQ(c->gemm_n, 1024);
  EXPECT_EQ(c->cpu, "Test CPU");
  EXPECT_EQ(c->host, "box");
  EXPECT_EQ(c->measured_unix_s, 1700000000);
  EXPECT_EQ(c->gemm_bf16_gflops, 0.0);  // not measured: left out of the file, read as 0
  EXPECT_EQ(c->gemm_int8_dot_gflops, 0.0);
  EXPECT_EQ(c->isa, "");
  EXPECT_FALSE(test::file_exists(path + ".tmp"));

  // The bf16 rate and the kernels' instruction set when they were measured.
  MachineCeilings with = sample();
  with.gemm_bf16_gflops = 1024.5;
  with.gemm_int8_dot_gflops = 2048.25;
  with.isa = "amx";
  save_ceilings(path, with);
  const auto d = load_ceilings(path);
  ASSERT_TRUE(d.has_value());
  EXPECT_EQ(d->gemm_bf16_gflops, 1024.5);
  EXPECT_EQ(d->gemm_int8_dot_gflops, 2048.25);
  EXPECT_EQ(d->isa, "amx");
}

TEST(Ceilings, DefaultPathFollowsXdgThenHome) {
  const char* old_xdg = std::getenv("XDG_DATA_HOME");
  const char* old_home = std::getenv("HOME");
  const std::string saved_xdg = old_xdg ? old_xdg : "", saved_home = old_home ? old_home : "";
  setenv("XDG_DATA_HOME", "/data/x", 1);
  EXPECT_EQ(default_ceilings_path(), "/data/x/moescope/ceilings.json");
  setenv("XDG_DATA_HOME", "relative/ignored", 1);  // the spec wants an absolute path
  setenv("HOME", "/home/u", 1);
  EXPECT_EQ(default_ceilings_path(), "/home/u/.local/share/moescope/ceilings.json");
  unsetenv("XDG_DATA_HOME");
  EXPECT_EQ(default_ceilings_path(), "/home/u/.local/share/moescope/ceilings.json");
  unsetenv("HOME");
  test::expect_error([] { default_ceilings_path(); }, {"XDG_DATA_HOME", "HOME"});
  if (old_xdg) setenv("XDG_DATA_HOME", saved_xdg.c_str(), 1);
  if (old_home) setenv("HOME", saved_home.c_str(), 1);
}

TEST(Ceilings, BadFilesAreErrorsNamingFileAndField) {
  const std::string dir = test::make_temp_dir("ceilings-bad");
  const std::string path = dir + "/ceilings.json";
  write(path, "{ not json");
  test::expect_error([&] { load_ceilings(path); }, {path, "not valid JSON"});

  nlohmann::json j = ceilings_to_json(sample());
  j.erase("gemm_gflops");
  write(path, j.dump());
  test::expect_error([&] { load_ceilings(path); }, {path, "'gemm_gflops'", "missing"});

  j = ceilings_to_json(sample());
  j["read_gbps"] = 0;
  write(path, j.dump());
  test::expect_error([&] { load_ceilings(path); }, {path, "'read_gbps'", "positive"});

  j = ceilings_to_json(sample());
  j["cpu"] = 3;
  write(path, j.dump());
  test::expect_error([&] { load_ceilings(path); }, {path, "'cpu'", "a string"});

  j = ceilings_to_json(sample());
  j["version"] = 7;
  write(path, j.dump());
  test::expect_error([&] { load_ceilings(path); }, {path, "'version'", "bench --ceilings"});
}

}  // namespace
}  // namespace moescope::inspectors
