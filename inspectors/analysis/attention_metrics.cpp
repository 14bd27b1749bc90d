#include "inspectors/analysis/attention_metrics.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>

#include "engine/core/error.h"
#include "engine/trace/half.h"

namespace moescope::inspectors {

namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

double ratio(double num, double den, int64_t n) {
  return n > 0 && den > 0 ? num / den : kNaN;
}

}  // namespace

const char* head_metric_name(HeadMetric m) {
  switch (m) {
    case HeadMetric::Entropy:
      return "entropy";
    case HeadMetric::EntropyNorm:
      return "entropy_norm";
    case HeadMetric::Sink:
      return "sink";
    case HeadMetric::Previous:
      return "previous";
    case HeadMetric::Duplicate:
      return "duplicate";
    case HeadMetric::Induction:
      return "induction";
  }
  return "?";
}

bool parse_head_metric(const std::string& s, HeadMetric& out) {
  for (HeadMetric m : {HeadMetric::Entropy, HeadMetric::EntropyNorm, HeadMetric::Sink,
                       HeadMetric::Previous, HeadMetric::Duplicate, HeadMetric::Induction})
    if (s == head_metric_name(m)) {
      out = m;
      return true;
    }
  return false;
}

double metric_value(const HeadMetrics& h, HeadMetric m) {
  switch (m) {
    case HeadMetric::Entropy:
      return h.entropy;
    case HeadMetric::EntropyNorm:
      return h.entropy_norm;
    case HeadMetric::Sink:
      return h.sink;
    case HeadMetric::Previous:
      return h.previous;
    case HeadMetric::Duplicate:
      return h.duplicate;
    case HeadMetric::Induction:
      return h.induction;
  }
  return kNaN;
}

void HeadMetricsAccumulator::reset(const storage::RunData& run) {
  run_id_ = run.id;
  next_record_ = 0;
  prev_same_.clear();
  token_ids_.clear();
  latest_.clear();
  heads_.clear();
}

void HeadMetricsAccumulator::index_tokens(const storage::RunData& run) {
  // Extends the occurrence chains to the tokens reported since the last update.
  for (size_t t = token_ids_.size(); t < run.tokens.size(); ++t) {
    const int32_t id = run.tokens[t].id;
    auto [it, fresh] = latest_.try_emplace(id, int64_t(t));
    prev_same_.push_back(fresh ? -1 : it->second);
    it->second = int64_t(t);
    token_ids_.push_back(id);
  }
}

void HeadMetricsAccumulator::add(const storage::AttentionRecord& r) {
  if (r.n_queries < 0 || r.n_keys < 0 || r.q0 < 0 ||
      r.probs_f16.size() != size_t(r.n_queries) * size_t(r.n_keys))
    fail("attention record of layer ", r.layer, " head ", r.head, " step ", r.step, ": ",
         r.probs_f16.size(), " values for ", r.n_queries, " queries x ", r.n_keys,
         " keys (expected their product)");
  Sums& s = heads_[{r.layer, r.head}];
  s.kv_head = r.kv_head;
  const bool no_first = options_.exclude_first_column, no_self = options_.exclude_current_token;
  for (int32_t q = 0; q < r.n_queries; ++q) {
    const int64_t t = r.q0 + q;
    const uint16_t* row = r.probs_f16.data() + size_t(q) * size_t(r.n_keys);
    const int64_t keys = std::min<int64_t>(t + 1, r.n_keys);  // causal: j <= t
    if (keys <= 0) continue;
    auto a = [&](int64_t j) { return double(trace::f16_to_f32(row[j])); };
    // A' weight of cell j: 0 for excluded cells.
    auto kept = [&](int64_t j) { return (no_first && j == 0) || (no_self && j == t) ? 0.0 : a(j); };
    double h = 0;
    for (int64_t j = 0; j < keys; ++j) {
      const double v = a(j);
      if (v > 0) h -= v * std::log(v);
    }
    // A row's mass is 1 (a softmax); the f16 copy's own sum would only add rounding.
    double kept_sum = 1.0;
    if (no_first) kept_sum -= a(0);
    if (no_self && t < keys && !(no_first && t == 0)) kept_sum -= a(t);

    ++s.rows;
    s.entropy += h;
    s.sink += a(0);
    if (t >= 1) {
      ++s.rows_after_first;
      s.entropy_norm += h / std::log(double(t + 1));
      ++s.previous_rows;
      s.previous_hit += t - 1 < keys ? kept(t - 1) : 0.0;
      s.previous_all += kept_sum;
    }
    if (prev_same_[size_t(t)] < 0) continue;  // no earlier occurrence: no duplicate/induction cell
    double dup = 0, ind = 0;
    for (int64_t j = prev_same_[size_t(t)]; j >= 0; j = prev_same_[size_t(j)]) {
      if (j < keys) dup += kept(j);
      if (j + 1 < keys) ind += kept(j + 1);
    }
    ++s.duplicate_rows;
    s.duplicate_hit += dup;
    s.duplicate_all += kept_sum;
    ++s.induction_rows;
    s.induction_hit += ind;
    s.induction_all += kept_sum;
  }
}

void HeadMetricsAccumulator::update(const storage::RunData& run) {
  if (run.id != run_id_ || run.attention.size() < next_record_ ||
      run.tokens.size() < token_ids_.size())
    reset(run);
  index_tokens(run);
  for (; next_record_ < run.attention.size(); ++next_record_) {
    const storage::AttentionRecord& r = run.attention[next_record_];
    if (r.q0 + r.n_queries > int64_t(token_ids_.size())) break;  // its tokens are not known yet
    add(r);
  }
}

std::vector<HeadMetrics> HeadMetricsAccumulator::metrics() const {
  std::vector<HeadMetrics> out;
  out.reserve(heads_.size());
  for (const auto& [key, s] : heads_) {
    HeadMetrics m;
    m.layer = key.first;
    m.head = key.second;
    m.kv_head = s.kv_head;
    m.rows = s.rows;
    m.entropy = s.rows ? s.entropy / double(s.rows) : kNaN;
    m.sink = s.rows ? s.sink / double(s.rows) : kNaN;
    m.entropy_norm = s.rows_after_first ? s.entropy_norm / double(s.rows_after_first) : kNaN;
    m.previous_rows = s.previous_rows;
    m.previous = ratio(s.previous_hit, s.previous_all, s.previous_rows);
    m.duplicate_rows = s.duplicate_rows;
    m.duplicate = ratio(s.duplicate_hit, s.duplicate_all, s.duplicate_rows);
    m.induction_rows = s.induction_rows;
    m.induction = ratio(s.induction_hit, s.induction_all, s.induction_rows);
    out.push_back(m);
  }
  return out;
}

std::vector<HeadMetrics> head_metrics(const storage::RunData& run,
                                      const HeadMetricOptions& options) {
  HeadMetricsAccumulator acc(options);
  acc.update(run);
  return acc.metrics();
}

std::vector<size_t> rank_heads(const std::vector<HeadMetrics>& heads, HeadMetric m,
                               bool descending) {
  std::vector<size_t> order(heads.size());
  std::iota(order.begin(), order.end(), size_t(0));
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) {
    const double x = metric_value(heads[a], m), y = metric_value(heads[b], m);
    if (std::isnan(x) || std::isnan(y)) return !std::isnan(x) && std::isnan(y);
    return descending ? x > y : x < y;
  });
  return order;
}

double sink_rate(const std::vector<HeadMetrics>& heads, double epsilon) {
  int64_t n = 0, over = 0;
  for (const HeadMetrics& h : heads) {
    if (h.rows == 0) continue;
    ++n;
    over += h.sink > epsilon;
  }
  return n ? double(over) / double(n) : kNaN;
}

}  // namespace moescope::inspectors
