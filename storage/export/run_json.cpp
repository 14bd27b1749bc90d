// Whole-run JSON export (see run_json.h). Streamed element by element: a run with large
// attention maps never exists as one JSON tree in memory.
#include "storage/export/run_json.h"

#include <nlohmann/json.hpp>

#include "storage/export/atomic_file.h"

namespace moescope::storage {

namespace {

using nlohmann::json;

std::string dump(const json& j) {
  // Token text may hold a partial UTF-8 sequence (byte-level tokens): replace, never throw.
  return j.dump(-1, ' ', false, json::error_handler_t::replace);
}

// A settings string as JSON where it is JSON, else as the string it is.
json embedded(const std::string& s) {
  json j = json::parse(s, nullptr, false);
  return j.is_discarded() ? json(s) : j;
}

json drops_json(const DropCounts& d) {
  return {{"tokens", d.tokens},
          {"routing", d.routing},
          {"attention", d.attention},
          {"ops", d.ops},
          {"memory", d.memory}};
}

template <typename T, typename F>
void array(std::ostream& out, const char* key, const std::vector<T>& items, F&& to_json) {
  out << ",\n\"" << key << "\":[";
  bool first = true;
  for (const T& item : items) {
    out << (first ? "\n" : ",\n") << dump(to_json(item));
    first = false;
  }
  out << "]";
}

}  // namespace

void export_run_json(const RunData& run, const std::string& path) {
  const RunInfo& i = run.info;
  const json info = {{"id", run.id},
                     {"model", i.model},
                     {"model_dir", i.model_dir},
                     {"config", embedded(i.config_json)},
                     {"tokenizer", i.tokenizer},
                     {"prompt", i.prompt},
                     {"sampling", embedded(i.sampling_json)},
                     {"capture", embedded(i.capture_json)},
                     {"machine", embedded(i.machine_json)},
                     {"devices", embedded(i.devices_json)},
                     {"layout", embedded(i.layout_json)},
                     {"n_layers", i.n_layers},
                     {"n_experts", i.n_experts},
                     {"top_k", i.top_k},
                     {"n_heads", i.n_heads},
                     {"n_kv_heads", i.n_kv_heads},
                     {"vocab_size", i.vocab_size},
                     {"start_unix_ns", i.start_unix_ns},
                     {"start_ns", i.start_ns},
                     {"end_ns", run.end_ns},
                     {"status", trace::run_status_name(run.status)},
                     {"error", run.error}};
  auto name = [&](int32_t s) {
    return s >= 0 && size_t(s) < run.strings.size() ? run.strings[size_t(s)] : std::string();
  };

  AtomicFile file(path);
  std::ostream& out = file.out();
  out << "{\"format\":\"moescope-run\",\"version\":1,\n\"run\":" << dump(info)
      << ",\n\"drops\":" << dump(drops_json(run.drops));

  array(out, "tokens", run.tokens, [](const TokenRecord& t) {
    json top = json::array();
    for (int32_t j = 0; j < t.n_top; ++j)
      top.push_back({{"id", t.top_ids[j]}, {"logprob", t.top_logprobs[j]}});
    return json{{"position", t.position},
                {"step", t.step},
                {"id", t.id},
                {"text", t.text},
                {"phase", t.phase == TokenPhase::Prompt ? "prompt" : "generated"},
                {"logprob", t.logprob},  // NaN -> null
                {"top", std::move(top)},
                {"time_ns", t.time_ns}};
  });

  array(out, "memory", run.memory, [](const MemorySample& m) {
    return json{{"step", m.step},
                {"time_ns", m.time_ns},
                {"rss_bytes", m.rss_bytes},
                {"peak_rss_bytes", m.peak_rss_bytes},
                {"attention_bytes", m.attention_bytes}};
  });

  out << ",\n\"routing\":[";
  bool first_layer = true;
  for (size_t l = 0; l < run.routing.size(); ++l) {
    const LayerRouting& r = run.routing[l];
    const size_t n = r.present.size();
    const size_t e = n ? r.probs.size() / n : 0, k = n ? r.ids.size() / n : 0;
    out << (first_layer ? "\n" : ",\n") << "{\"layer\":" << l << ",\"n_experts\":" << e
        << ",\"top_k\":" << k << ",\"positions\":[";
    first_layer = false;
    bool first = true;
    for (size_t p = 0; p < n; ++p) {
      if (!r.present[p]) continue;
      const json pos = {
          {"position", p},
          {"step", r.step[p]},
          {"probs", std::vector<float>(r.probs.begin() + p * e, r.probs.begin() + (p + 1) * e)},
          {"ids", std::vector<int32_t>(r.ids.begin() + p * k, r.ids.begin() + (p + 1) * k)},
          {"gates", std::vector<float>(r.gates.begin() + p * k, r.gates.begin() + (p + 1) * k)}};
      out << (first ? "\n" : ",\n") << dump(pos);
      first = false;
    }
    out << "]}";
  }
  out << "]";

  array(out, "ops", run.ops, [&](const OpRecord& o) {
    return json{{"name", name(o.name)}, {"kind", name(o.kind)},   {"step", o.step},
                {"layer", o.layer},     {"expert", o.expert},     {"device", o.device},
                {"stream", o.stream},   {"start_ns", o.start_ns}, {"end_ns", o.end_ns},
                {"bytes", o.bytes},     {"flops", o.flops}};
  });

  array(out, "attention", run.attention, [](const AttentionRecord& a) {
    json rows = json::array();
    for (int32_t q = 0; q < a.n_queries; ++q) {
      json row = json::array();
      for (int64_t s = 0; s < a.n_keys; ++s) row.push_back(a.at(q, s));
      rows.push_back(std::move(row));
    }
    return json{{"step", a.step},     {"layer", a.layer},
                {"head", a.head},     {"kv_head", a.kv_head},
                {"q0", a.q0},         {"n_queries", a.n_queries},
                {"n_keys", a.n_keys}, {"probs", std::move(rows)}};
  });
  out << "\n}\n";
  file.commit();
}

}  // namespace moescope::storage
