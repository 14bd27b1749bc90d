// render_report_text: the report as aligned plain-text tables (see report.h). Missing values
// (no data in the range) print as "-".
#include <algorithm>
#include <cmath>
#include <cstdarg>
#include <cstdio>

#include "inspectors/analysis/baselines.h"
#include "inspectors/analysis/report.h"
#include "inspectors/analysis/report_data.h"

namespace moescope::inspectors {

namespace {

// printf into a std::string of any length.
std::string format(const char* fmt, ...) __attribute__((format(printf, 1, 2)));
std::string format(const char* fmt, ...) {
  va_list ap, again;
  va_start(ap, fmt);
  va_copy(again, ap);
  const int n = std::vsnprintf(nullptr, 0, fmt, ap);
  va_end(ap);
  std::string out(size_t(std::max(n, 0)) + 1, '\0');
  std::vsnprintf(out.data(), out.size(), fmt, again);
  va_end(again);
  out.resize(size_t(std::max(n, 0)));
  return out;
}

// v right-aligned in width with `decimals` decimals; "-" when not finite.
std::string num(double v, int width, int decimals) {
  if (!std::isfinite(v)) return format("%*s", width, "-");
  return format("%*.*f", width, decimals, v);
}

std::string pct(double v, int width, int decimals) {
  return num(std::isfinite(v) ? 100.0 * v : v, width, decimals);
}

void header(std::string& out, const storage::RunData& run) {
  out += format("run %lld  %s  %s  %lld prompt + %lld generated tokens\n", (long long)run.id,
                run.info.model.c_str(), trace::run_status_name(run.status),
                (long long)run.prompt_tokens(), (long long)run.generated_tokens());
  out += format("model: %d layers, %d experts, top-%d, %d heads (%d KV)\n", run.info.n_layers,
                run.info.n_experts, run.info.top_k, run.info.n_heads, run.info.n_kv_heads);
  if (run.drops.total() > 0)
    out += format(
        "dropped events: %lld tokens, %lld routing, %lld attention, %lld ops, %lld memory "
        "samples\n",
        (long long)run.drops.tokens, (long long)run.drops.routing, (long long)run.drops.attention,
        (long long)run.drops.ops, (long long)run.drops.memory);
  if (!run.memory.empty()) {
    int64_t lo = run.memory[0].rss_bytes, hi = lo, peak = 0;
    for (const auto& m : run.memory) {
      lo = std::min(lo, m.rss_bytes);
      hi = std::max(hi, m.rss_bytes);
      peak = std::max(peak, m.peak_rss_bytes);
    }
    const double mib = 1.0 / double(1 << 20);
    out += format(
        "memory: %zu samples, RSS %.1f .. %.1f MiB (peak %.1f MiB), attention maps %.1f MiB\n",
        run.memory.size(), double(lo) * mib, double(hi) * mib, double(peak) * mib,
        double(run.memory.back().attention_bytes) * mib);
  }
}

void routing_table(std::string& out, const storage::RunData& run, const ReportData& d,
                   const ReportOptions& o) {
  out += "\nRouting, ";
  if (o.window_steps > 0)
    out += format("last %lld decode steps", (long long)o.window_steps);
  else
    out += "whole run";
  out += format(" (positions %lld .. %lld); hypothetical capacity factor %.2f\n",
                (long long)d.range.begin, (long long)d.range.end - 1, o.capacity_factor);
  if (d.routing.empty()) {
    out += "  no routing recorded\n";
    return;
  }
  out +=
      "layer tokens    CV max/mean load-H aux(1) aux(k) router-H margin top-k-p drop%"
      " same1st% either%  z-loss\n";
  for (size_t l = 0; l < d.routing.size(); ++l) {
    const LayerRoutingStats& s = d.routing[l];
    const ConsecutiveRates& c = d.consecutive[l];
    out += format("%5d %6lld", s.layer, (long long)s.tokens) + num(s.cv, 6, 3) +
           num(s.max_over_mean, 9, 3) + num(s.load_entropy, 7, 3) + num(s.aux_switch, 7, 3) +
           num(s.aux_hf_topk, 7, 3) + num(s.router_entropy, 9, 3) + num(s.top1_margin, 7, 3) +
           num(s.topk_mass, 8, 3) + pct(s.drop_rate, 6, 1) + pct(c.same_first, 9, 1) +
           pct(c.either, 8, 1) + num(s.router_z_loss, 8, 3) + "\n";
  }
  const int32_t E = run.info.n_experts, K = run.info.top_k;
  out += format("random baseline: same first choice %.1f%%, either choice %.1f%% (E=%d, k=%d)\n",
                100 * random_same_first_choice(E), 100 * random_overlap_either_choice(E, K), E, K);
  out +=
      "load-H = entropy of the load shares / ln E (1 = uniform); router-H = mean per-token "
      "router entropy / ln E\n"
      "aux(1) = E sum_i f1_i P_i, first choice (Switch; 1 at balance); aux(k) = E sum_i f_i "
      "P_i over all k choices (HF; k at balance); no coefficient\n"
      "margin = mean p(1) - p(2); top-k-p = mean sum of the k largest probabilities (Grok-1's "
      "unrenormalised gate mass)\n";
  out += std::string("z-loss = ") + kZLossDefinition + "\n";
}

void share_table(std::string& out, const ReportData& d) {
  if (d.routing.empty()) return;
  const int64_t E = int64_t(d.routing[0].share.size());
  out += format("\nExpert load share, %% of routed slots (uniform = %.1f%%)\nlayer",
                E ? 100.0 / double(E) : 0.0);
  for (int64_t e = 0; e < E; ++e) out += format(" %5s", ("e" + std::to_string(e)).c_str());
  out += "\n";
  for (const LayerRoutingStats& s : d.routing) {
    out += format("%5d", s.layer);
    for (double v : s.share) out += pct(v, 6, 1);
    out += "\n";
  }
}

void detail_layer(std::string& out, const ReportData& d, const ReportOptions& o) {
  if (d.routing.empty()) return;
  const int32_t last = int32_t(d.routing.size()) - 1;
  const int32_t l = o.detail_layer >= 0 ? std::min(o.detail_layer, last) : last;
  const Coactivation& co = d.coactivation[size_t(l)];
  out += format("\nCo-activation, layer %d: row i, column j = P(j | i) in %%\n    ", l);
  for (int64_t j = 0; j < co.n_experts; ++j)
    out += format(" %5s", ("e" + std::to_string(j)).c_str());
  out += "\n";
  for (int64_t i = 0; i < co.n_experts; ++i) {
    out += format("%4s", ("e" + std::to_string(i)).c_str());
    for (int64_t j = 0; j < co.n_experts; ++j)
      out += co.count(i, i) ? pct(co.p(i, j), 6, 1) : std::string("     -");
    out += "\n";
  }
  out += format("\nTop tokens per expert, layer %d (times routed / occurrences)\n", l);
  for (const ExpertTokens& e : d.top_tokens[size_t(l)]) {
    out += format("  e%-3d", e.expert);
    for (const TokenCount& t : e.tokens)
      out += format("  %s %lld/%lld", nlohmann::json(t.text).dump().c_str(), (long long)t.count,
                    (long long)t.occurrences);
    out += "\n";
  }
}

void stability_table(std::string& out, const ReportData& d) {
  if (!d.stability) return;
  out += format("\nRouting stability against the compared run (common token prefix: %lld)\n",
                (long long)d.stability->common_prefix);
  out += "layer positions top-k-overlap top-1-agree\n";
  for (const LayerStability& l : d.stability->layers)
    out += format("%5d %9lld", l.layer, (long long)l.positions) + num(l.topk_overlap, 14, 3) +
           num(l.top1_agreement, 12, 3) + "\n";
}

void expert_groups_table(std::string& out, const ReportData& d) {
  if (d.groups.ep <= 1) return;
  out += format(
      "\nExpert groups (EP %d x TP %d): assignments served per group; balance = mean / "
      "max\nlayer",
      d.groups.ep, d.groups.tp);
  for (int32_t g = 0; g < d.groups.ep; ++g) out += format("  group%-2d", g);
  out += " balance\n";
  for (const GroupLoad& l : d.group_load) {
    out += format("%5d", l.layer);
    for (int64_t v : l.load) out += format(" %8lld", (long long)v);
    out += num(l.balance, 8, 3) + "\n";
  }
}

void heads_table(std::string& out, const ReportData& d, const ReportOptions& o) {
  out += format("\nAttention heads by %s", head_metric_name(o.head_metric));
  if (d.heads.empty()) {
    out += ": no attention maps recorded\n";
    return;
  }
  const size_t n =
      o.top_heads > 0 ? std::min(d.head_order.size(), size_t(o.top_heads)) : d.head_order.size();
  out += format(" (top %zu of %zu heads captured, %zu records; sink rate at 0.3: %s)\n", n,
                d.heads.size(), d.attention_records, num(sink_rate(d.heads, 0.3), 0, 2).c_str());
  out += "rank layer head kv  rows entropy  H-norm   sink   prev    dup induction\n";
  for (size_t i = 0; i < n; ++i) {
    const HeadMetrics& h = d.heads[d.head_order[i]];
    out += format("%4zu %5d %4d %2d %5lld", i + 1, h.layer, h.head, h.kv_head, (long long)h.rows) +
           num(h.entropy, 8, 3) + num(h.entropy_norm, 8, 3) + num(h.sink, 7, 3) +
           num(h.previous, 7, 3) + num(h.duplicate, 7, 3) + num(h.induction, 10, 3) + "\n";
  }
  out +=
      "entropy in nats; H-norm = H_t / ln(t+1); sink = mean A[t,0]; prev/dup/induction = "
      "TransformerLens 'mul' scores over the rows where the pattern has a cell\n";
}

std::string op_label(const OpGroup& g, OpGrouping by) {
  switch (by) {
    case OpGrouping::Name:
      return g.name;
    case OpGrouping::NameLayer:
      return g.layer >= 0 ? g.name + " L" + std::to_string(g.layer) : g.name;
    case OpGrouping::Kind:
      return g.kind;
    case OpGrouping::Layer:
      return g.layer >= 0 ? "layer " + std::to_string(g.layer) : "(no layer)";
    case OpGrouping::Expert:
      return g.expert >= 0 ? "expert " + std::to_string(g.expert) : "(no expert)";
    case OpGrouping::Device:
      return "device " + std::to_string(g.device);
  }
  return "?";
}

void ops_table(std::string& out, const ReportData& d, const ReportOptions& o) {
  out += format("\nOps by %s", op_grouping_name(o.op_grouping));
  if (d.ops.empty()) {
    out += ": no op timings recorded\n";
    return;
  }
  const size_t n = o.top_ops > 0 ? std::min(d.ops.size(), size_t(o.top_ops)) : d.ops.size();
  out += format(" (top %zu of %zu groups; %lld ops, %.3f ms in all)\n", n, d.ops.size(),
                (long long)d.op_count, d.op_total_ns * 1e-6);
  out += format("%-26s %7s %10s %6s %9s %9s %9s %9s %6s %8s %8s", "op", "count", "total ms",
                "share%", "mean us", "p50 us", "p90 us", "p99 us", "CV", "GB/s", "GFLOP/s");
  out += o.ceilings ? " %peak-BW %peak-FLOP\n" : "\n";
  for (size_t i = 0; i < n; ++i) {
    const OpGroup& g = d.ops[i];
    const Summary& t = g.time_ns;
    out += format("%-26s %7lld", op_label(g, o.op_grouping).c_str(), (long long)t.count) +
           num(t.total * 1e-6, 11, 3) + pct(g.time_share, 7, 1) + num(t.mean * 1e-3, 10, 2) +
           num(t.p50 * 1e-3, 10, 2) + num(t.p90 * 1e-3, 10, 2) + num(t.p99 * 1e-3, 10, 2) +
           num(t.cv, 7, 2) + num(g.gbps, 9, 2) + num(g.gflops, 9, 2);
    if (o.ceilings) out += pct(g.bandwidth_fraction, 9, 1) + pct(g.compute_fraction, 11, 1);
    out += "\n";
  }
  if (o.ceilings)
    out +=
        format("ceilings: read %.1f GB/s (%d threads), %.1f GB/s (1 thread); GEMM %.1f GFLOP/s\n",
               o.ceilings->read_gbps, o.ceilings->threads, o.ceilings->read_gbps_one_thread,
               o.ceilings->gemm_gflops);
  else
    out += "ceilings: not measured (run `moescope bench --ceilings`)\n";
}

}  // namespace

std::string render_report_text(const storage::RunData& run, const ReportOptions& options) {
  const ReportData d = compute_report(run, options);
  std::string out;
  header(out, run);
  routing_table(out, run, d, options);
  share_table(out, d);
  detail_layer(out, d, options);
  stability_table(out, d);
  expert_groups_table(out, d);
  heads_table(out, d, options);
  ops_table(out, d, options);
  return out;
}

}  // namespace moescope::inspectors
