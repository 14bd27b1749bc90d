#include "inspectors/analysis/op_stats.h"

#include <algorithm>
#include <cmath>
#include <tuple>

namespace moescope::inspectors {

namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
constexpr OpGrouping kGroupings[] = {OpGrouping::Name,  OpGrouping::NameLayer, OpGrouping::Kind,
                                     OpGrouping::Layer, OpGrouping::Expert,    OpGrouping::Device};

// The group key of an op: (string id, layer, expert, device), unused parts -1.
using Key = std::tuple<int32_t, int32_t, int32_t, int32_t>;

Key key_of(const storage::OpRecord& op, OpGrouping by) {
  switch (by) {
    case OpGrouping::Name:
      return {op.name, -1, -1, -1};
    case OpGrouping::NameLayer:
      return {op.name, op.layer, -1, -1};
    case OpGrouping::Kind:
      return {op.kind, -1, -1, -1};
    case OpGrouping::Layer:
      return {-1, op.layer, -1, -1};
    case OpGrouping::Expert:
      return {-1, -1, op.expert, -1};
    case OpGrouping::Device:
      return {-1, -1, -1, op.device};
  }
  return {-1, -1, -1, -1};
}

struct Bucket {
  int32_t kind = -1;  // of its first op (an op name has one kind)
  std::vector<double> durations;
  int64_t bytes = 0, flops = 0;
};

}  // namespace

const char* op_grouping_name(OpGrouping g) {
  switch (g) {
    case OpGrouping::Name:
      return "name";
    case OpGrouping::NameLayer:
      return "name_layer";
    case OpGrouping::Kind:
      return "kind";
    case OpGrouping::Layer:
      return "layer";
    case OpGrouping::Expert:
      return "expert";
    case OpGrouping::Device:
      return "device";
  }
  return "?";
}

bool parse_op_grouping(const std::string& s, OpGrouping& out) {
  for (OpGrouping g : kGroupings)
    if (s == op_grouping_name(g)) {
      out = g;
      return true;
    }
  return false;
}

std::vector<OpGroup> op_stats(const storage::RunData& run, OpGrouping by, const OpFilter& filter,
                              const MachineCeilings* ceilings) {
  // Keys are small dense integers (interned ids, layers, experts, devices), so groups live in
  // a flat table indexed by them: one pass for each part's extent, one to fill the table; no
  // hashing. Parts the grouping does not use are -1 throughout, an extent of 1.
  struct Extent {
    int32_t lo = 0, hi = -1;
    void add(int32_t v) {
      lo = std::min(lo, v);
      hi = std::max(hi, v);
    }
    int64_t size() const { return int64_t(hi) - lo + 1; }
  };
  Extent ext[4];
  for (const storage::OpRecord& op : run.ops) {
    const Key k = key_of(op, by);
    ext[0].add(std::get<0>(k));
    ext[1].add(std::get<1>(k));
    ext[2].add(std::get<2>(k));
    ext[3].add(std::get<3>(k));
  }
  auto slot = [&](const Key& k) {
    return ((int64_t(std::get<0>(k) - ext[0].lo) * ext[1].size() + (std::get<1>(k) - ext[1].lo)) *
                ext[2].size() +
            (std::get<2>(k) - ext[2].lo)) *
               ext[3].size() +
           (std::get<3>(k) - ext[3].lo);
  };
  const int64_t table_size = ext[0].size() * ext[1].size() * ext[2].size() * ext[3].size();
  std::vector<int32_t> index(size_t(table_size), -1);  // slot -> bucket
  std::vector<Key> keys;
  std::vector<Bucket> buckets;
  double all_ns = 0;
  for (const storage::OpRecord& op : run.ops) {
    if (op.step < filter.first_step || op.step > filter.last_step) continue;
    const Key key = key_of(op, by);
    int32_t& b = index[size_t(slot(key))];
    if (b < 0) {
      b = int32_t(buckets.size());
      keys.push_back(key);
      buckets.emplace_back();
      buckets.back().kind = op.kind;
    }
    Bucket& bucket = buckets[size_t(b)];
    const double d = double(op.end_ns - op.start_ns);
    bucket.durations.push_back(d);
    bucket.bytes += op.bytes;
    bucket.flops += op.flops;
    all_ns += d;
  }
  auto string_at = [&](int32_t i) {
    return i >= 0 && size_t(i) < run.strings.size() ? run.strings[size_t(i)] : std::string();
  };
  std::vector<OpGroup> out;
  out.reserve(buckets.size());
  for (size_t i = 0; i < buckets.size(); ++i) {
    Bucket& b = buckets[i];
    OpGroup g;
    const auto [str, layer, expert, device] = keys[i];
    if (by == OpGrouping::Name || by == OpGrouping::NameLayer) {
      g.name = string_at(str);
      g.kind = string_at(b.kind);
    } else if (by == OpGrouping::Kind) {
      g.kind = string_at(str);
    }
    g.layer = layer;
    g.expert = expert;
    g.device = device;
    g.time_ns = summarize(b.durations);
    g.time_share = all_ns > 0 ? g.time_ns.total / all_ns : kNaN;
    g.bytes = b.bytes;
    g.flops = b.flops;
    const double ns = g.time_ns.total;
    g.gbps = ns > 0 ? double(b.bytes) / ns : kNaN;
    g.gflops = ns > 0 ? double(b.flops) / ns : kNaN;
    g.bandwidth_fraction =
        ceilings && ceilings->read_gbps > 0 ? g.gbps / ceilings->read_gbps : kNaN;
    g.compute_fraction =
        ceilings && ceilings->gemm_gflops > 0 ? g.gflops / ceilings->gemm_gflops : kNaN;
    out.push_back(std::move(g));
  }
  // Largest total first; ties by key, so the order does not depend on the ops' order.
  std::vector<size_t> order(out.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::sort(order.begin(), order.end(), [&](size_t a, size_t b) {
    if (out[a].time_ns.total != out[b].time_ns.total)
      return out[a].time_ns.total > out[b].time_ns.total;
    return keys[a] < keys[b];
  });
  std::vector<OpGroup> sorted;
  sorted.reserve(out.size());
  for (size_t i : order) sorted.push_back(std::move(out[i]));
  return sorted;
}

}  // namespace moescope::inspectors
