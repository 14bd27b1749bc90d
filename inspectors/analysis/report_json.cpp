// report_json: the report as one JSON object (see report.h); keys name the metrics as the
// analysis headers define them, NaN (no data) becomes null.
#include <algorithm>
#include <cmath>

#include "inspectors/analysis/baselines.h"
#include "inspectors/analysis/report.h"
#include "inspectors/analysis/report_data.h"

namespace moescope::inspectors {

namespace {

using nlohmann::json;

json num(double v) {
  return std::isfinite(v) ? json(v) : json(nullptr);
}

json nums(const std::vector<double>& v) {
  json a = json::array();
  for (double x : v) a.push_back(num(x));
  return a;
}

json memory_json(const storage::RunData& run) {
  int64_t rss = 0, peak = 0;
  for (const auto& m : run.memory) {
    rss = std::max(rss, m.rss_bytes);
    peak = std::max(peak, m.peak_rss_bytes);
  }
  return {{"samples", run.memory.size()},
          {"max_rss_bytes", rss},
          {"peak_rss_bytes", peak},
          {"attention_bytes", run.memory.empty() ? 0 : run.memory.back().attention_bytes}};
}

json run_json(const storage::RunData& run) {
  return {{"id", run.id},
          {"model", run.info.model},
          {"status", trace::run_status_name(run.status)},
          {"prompt_tokens", run.prompt_tokens()},
          {"generated_tokens", run.generated_tokens()},
          {"n_layers", run.info.n_layers},
          {"n_experts", run.info.n_experts},
          {"top_k", run.info.top_k},
          {"n_heads", run.info.n_heads},
          {"n_kv_heads", run.info.n_kv_heads},
          {"dropped_events",
           {{"tokens", run.drops.tokens},
            {"routing", run.drops.routing},
            {"attention", run.drops.attention},
            {"ops", run.drops.ops},
            {"memory", run.drops.memory}}},
          {"memory", memory_json(run)}};
}

json layer_json(const ReportData& d, size_t l) {
  const LayerRoutingStats& s = d.routing[l];
  const ConsecutiveRates& c = d.consecutive[l];
  const Coactivation& co = d.coactivation[l];
  json coact = json::array();
  for (int64_t i = 0; i < co.n_experts; ++i) {
    json row = json::array();
    for (int64_t j = 0; j < co.n_experts; ++j) row.push_back(co.p(i, j));
    coact.push_back(row);
  }
  json experts = json::array();
  for (const ExpertTokens& e : d.top_tokens[l]) {
    json toks = json::array();
    for (const TokenCount& t : e.tokens)
      toks.push_back({{"token", t.token},
                      {"text", t.text},
                      {"count", t.count},
                      {"occurrences", t.occurrences},
                      {"share", t.share}});
    experts.push_back({{"expert", e.expert}, {"routed", e.routed}, {"tokens", toks}});
  }
  return {{"layer", s.layer},
          {"tokens", s.tokens},
          {"load", s.load},
          {"first_load", s.first_load},
          {"share", nums(s.share)},
          {"mean_prob", nums(s.mean_prob)},
          {"cv", num(s.cv)},
          {"max_over_mean", num(s.max_over_mean)},
          {"load_entropy", num(s.load_entropy)},
          {"aux_switch", num(s.aux_switch)},
          {"aux_hf_topk", num(s.aux_hf_topk)},
          {"aux_normalised", num(s.aux_normalised)},
          {"router_z_loss", num(s.router_z_loss)},
          {"router_entropy", num(s.router_entropy)},
          {"router_entropy_nats", num(s.router_entropy_nats)},
          {"top1_margin", num(s.top1_margin)},
          {"topk_mass", num(s.topk_mass)},
          {"gate_sum", num(s.gate_sum)},
          {"capacity", s.capacity},
          {"dropped", s.dropped},
          {"drop_rate", num(s.drop_rate)},
          {"consecutive",
           {{"pairs", c.pairs}, {"same_first", num(c.same_first)}, {"either", num(c.either)}}},
          {"coactivation", coact},
          {"top_tokens", experts}};
}

json routing_json(const storage::RunData& run, const ReportData& d, const ReportOptions& o) {
  json layers = json::array();
  for (size_t l = 0; l < d.routing.size(); ++l) layers.push_back(layer_json(d, l));
  return {{"window_steps", o.window_steps > 0 ? json(o.window_steps) : json(nullptr)},
          {"first_position", d.range.begin},
          {"end_position", d.range.end},
          {"capacity_factor", o.capacity_factor},
          {"random_baseline",
           {{"same_first", random_same_first_choice(run.info.n_experts)},
            {"either", random_overlap_either_choice(run.info.n_experts, run.info.top_k)}}},
          {"conventions",
           {{"aux_switch", "E * sum_i f1_i P_i, f1 = first-choice fraction; 1 at perfect balance"},
            {"aux_hf_topk",
             "E * sum_i f_i P_i over all k choices (HF load_balancing_loss_func); "
             "k at perfect balance"},
            {"aux_normalised", "aux_hf_topk / k (MegaBlocks); 1 at perfect balance"},
            {"coefficient", "none: multiply by alpha (e.g. 0.01) for the training loss"},
            {"router_z_loss", kZLossDefinition},
            {"drop_rate",
             "sum_i max(0, n_i - C) / (T k), C = ceil(T k / E * capacity_factor), "
             "the selected tokens as one batch"},
            {"coactivation", "row i, column j: P(j | i) = #tokens with i and j / #tokens with i"}}},
          {"layers", layers}};
}

json stability_json(const RoutingStability& s) {
  json layers = json::array();
  for (const LayerStability& l : s.layers)
    layers.push_back({{"layer", l.layer},
                      {"positions", l.positions},
                      {"topk_overlap", num(l.topk_overlap)},
                      {"top1_agreement", num(l.top1_agreement)}});
  return {{"common_prefix", s.common_prefix}, {"layers", layers}};
}

json head_json(const HeadMetrics& h) {
  return {{"layer", h.layer},
          {"head", h.head},
          {"kv_head", h.kv_head},
          {"rows", h.rows},
          {"entropy", num(h.entropy)},
          {"entropy_norm", num(h.entropy_norm)},
          {"sink", num(h.sink)},
          {"previous", num(h.previous)},
          {"previous_rows", h.previous_rows},
          {"duplicate", num(h.duplicate)},
          {"duplicate_rows", h.duplicate_rows},
          {"induction", num(h.induction)},
          {"induction_rows", h.induction_rows}};
}

json attention_json(const ReportData& d, const ReportOptions& o) {
  json top = json::array();
  const size_t n =
      o.top_heads > 0 ? std::min(d.head_order.size(), size_t(o.top_heads)) : d.head_order.size();
  for (size_t i = 0; i < n; ++i) top.push_back(head_json(d.heads[d.head_order[i]]));
  return {{"metric", head_metric_name(o.head_metric)},
          {"records", d.attention_records},
          {"heads_captured", d.heads.size()},
          {"sink_rate_0.3", num(sink_rate(d.heads, 0.3))},
          {"conventions",
           "TransformerLens 'mul' scores over the captured rows where the detection pattern has "
           "a cell; no BOS or diagonal exclusion; entropy in nats; sink = mean A[t, 0]"},
          {"top", top}};
}

json op_json(const OpGroup& g) {
  const Summary& t = g.time_ns;
  return {{"name", g.name},
          {"kind", g.kind},
          {"layer", g.layer},
          {"expert", g.expert},
          {"device", g.device},
          {"count", t.count},
          {"total_ns", t.total},
          {"time_share", num(g.time_share)},
          {"mean_ns", num(t.mean)},
          {"min_ns", num(t.min)},
          {"max_ns", num(t.max)},
          {"p50_ns", num(t.p50)},
          {"p90_ns", num(t.p90)},
          {"p99_ns", num(t.p99)},
          {"std_ns", num(t.std)},
          {"cv", num(t.cv)},
          {"bytes", g.bytes},
          {"flops", g.flops},
          {"gbps", num(g.gbps)},
          {"gflops", num(g.gflops)},
          {"bandwidth_fraction", num(g.bandwidth_fraction)},
          {"compute_fraction", num(g.compute_fraction)}};
}

json ops_json(const ReportData& d, const ReportOptions& o) {
  json top = json::array();
  const size_t n = o.top_ops > 0 ? std::min(d.ops.size(), size_t(o.top_ops)) : d.ops.size();
  for (size_t i = 0; i < n; ++i) top.push_back(op_json(d.ops[i]));
  return {{"grouping", op_grouping_name(o.op_grouping)},
          {"first_step", o.op_filter.first_step},
          {"last_step", o.op_filter.last_step},
          {"count", d.op_count},
          {"total_ns", d.op_total_ns},
          {"groups", d.ops.size()},
          {"ceilings", o.ceilings ? ceilings_to_json(*o.ceilings) : json(nullptr)},
          {"top", top}};
}

}  // namespace

namespace {

// Per layer, the assignments each expert group served and the rank balance; null unless the run
// was expert-parallel.
json expert_parallel_json(const ReportData& d) {
  if (d.groups.ep <= 1) return nullptr;
  json layers = json::array();
  for (const GroupLoad& g : d.group_load)
    layers.push_back({{"layer", g.layer}, {"group_load", g.load}, {"balance", num(g.balance)}});
  return {{"ep", d.groups.ep},
          {"tp", d.groups.tp},
          {"placement", d.groups.placement},
          {"balance_definition", "mean / max of the groups' (token, choice) assignments"},
          {"layers", layers}};
}

}  // namespace

nlohmann::json report_json(const storage::RunData& run, const ReportOptions& options) {
  const ReportData d = compute_report(run, options);
  return {{"run", run_json(run)},
          {"routing", routing_json(run, d, options)},
          {"stability", d.stability ? stability_json(*d.stability) : json(nullptr)},
          {"expert_parallel", expert_parallel_json(d)},
          {"attention", attention_json(d, options)},
          {"ops", ops_json(d, options)}};
}

std::string render_report_json(const storage::RunData& run, const ReportOptions& options) {
  return report_json(run, options).dump(2) + "\n";
}

}  // namespace moescope::inspectors
