#include "inspectors/analysis/rank_load.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <nlohmann/json.hpp>

#include "engine/core/error.h"

namespace moescope::inspectors {

ExpertGroups expert_groups(const storage::RunData& run) {
  ExpertGroups g;
  const nlohmann::json j = nlohmann::json::parse(run.info.layout_json, nullptr, false);
  if (j.is_discarded() || !j.is_object() || !j.contains("ep")) return g;
  if (!j["ep"].is_number_integer() || !j.value("expert_placement", nlohmann::json()).is_array())
    fail("run ", run.id, ": layout_json has no integer ep and expert_placement list");
  g.ep = j["ep"].get<int32_t>();
  g.tp = j.value("tp", 1);
  for (const auto& v : j["expert_placement"]) g.placement.push_back(v.get<int32_t>());
  if (g.ep > 1 && int64_t(g.placement.size()) != run.info.n_experts)
    fail("run ", run.id, ": layout_json places ", g.placement.size(), " experts, the run has ",
         run.info.n_experts);
  for (int32_t p : g.placement)
    if (p < 0 || p >= g.ep)
      fail("run ", run.id, ": layout_json puts an expert on group ", p, ", expected 0..", g.ep - 1);
  return g;
}

std::vector<GroupLoad> group_loads(const ExpertGroups& groups,
                                   const std::vector<LayerRoutingStats>& routing) {
  std::vector<GroupLoad> out;
  if (groups.ep <= 1) return out;
  for (const LayerRoutingStats& s : routing) {
    GroupLoad g;
    g.layer = s.layer;
    g.load.assign(size_t(groups.ep), 0);
    for (size_t e = 0; e < s.load.size() && e < groups.placement.size(); ++e)
      g.load[size_t(groups.placement[e])] += s.load[e];
    const int64_t max = *std::max_element(g.load.begin(), g.load.end());
    int64_t sum = 0;
    for (int64_t v : g.load) sum += v;
    g.balance = max > 0 ? double(sum) / double(groups.ep) / double(max)
                        : std::numeric_limits<double>::quiet_NaN();
    out.push_back(g);
  }
  return out;
}

}  // namespace moescope::inspectors
