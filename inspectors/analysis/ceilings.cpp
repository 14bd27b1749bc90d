#include "inspectors/analysis/ceilings.h"

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <type_traits>

#include "engine/core/error.h"

namespace moescope::inspectors {

namespace {

constexpr int kVersion = 1;

template <typename T>
T field(const nlohmann::json& j, const char* key, const std::string& source) {
  if (!j.contains(key)) fail(source, ": field '", key, "' is missing");
  try {
    return j.at(key).get<T>();
  } catch (const nlohmann::json::exception&) {
    fail(source, ": field '", key, "' is ", j.at(key).type_name(), " (expected ",
         std::is_same_v<T, std::string> ? "a string" : "a number", ")");
  }
}

double positive(const nlohmann::json& j, const char* key, const std::string& source) {
  const double v = field<double>(j, key, source);
  if (!(v > 0)) fail(source, ": field '", key, "' is ", v, " (expected a positive rate)");
  return v;
}

}  // namespace

nlohmann::json ceilings_to_json(const MachineCeilings& c) {
  nlohmann::json j = {{"version", kVersion},
                      {"read_gbps_one_thread", c.read_gbps_one_thread},
                      {"read_gbps", c.read_gbps},
                      {"threads", c.threads},
                      {"gemm_gflops", c.gemm_gflops},
                      {"gemm_t", c.gemm_t},
                      {"gemm_k", c.gemm_k},
                      {"gemm_n", c.gemm_n},
                      {"cpu", c.cpu},
                      {"host", c.host},
                      {"measured_unix_s", c.measured_unix_s}};
  // Written only when measured (read as optional).
  if (c.gemm_bf16_gflops > 0) j["gemm_bf16_gflops"] = c.gemm_bf16_gflops;
  if (c.gemm_bf16_dot_gflops > 0) j["gemm_bf16_dot_gflops"] = c.gemm_bf16_dot_gflops;
  if (c.gemm_int8_dot_gflops > 0) j["gemm_int8_dot_gflops"] = c.gemm_int8_dot_gflops;
  if (!c.isa.empty()) j["isa"] = c.isa;
  return j;
}

MachineCeilings ceilings_from_json(const nlohmann::json& j, const std::string& source) {
  if (!j.is_object()) fail(source, ": expected a JSON object of machine ceilings");
  const int version = field<int>(j, "version", source);
  if (version != kVersion)
    fail(source, ": field 'version' is ", version, " (expected ", kVersion,
         "; run `moescope bench --ceilings` to measure again)");
  MachineCeilings c;
  c.read_gbps_one_thread = positive(j, "read_gbps_one_thread", source);
  c.read_gbps = positive(j, "read_gbps", source);
  c.threads = field<int32_t>(j, "threads", source);
  c.gemm_gflops = positive(j, "gemm_gflops", source);
  // Added later: optional, so that older files still open.
  if (j.contains("gemm_bf16_gflops")) c.gemm_bf16_gflops = positive(j, "gemm_bf16_gflops", source);
  if (j.contains("gemm_bf16_dot_gflops"))
    c.gemm_bf16_dot_gflops = positive(j, "gemm_bf16_dot_gflops", source);
  if (j.contains("gemm_int8_dot_gflops"))
    c.gemm_int8_dot_gflops = positive(j, "gemm_int8_dot_gflops", source);
  if (j.contains("isa")) c.isa = field<std::string>(j, "isa", source);
  c.gemm_t = field<int64_t>(j, "gemm_t", source);
  c.gemm_k = field<int64_t>(j, "gemm_k", source);
  c.gemm_n = field<int64_t>(j, "gemm_n", source);
  c.cpu = field<std::string>(j, "cpu", source);
  c.host = field<std::string>(j, "host", source);
  c.measured_unix_s = field<int64_t>(j, "measured_unix_s", source);
  return c;
}

std::string default_ceilings_path() {
  const char* xdg = std::getenv("XDG_DATA_HOME");
  if (xdg && xdg[0] == '/') return std::string(xdg) + "/moescope/ceilings.json";
  const char* home = std::getenv("HOME");
  if (!home || !home[0]) fail("cannot place ceilings.json: neither XDG_DATA_HOME nor HOME is set");
  return std::string(home) + "/.local/share/moescope/ceilings.json";
}

std::optional<MachineCeilings> load_ceilings(const std::string& path) {
  std::error_code ec;
  if (!std::filesystem::exists(path, ec)) return std::nullopt;
  std::ifstream in(path);
  if (!in) fail(path, ": cannot open for reading");
  nlohmann::json j;
  try {
    in >> j;
  } catch (const nlohmann::json::exception& e) {
    fail(path, ": not valid JSON (", e.what(), ")");
  }
  return ceilings_from_json(j, path);
}

void save_ceilings(const std::string& path, const MachineCeilings& c) {
  const std::filesystem::path p(path);
  std::error_code ec;
  if (p.has_parent_path()) std::filesystem::create_directories(p.parent_path(), ec);
  if (ec) fail(p.parent_path().string(), ": cannot create directory (", ec.message(), ")");
  const std::string tmp = path + ".tmp";
  {
    std::ofstream out(tmp, std::ios::trunc);
    if (!out) fail(tmp, ": cannot open for writing");
    out << ceilings_to_json(c).dump(2) << "\n";
    if (!out.flush()) fail(tmp, ": write failed");
  }
  std::filesystem::rename(tmp, p, ec);
  if (ec) fail(path, ": cannot replace with ", tmp, " (", ec.message(), ")");
}

}  // namespace moescope::inspectors
