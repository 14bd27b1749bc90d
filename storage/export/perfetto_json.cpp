// Chrome/Perfetto JSON export (see perfetto_json.h). Events are streamed one per line; every
// (pid, tid) track is emitted in start order so ts is monotone per track, with nested ops
// (a parent starting with its child) ordered parent first.
#include "storage/export/perfetto_json.h"

#include <algorithm>
#include <cctype>
#include <limits>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <utility>
#include <vector>

#include "storage/export/atomic_file.h"

namespace moescope::storage {

namespace {

using nlohmann::json;

// Synthetic threads for step and layer ranges, far from any real stream or thread index.
constexpr int64_t kStepsTid = 1000000;
constexpr int64_t kLayersTid = 1000001;

std::string lower(std::string s) {
  for (char& c : s) c = char(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

// Process names from RunInfo::devices_json: entries are strings ("cpu", "NVIDIA H100") or
// objects with a name and a kind; anything unreadable falls back to "device N".
struct Devices {
  std::vector<std::string> entries;
  bool gpu(int32_t d) const {
    if (d < 0 || size_t(d) >= entries.size()) return false;
    return lower(entries[size_t(d)]).rfind("cpu", 0) != 0;
  }
  std::string name(int32_t d) const {
    if (d < 0 || size_t(d) >= entries.size()) return "device " + std::to_string(d);
    if (!gpu(d)) return "CPU";
    return "GPU " + std::to_string(d) + " (" + entries[size_t(d)] + ")";
  }
};

Devices parse_devices(const std::string& devices_json) {
  Devices out;
  const json j = json::parse(devices_json, nullptr, false);
  if (!j.is_array()) return out;
  for (const json& e : j) {
    if (e.is_string()) {
      out.entries.push_back(e.get<std::string>());
    } else if (e.is_object()) {
      std::string name = e.value("name", std::string());
      const std::string kind = lower(e.value("kind", e.value("type", std::string())));
      if (kind == "cpu" || (kind.empty() && lower(name).rfind("cpu", 0) == 0)) name = "cpu";
      out.entries.push_back(name.empty() ? "gpu" : name);
    } else {
      out.entries.push_back("device");
    }
  }
  return out;
}

std::string step_name(int64_t step) {
  return step == 0 ? "prefill" : "decode " + std::to_string(step);
}

struct Range {
  int64_t start = std::numeric_limits<int64_t>::max();
  int64_t end = std::numeric_limits<int64_t>::min();
  void add(int64_t s, int64_t e) {
    start = std::min(start, s);
    end = std::max(end, e);
  }
};

class Writer {
 public:
  Writer(std::ostream& out, int64_t origin) : out_(out), origin_(origin) {}

  void event(const json& e) {
    out_ << (first_ ? "\n" : ",\n") << e.dump(-1, ' ', false, json::error_handler_t::replace);
    first_ = false;
  }
  double us(int64_t ns) const { return double(ns - origin_) / 1000.0; }
  // A complete event; callers keep each track's events in start order.
  void complete(const std::string& name, const char* cat, int64_t pid, int64_t tid, int64_t start,
                int64_t end, json args) {
    event({{"ph", "X"},
           {"name", name},
           {"cat", cat},
           {"pid", pid},
           {"tid", tid},
           {"ts", us(start)},
           {"dur", double(std::max<int64_t>(0, end - start)) / 1000.0},
           {"args", std::move(args)}});
  }

 private:
  std::ostream& out_;
  int64_t origin_;
  bool first_ = true;
};

// Ranges on one synthetic track, in start order, each clipped to begin where the previous one
// ended: overlapping X events on one thread are outside the format.
void emit_ranges(Writer& w, int64_t pid, int64_t tid,
                 std::vector<std::pair<Range, std::pair<std::string, json>>> ranges) {
  std::sort(ranges.begin(), ranges.end(),
            [](const auto& a, const auto& b) { return a.first.start < b.first.start; });
  int64_t prev_end = std::numeric_limits<int64_t>::min();
  for (auto& [r, what] : ranges) {
    const int64_t start = std::max(r.start, prev_end);
    const int64_t end = std::max(start, r.end);
    w.complete(what.first, "user_annotation", pid, tid, start, end, std::move(what.second));
    prev_end = end;
  }
}

}  // namespace

void export_perfetto_json(const RunData& run, const std::string& path) {
  const Devices devices = parse_devices(run.info.devices_json);
  auto str = [&](int32_t i) {
    return i >= 0 && size_t(i) < run.strings.size() ? run.strings[size_t(i)] : std::string("?");
  };

  // The origin: the run's start, or anything recorded before it.
  int64_t origin = run.info.start_ns;
  for (const OpRecord& o : run.ops) origin = origin ? std::min(origin, o.start_ns) : o.start_ns;

  // Ops per (device, stream) track, and step / layer ranges per device.
  std::map<std::pair<int32_t, int32_t>, std::vector<const OpRecord*>> tracks;
  std::map<int32_t, std::map<int64_t, Range>> steps;                       // device -> step
  std::map<int32_t, std::map<std::pair<int64_t, int32_t>, Range>> layers;  // device -> (step, L)
  std::map<int64_t, int64_t> step_end;  // over all devices, for the counters
  for (const OpRecord& o : run.ops) {
    tracks[{o.device, o.stream}].push_back(&o);
    steps[o.device][o.step].add(o.start_ns, o.end_ns);
    if (o.layer >= 0) layers[o.device][{o.step, o.layer}].add(o.start_ns, o.end_ns);
    auto [it, fresh] = step_end.emplace(o.step, o.end_ns);
    if (!fresh) it->second = std::max(it->second, o.end_ns);
  }
  // Steps without ops (tracing of ops off) are placed at the time their tokens were known.
  for (const TokenRecord& t : run.tokens)
    if (t.id >= 0 && !step_end.count(t.step) && t.time_ns > 0) step_end[t.step] = t.time_ns;

  int32_t max_device = -1;
  for (const auto& [key, ops] : tracks) max_device = std::max(max_device, key.first);
  const int64_t counters_pid = int64_t(max_device) + 1;

  AtomicFile file(path);
  std::ostream& out = file.out();
  out << "{\"displayTimeUnit\":\"ns\",\"otherData\":"
      << json({{"run", run.id}, {"model", run.info.model}, {"origin_ns", origin}})
             .dump(-1, ' ', false, json::error_handler_t::replace)
      << ",\"traceEvents\":[";
  Writer w(out, origin);

  // Metadata: a name for every process and thread used below.
  std::set<int32_t> pids;
  for (const auto& [key, ops] : tracks) pids.insert(key.first);
  for (int32_t d : pids) {
    w.event(
        {{"ph", "M"}, {"name", "process_name"}, {"pid", d}, {"args", {{"name", devices.name(d)}}}});
    w.event({{"ph", "M"},
             {"name", "thread_name"},
             {"pid", d},
             {"tid", kStepsTid},
             {"args", {{"name", "steps"}}}});
    w.event({{"ph", "M"},
             {"name", "thread_name"},
             {"pid", d},
             {"tid", kLayersTid},
             {"args", {{"name", "layers"}}}});
  }
  for (const auto& [key, ops] : tracks) {
    const std::string name =
        (devices.gpu(key.first) ? "stream " : "thread ") + std::to_string(key.second);
    w.event({{"ph", "M"},
             {"name", "thread_name"},
             {"pid", key.first},
             {"tid", key.second},
             {"args", {{"name", name}}}});
  }

  // Ops.
  for (auto& [key, ops] : tracks) {
    std::stable_sort(ops.begin(), ops.end(), [](const OpRecord* a, const OpRecord* b) {
      return a->start_ns != b->start_ns ? a->start_ns < b->start_ns : a->end_ns > b->end_ns;
    });
    const bool gpu = devices.gpu(key.first);
    for (const OpRecord* o : ops) {
      json args = {{"device", o->device}, {"stream", o->stream}, {"step", o->step},
                   {"layer", o->layer},   {"expert", o->expert}, {"bytes", o->bytes},
                   {"flops", o->flops},   {"kind", str(o->kind)}};
      w.complete(str(o->name), gpu ? "kernel" : "cpu_op", key.first, key.second, o->start_ns,
                 o->end_ns, std::move(args));
    }
  }

  // Step and layer ranges.
  for (const auto& [device, per_step] : steps) {
    std::vector<std::pair<Range, std::pair<std::string, json>>> ranges;
    for (const auto& [step, r] : per_step)
      ranges.push_back({r, {step_name(step), json{{"step", step}}}});
    emit_ranges(w, device, kStepsTid, std::move(ranges));
  }
  for (const auto& [device, per_layer] : layers) {
    std::vector<std::pair<Range, std::pair<std::string, json>>> ranges;
    for (const auto& [key, r] : per_layer)
      ranges.push_back({r,
                        {"layer " + std::to_string(key.second),
                         json{{"step", key.first}, {"layer", key.second}}}});
    emit_ranges(w, device, kLayersTid, std::move(ranges));
  }

  // Expert load counters: per layer, tokens routed to each expert so far, after each step.
  bool any_counter = false;
  for (size_t l = 0; l < run.routing.size(); ++l) {
    const LayerRouting& r = run.routing[l];
    const size_t n = r.present.size();
    if (n == 0) continue;
    const size_t e = r.probs.size() / n, k = r.ids.size() / n;
    std::map<int64_t, std::vector<int64_t>> per_step;  // step -> count per expert
    for (size_t p = 0; p < n; ++p) {
      if (!r.present[p]) continue;
      auto& counts = per_step[r.step[p]];
      counts.resize(e);
      for (size_t j = 0; j < k; ++j) {
        const int32_t id = r.ids[p * k + j];
        if (id >= 0 && size_t(id) < e) ++counts[size_t(id)];
      }
    }
    std::vector<int64_t> total(e, 0);
    std::vector<std::pair<int64_t, json>> events;
    for (const auto& [step, counts] : per_step) {
      for (size_t i = 0; i < e; ++i) total[i] += counts[i];
      auto it = step_end.find(step);
      if (it == step_end.end()) continue;  // no time known: the counts roll into the next step
      json args = json::object();
      for (size_t i = 0; i < e; ++i) args["e" + std::to_string(i)] = total[i];
      events.emplace_back(it->second, std::move(args));
    }
    std::stable_sort(events.begin(), events.end(),
                     [](const auto& a, const auto& b) { return a.first < b.first; });
    for (auto& [t, args] : events) {
      w.event({{"ph", "C"},
               {"name", "moe L" + std::to_string(l) + " load"},
               {"pid", counters_pid},
               {"ts", w.us(t)},
               {"args", std::move(args)}});
      any_counter = true;
    }
  }
  if (any_counter)
    w.event({{"ph", "M"},
             {"name", "process_name"},
             {"pid", counters_pid},
             {"args", {{"name", "MoE expert load"}}}});

  out << "\n]}\n";
  file.commit();
}

}  // namespace moescope::storage
