// Tracy-compatible per-op CSV (see csv.h).
#include "storage/export/csv.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <limits>
#include <vector>

#include "storage/export/atomic_file.h"

namespace moescope::storage {

namespace {

struct Stats {
  int64_t total = 0, count = 0;
  int64_t min = std::numeric_limits<int64_t>::max(), max = 0;
  double sum_sq = 0;
};

// RFC 4180 quoting, only where needed.
std::string csv_field(const std::string& s) {
  if (s.find_first_of(",\"\n\r") == std::string::npos) return s;
  std::string out = "\"";
  for (char c : s) out += c == '"' ? std::string("\"\"") : std::string(1, c);
  return out + "\"";
}

std::string fixed6(double v) {
  char buf[64];
  std::snprintf(buf, sizeof(buf), "%f", v);  // Tracy prints with std::to_string: "%f"
  return buf;
}

}  // namespace

void export_ops_csv(const RunData& run, const std::string& path) {
  std::vector<Stats> by_name(run.strings.size());
  int64_t first = std::numeric_limits<int64_t>::max(), last = std::numeric_limits<int64_t>::min();
  for (const OpRecord& o : run.ops) {
    if (o.name < 0 || size_t(o.name) >= by_name.size()) continue;
    Stats& s = by_name[size_t(o.name)];
    const int64_t d = std::max<int64_t>(0, o.end_ns - o.start_ns);
    s.total += d;
    ++s.count;
    s.min = std::min(s.min, d);
    s.max = std::max(s.max, d);
    s.sum_sq += double(d) * double(d);
    first = std::min(first, o.start_ns);
    last = std::max(last, o.end_ns);
  }
  const double span = last > first ? double(last - first) : 0.0;

  std::vector<size_t> order;
  for (size_t i = 0; i < by_name.size(); ++i)
    if (by_name[i].count > 0) order.push_back(i);
  std::stable_sort(order.begin(), order.end(),
                   [&](size_t a, size_t b) { return by_name[a].total > by_name[b].total; });

  AtomicFile file(path);
  std::ostream& out = file.out();
  out << "name,src_file,src_line,total_ns,total_perc,counts,mean_ns,min_ns,max_ns,std_ns\n";
  for (size_t i : order) {
    const Stats& s = by_name[i];
    const double n = double(s.count), mean = double(s.total) / n;
    // Sample standard deviation from the sums, as Tracy computes it; 0 for a single sample.
    const double var = s.count > 1 ? std::max(0.0, (s.sum_sq - n * mean * mean) / (n - 1)) : 0.0;
    out << csv_field(run.strings[i]) << ",,," << s.total << ','
        << fixed6(span > 0 ? 100.0 * double(s.total) / span : 0.0) << ',' << s.count << ','
        << s.total / s.count << ',' << s.min << ',' << s.max << ',' << fixed6(std::sqrt(var))
        << '\n';
  }
  file.commit();
}

}  // namespace moescope::storage
