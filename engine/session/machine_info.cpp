#include "engine/session/machine_info.h"

#include <sys/utsname.h>
#include <unistd.h>

#include <fstream>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>

#include "kernels/cpu/isa.h"
#include "kernels/cpu/precision.h"

namespace moescope {

namespace {

std::string cpu_model() {
  std::ifstream in("/proc/cpuinfo");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("model name", 0) == 0) {
      auto colon = line.find(':');
      if (colon != std::string::npos) return line.substr(line.find_first_not_of(' ', colon + 1));
    }
  }
  return "unknown";
}

}  // namespace

std::string machine_json(int threads) {
  char host[256] = "unknown";
  gethostname(host, sizeof host - 1);
  struct utsname u;
  std::string os = uname(&u) == 0 ? std::string(u.sysname) + " " + u.release : "unknown";
  nlohmann::json j = {{"host", host},
                      {"cpu", cpu_model()},
                      {"logical_cpus", std::thread::hardware_concurrency()},
                      {"threads", threads},
                      {"kernels_isa", kernels::isa_name(kernels::active_isa())},
                      {"activations", kernels::effective_activations_name()},
                      {"cpu_features", kernels::cpu_feature_list()},
                      {"os", os}};
  return j.dump();
}

}  // namespace moescope
