// Helpers for the trace store tests: a deterministic generation script that emits every event
// kind into any TraceSink, and a field-by-field comparison of two RunData.
// Shape legend: P positions, E experts, K selected per token, L layers, Q query rows, S keys.
#pragma once

#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "engine/trace/sink.h"
#include "storage/run_data.h"

namespace moescope::test {

inline const trace::OpSite kSiteQProj{"attn.q_proj", "matmul"};
inline const trace::OpSite kSiteAttn{"attn.softmax", "attention"};
inline const trace::OpSite kSiteRouter{"moe.router", "router"};
inline const trace::OpSite kSiteExpertUp{"moe.expert.up", "matmul"};
inline const trace::OpSite kSiteExpertDown{"moe.expert.down", "matmul"};

inline trace::RunInfo sample_info(int32_t layers = 4, int32_t experts = 8, int32_t top_k = 2) {
  trace::RunInfo info;
  info.model = "tiny-test";
  info.model_dir = "/models/tiny test";
  info.config_json = R"({"n_layers":4,"n_experts":8})";
  info.tokenizer = "tokenizer.model (sentencepiece)";
  info.prompt = "Hello, w\xc3\xb6rld \xe2\x96\x81 \"quoted\"\nnext line";
  info.sampling_json = R"({"temperature":0.7,"seed":42})";
  info.capture_json = R"({"routing":true,"attention":true})";
  info.machine_json = R"({"host":"test"})";
  info.devices_json = R"(["cpu"])";
  info.layout_json = "{}";
  info.n_layers = layers;
  info.n_experts = experts;
  info.top_k = top_k;
  info.n_heads = 4;
  info.n_kv_heads = 2;
  info.vocab_size = 32000;
  info.start_unix_ns = 1700000000123456789;
  info.start_ns = 5'000'000'000;
  return info;
}

// A pseudo-random but reproducible value in [0, 1) for (a, b, c).
inline float hash01(int64_t a, int64_t b, int64_t c) {
  uint64_t x = uint64_t(a) * 0x9E3779B97F4A7C15ull ^ uint64_t(b + 7) * 0xC2B2AE3D27D4EB4Full ^
               uint64_t(c + 13) * 0x165667B19E3779F9ull;
  x ^= x >> 29;
  x *= 0xBF58476D1CE4E5B9ull;
  x ^= x >> 32;
  return float(x >> 40) / float(1 << 24);
}

// Emits one routing block for layer over positions p0 .. p0+t-1 into sink.
inline void emit_routing(trace::TraceSink& sink, int64_t run, int64_t step, int32_t layer,
                         int64_t p0, int32_t t, int32_t e, int32_t k) {
  std::vector<float> probs(size_t(t) * size_t(e)), gates(size_t(t) * size_t(k));
  std::vector<int32_t> ids(size_t(t) * size_t(k));
  for (int32_t i = 0; i < t; ++i) {
    float sum = 0;
    for (int32_t x = 0; x < e; ++x)
      sum += probs[size_t(i * e + x)] = 0.01f + hash01(layer, p0 + i, x);
    for (int32_t x = 0; x < e; ++x) probs[size_t(i * e + x)] /= sum;
    for (int32_t j = 0; j < k; ++j) {
      ids[size_t(i * k + j)] = int32_t((p0 + i + layer + j * 3) % e);
      gates[size_t(i * k + j)] = hash01(layer, p0 + i, 100 + j);
    }
  }
  trace::RoutingBlock b;
  b.step = step;
  b.layer = layer;
  b.p0 = p0;
  b.t = t;
  b.n_experts = e;
  b.top_k = k;
  b.probs = probs.data();
  b.ids = ids.data();
  b.gates = gates.data();
  sink.routing(run, b);
}

inline trace::TokenEvent make_token(int64_t position, int64_t step, trace::TokenPhase phase) {
  trace::TokenEvent e;
  e.position = position;
  e.step = step;
  e.id = int32_t(100 + position * 7);
  e.phase = phase;
  e.logprob = position == 0 ? std::nanf("") : -0.25f * float(position % 9);
  e.n_top = int32_t(position % 6);  // 0 .. 5 alternatives
  for (int j = 0; j < e.n_top; ++j) {
    e.top_ids[j] = int32_t(position * 10 + j);
    e.top_logprobs[j] = -0.5f * float(j + 1);
  }
  e.time_ns = 5'000'000'000 + position * 1000;
  e.text = position % 3 == 0 ? " w\xc3\xb6rd" + std::to_string(position) : "\xe2\x96\x81t";
  return e;
}

// A generation: prefill of `prompt` positions (one block per layer), then `decode` steps of one
// position each; every step emits its tokens, routing for every layer, ops (`ops_per_layer`
// per layer, on two streams) and, for layer 0, an attention block per head (the prefill's with
// a row stride wider than its key count, as the engine's buffers have).
struct Script {
  int32_t layers = 4, experts = 8, top_k = 2, heads = 2;
  int64_t prompt = 12, decode = 20;
  int32_t ops_per_layer = 5;
  bool attention = true;
  bool memory = true;  // one memory sample per step

  void play(trace::TraceSink& sink, int64_t run) const { play_steps(sink, run, 0, decode); }

  // Steps first .. last (0 = the prefill).
  void play_steps(trace::TraceSink& sink, int64_t run, int64_t first, int64_t last) const {
    const trace::OpSite* sites[] = {&kSiteQProj, &kSiteAttn, &kSiteRouter, &kSiteExpertUp,
                                    &kSiteExpertDown};
    for (int64_t step = first; step <= last; ++step) {
      const int64_t p0 = step == 0 ? 0 : prompt + step - 1;
      const int32_t t = step == 0 ? int32_t(prompt) : 1;
      int64_t clock = 5'000'000'000 + step * 1'000'000;
      for (int32_t l = 0; l < layers; ++l) {
        emit_routing(sink, run, step, l, p0, t, experts, top_k);
        for (int32_t i = 0; i < ops_per_layer; ++i) {
          trace::OpEvent o;
          o.site = sites[i % 5];
          o.step = step;
          o.layer = l;
          o.expert = i >= 3 ? (i + l) % experts : -1;
          o.device = 0;
          o.stream = i % 2;
          o.start_ns = clock;
          o.end_ns = clock + 100 + i * 10 + step;
          o.bytes = 4096 * (i + 1);
          o.flops = 8192 * (i + 1);
          sink.op(run, o);
          clock += 200;
        }
        if (attention && l == 0) {
          const int64_t s = p0 + t, stride = s + 3;
          std::vector<float> probs(size_t(t * stride));
          for (int64_t q = 0; q < t; ++q)
            for (int64_t k = 0; k < s; ++k) probs[size_t(q * stride + k)] = hash01(step, q, k);
          for (int32_t h = 0; h < heads; ++h) {
            trace::AttentionBlock b;
            b.step = step;
            b.layer = l;
            b.head = h;
            b.kv_head = h / 2;
            b.q0 = p0;
            b.n_queries = t;
            b.n_keys = s;
            b.probs = probs.data();
            b.row_stride = stride;
            sink.attention(run, b);
          }
        }
      }
      if (memory) {
        trace::MemorySample m;
        m.step = step;
        m.time_ns = clock;
        m.rss_bytes = (int64_t(40) << 20) + step * 4096;
        m.peak_rss_bytes = m.rss_bytes + 8192;
        m.attention_bytes = step * 1000;
        sink.memory(run, m);
      }
      if (step == 0)
        for (int64_t p = 0; p < prompt; ++p)
          sink.token(run, make_token(p, 0, trace::TokenPhase::Prompt));
      else
        sink.token(run, make_token(p0, step, trace::TokenPhase::Generated));
    }
  }

  int64_t routing_records() const { return int64_t(layers) * (prompt + decode); }
};

inline bool same_float(float a, float b) {
  return (std::isnan(a) && std::isnan(b)) || std::memcmp(&a, &b, 4) == 0;
}

// Field-by-field equality of two runs (version excepted: it counts changes, not content).
inline void expect_same_run(const storage::RunData& a, const storage::RunData& b) {
  EXPECT_EQ(a.id, b.id);
  const trace::RunInfo &x = a.info, &y = b.info;
  EXPECT_EQ(x.model, y.model);
  EXPECT_EQ(x.model_dir, y.model_dir);
  EXPECT_EQ(x.config_json, y.config_json);
  EXPECT_EQ(x.tokenizer, y.tokenizer);
  EXPECT_EQ(x.prompt, y.prompt);
  EXPECT_EQ(x.sampling_json, y.sampling_json);
  EXPECT_EQ(x.capture_json, y.capture_json);
  EXPECT_EQ(x.machine_json, y.machine_json);
  EXPECT_EQ(x.devices_json, y.devices_json);
  EXPECT_EQ(x.layout_json, y.layout_json);
  EXPECT_EQ(x.n_layers, y.n_layers);
  EXPECT_EQ(x.n_experts, y.n_experts);
  EXPECT_EQ(x.top_k, y.top_k);
  EXPECT_EQ(x.n_heads, y.n_heads);
  EXPECT_EQ(x.n_kv_heads, y.n_kv_heads);
  EXPECT_EQ(x.vocab_size, y.vocab_size);
  EXPECT_EQ(x.start_unix_ns, y.start_unix_ns);
  EXPECT_EQ(x.start_ns, y.start_ns);
  EXPECT_EQ(a.status, b.status);
  EXPECT_EQ(a.end_ns, b.end_ns);
  EXPECT_EQ(a.error, b.error);

  ASSERT_EQ(a.tokens.size(), b.tokens.size());
  for (size_t i = 0; i < a.tokens.size(); ++i) {
    const auto &s = a.tokens[i], &t = b.tokens[i];
    SCOPED_TRACE("token " + std::to_string(i));
    EXPECT_EQ(s.position, t.position);
    EXPECT_EQ(s.step, t.step);
    EXPECT_EQ(s.id, t.id);
    EXPECT_EQ(s.phase, t.phase);
    EXPECT_TRUE(same_float(s.logprob, t.logprob)) << s.logprob << " vs " << t.logprob;
    ASSERT_EQ(s.n_top, t.n_top);
    for (int j = 0; j < s.n_top; ++j) {
      EXPECT_EQ(s.top_ids[j], t.top_ids[j]);
      EXPECT_TRUE(same_float(s.top_logprobs[j], t.top_logprobs[j]));
    }
    EXPECT_EQ(s.time_ns, t.time_ns);
    EXPECT_EQ(s.text, t.text);
  }

  ASSERT_EQ(a.routing.size(), b.routing.size());
  for (size_t l = 0; l < a.routing.size(); ++l) {
    SCOPED_TRACE("routing layer " + std::to_string(l));
    EXPECT_EQ(a.routing[l].present, b.routing[l].present);
    EXPECT_EQ(a.routing[l].step, b.routing[l].step);
    EXPECT_EQ(a.routing[l].ids, b.routing[l].ids);
    ASSERT_EQ(a.routing[l].probs.size(), b.routing[l].probs.size());
    EXPECT_EQ(0, std::memcmp(a.routing[l].probs.data(), b.routing[l].probs.data(),
                             4 * a.routing[l].probs.size()));
    ASSERT_EQ(a.routing[l].gates.size(), b.routing[l].gates.size());
    EXPECT_EQ(0, std::memcmp(a.routing[l].gates.data(), b.routing[l].gates.data(),
                             4 * a.routing[l].gates.size()));
  }

  EXPECT_EQ(a.strings, b.strings);
  ASSERT_EQ(a.ops.size(), b.ops.size());
  for (size_t i = 0; i < a.ops.size(); ++i) {
    const auto &s = a.ops[i], &t = b.ops[i];
    SCOPED_TRACE("op " + std::to_string(i));
    EXPECT_EQ(s.name, t.name);
    EXPECT_EQ(s.kind, t.kind);
    EXPECT_EQ(s.step, t.step);
    EXPECT_EQ(s.layer, t.layer);
    EXPECT_EQ(s.expert, t.expert);
    EXPECT_EQ(s.device, t.device);
    EXPECT_EQ(s.stream, t.stream);
    EXPECT_EQ(s.start_ns, t.start_ns);
    EXPECT_EQ(s.end_ns, t.end_ns);
    EXPECT_EQ(s.bytes, t.bytes);
    EXPECT_EQ(s.flops, t.flops);
  }

  ASSERT_EQ(a.attention.size(), b.attention.size());
  for (size_t i = 0; i < a.attention.size(); ++i) {
    const auto &s = a.attention[i], &t = b.attention[i];
    SCOPED_TRACE("attention " + std::to_string(i));
    EXPECT_EQ(s.step, t.step);
    EXPECT_EQ(s.layer, t.layer);
    EXPECT_EQ(s.head, t.head);
    EXPECT_EQ(s.kv_head, t.kv_head);
    EXPECT_EQ(s.q0, t.q0);
    EXPECT_EQ(s.n_queries, t.n_queries);
    EXPECT_EQ(s.n_keys, t.n_keys);
    EXPECT_EQ(s.probs_f16, t.probs_f16);
  }

  ASSERT_EQ(a.memory.size(), b.memory.size());
  for (size_t i = 0; i < a.memory.size(); ++i) {
    const auto &s = a.memory[i], &t = b.memory[i];
    SCOPED_TRACE("memory sample " + std::to_string(i));
    EXPECT_EQ(s.step, t.step);
    EXPECT_EQ(s.time_ns, t.time_ns);
    EXPECT_EQ(s.rss_bytes, t.rss_bytes);
    EXPECT_EQ(s.peak_rss_bytes, t.peak_rss_bytes);
    EXPECT_EQ(s.attention_bytes, t.attention_bytes);
  }

  EXPECT_EQ(a.drops.tokens, b.drops.tokens);
  EXPECT_EQ(a.drops.routing, b.drops.routing);
  EXPECT_EQ(a.drops.attention, b.drops.attention);
  EXPECT_EQ(a.drops.ops, b.drops.ops);
  EXPECT_EQ(a.drops.memory, b.drops.memory);
}

}  // namespace moescope::test
