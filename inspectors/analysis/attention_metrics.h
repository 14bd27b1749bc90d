// Per-head attention metrics (tooling-conventions.md section 6; TransformerLens head_detector).
//
// A is a head's post-softmax pattern, rows = query positions t, columns = key positions j <= t,
// read from the f16 attention records. Capture runs under a budget, so a head may have only
// some of its rows: every metric is over the rows present, and says how many it used.
//   entropy        mean_t H_t,  H_t = -sum_j A_tj ln A_tj              (nats, all rows)
//   entropy_norm   mean_{t>=1} H_t / ln(t + 1)                         (1 = uniform over j <= t)
//   sink           mean_t A_t0: first-token mass, Gu et al. alpha_1 (all rows, t = 0 included)
// The detector scores use TransformerLens' "mul" measure, sum(A' * D) / sum(A'), with D the 0/1
// detection pattern and A' = A with the optional exclusions zeroed, summed over the rows R
// where D has at least one cell (TL sums over all rows; restricting to R means a head is not
// marked down for rows where the pattern predicts nothing). Each row's total is taken as 1, as
// a softmax row is (the f16 copy's own sum differs by rounding only), so sum(A') over a row is
// 1 minus its excluded cells and, without exclusions, a score is the mean over R of the
// attention on D's cells: mean_{t>=1} A[t, t-1] for previous-token, and on repeated random
// tokens the usual induction score, mean over second-half t of A[t, t - N + 1].
//   previous   D_tj = 1[j == t - 1]                        R = rows t >= 1
//   duplicate  D_tj = 1[j < t and token_j == token_t]      R = rows with an earlier duplicate
//   induction  D_tj = 1[1 <= j <= t and token_{j-1} == token_t]   R = rows with a duplicate
//              (the duplicate pattern shifted one column right: the token after an earlier
//              occurrence of the current one; j - 1 < t holds since j <= t)
// Exclusions (TL's exclude_bos and exclude_current_token) default to off: our models have no
// BOS token, so column 0 is a real token (its mass is reported as `sink`), and the diagonal
// is kept as TL's defaults keep it.
// Shape legend: Q query rows of a record, S keys, L layers, H heads.
// Cost: O(Q S) per record, plus the earlier occurrences of each row's token.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "storage/run_data.h"

namespace moescope::inspectors {

struct HeadMetricOptions {
  bool exclude_first_column = false;   // TL exclude_bos
  bool exclude_current_token = false;  // TL exclude_current_token
};

struct HeadMetrics {
  int32_t layer = 0;
  int32_t head = 0;
  int32_t kv_head = 0;
  int64_t rows = 0;  // query rows captured; entropy and sink are over all of them
  double entropy = 0;
  double entropy_norm = 0;  // over rows t >= 1
  double sink = 0;
  int64_t previous_rows = 0;  // |R| of each detector; its score is NaN when 0
  double previous = 0;
  int64_t duplicate_rows = 0;
  double duplicate = 0;
  int64_t induction_rows = 0;
  double induction = 0;
};

enum class HeadMetric { Entropy, EntropyNorm, Sink, Previous, Duplicate, Induction };

const char* head_metric_name(HeadMetric m);  // "entropy", "entropy_norm", "sink", ...
// The metric named s; false when s names none.
bool parse_head_metric(const std::string& s, HeadMetric& out);
double metric_value(const HeadMetrics& h, HeadMetric m);

// Accumulates metrics as attention records arrive, so a live view pays only for the new ones.
// A record is consumed once the tokens of all its rows are known (the prefill's maps arrive
// before its tokens are reported).
class HeadMetricsAccumulator {
 public:
  explicit HeadMetricsAccumulator(HeadMetricOptions options = {}) : options_(options) {}

  // Consumes the records not yet seen; starts over when given a different run, or one with
  // fewer records or tokens than before. Throws moescope::Error on a record whose payload
  // does not match its shape.
  void update(const storage::RunData& run);
  // One entry per (layer, head) seen, ordered by layer then head.
  std::vector<HeadMetrics> metrics() const;
  size_t records_consumed() const { return next_record_; }

 private:
  struct Sums {
    int32_t kv_head = 0;
    int64_t rows = 0, rows_after_first = 0, previous_rows = 0, duplicate_rows = 0,
            induction_rows = 0;
    double entropy = 0, entropy_norm = 0, sink = 0;
    double previous_hit = 0, previous_all = 0, duplicate_hit = 0, duplicate_all = 0,
           induction_hit = 0, induction_all = 0;
  };
  void reset(const storage::RunData& run);
  void index_tokens(const storage::RunData& run);
  void add(const storage::AttentionRecord& r);

  HeadMetricOptions options_;
  int64_t run_id_ = -1;
  size_t next_record_ = 0;
  // prev_same_[t]: the latest j < t with token_j == token_t, or -1 (a chain through all
  // earlier occurrences).
  std::vector<int64_t> prev_same_;
  std::vector<int32_t> token_ids_;
  std::unordered_map<int32_t, int64_t> latest_;  // token id -> its latest position
  std::map<std::pair<int32_t, int32_t>, Sums> heads_;
};

// All heads of a run at once.
std::vector<HeadMetrics> head_metrics(const storage::RunData& run,
                                      const HeadMetricOptions& options = {});

// Indices into heads ordered by the metric, largest first (or smallest first when
// !descending); heads whose value is NaN come last. Ties keep (layer, head) order.
std::vector<size_t> rank_heads(const std::vector<HeadMetrics>& heads, HeadMetric m,
                               bool descending = true);

// Gu et al.'s sink rate: the fraction of heads with sink > epsilon (heads with rows only).
double sink_rate(const std::vector<HeadMetrics>& heads, double epsilon = 0.3);

}  // namespace moescope::inspectors
