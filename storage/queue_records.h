// The payloads of the writer queue's records: what the engine's threads copy in (push_*) and what
// the writer thread reads back (decode_*) as the same trace event structs, with pointers into the
// queue's memory instead of the engine's buffers. Fixed-size parts are PODs copied with memcpy;
// variable parts (token text, routing and attention arrays) follow them, packed.
// Shape legend: T positions, E experts, K selected per token, Q query rows, S keys.
#pragma once

#include <cstdint>
#include <cstring>
#include <future>
#include <string>

#include "engine/trace/events.h"
#include "storage/event_queue.h"

namespace moescope::storage {

struct TokenHead {
  int64_t position, step, time_ns;
  int32_t id, n_top;
  int32_t top_ids[trace::TokenEvent::kTop];
  float top_logprobs[trace::TokenEvent::kTop];
  float logprob;
  uint32_t text_bytes;
  uint8_t phase;
};

struct RoutingHead {
  int64_t step, p0;
  int32_t layer, t, n_experts, top_k;
  int32_t has_logits, pad;
};  // then probs f32[T, E], ids i32[T, K], gates f32[T, K], and logits f32[T, E] if present

struct AttentionHead {
  int64_t step, q0, n_keys;
  int32_t layer, head, kv_head, n_queries;
};  // then probs f32[Q, S], rows packed

// begin_run waits for the writer thread to insert the run; the request lives on its stack.
struct BeginRunRequest {
  const trace::RunInfo* info;
  std::promise<int64_t> id;
};

struct EndRunHead {
  int64_t end_ns;
  uint32_t error_bytes;
  uint8_t status;
};  // then the error text

// ---- producers ---------------------------------------------------------------------------------

inline bool push_token(EventQueue& q, int64_t run, const trace::TokenEvent& e) {
  TokenHead h{};
  h.position = e.position;
  h.step = e.step;
  h.time_ns = e.time_ns;
  h.id = e.id;
  h.n_top = e.n_top;
  std::memcpy(h.top_ids, e.top_ids, sizeof(h.top_ids));
  std::memcpy(h.top_logprobs, e.top_logprobs, sizeof(h.top_logprobs));
  h.logprob = e.logprob;
  h.text_bytes = uint32_t(e.text.size());
  h.phase = uint8_t(e.phase);
  return q.push(RecordKind::Token, run, sizeof(h) + e.text.size(), [&](uint8_t* d) {
    std::memcpy(d, &h, sizeof(h));
    std::memcpy(d + sizeof(h), e.text.data(), e.text.size());
  });
}

inline bool push_routing(EventQueue& q, int64_t run, const trace::RoutingBlock& b) {
  const size_t te = size_t(b.t) * size_t(b.n_experts), tk = size_t(b.t) * size_t(b.top_k);
  RoutingHead h{b.step, b.p0, b.layer, b.t, b.n_experts, b.top_k, b.logits != nullptr, 0};
  const size_t logits = b.logits ? te : 0;
  return q.push(RecordKind::Routing, run, sizeof(h) + 4 * (te + 2 * tk + logits), [&](uint8_t* d) {
    std::memcpy(d, &h, sizeof(h));
    d += sizeof(h);
    std::memcpy(d, b.probs, 4 * te);
    std::memcpy(d + 4 * te, b.ids, 4 * tk);
    std::memcpy(d + 4 * (te + tk), b.gates, 4 * tk);
    if (b.logits) std::memcpy(d + 4 * (te + 2 * tk), b.logits, 4 * te);
  });
}

inline bool push_attention(EventQueue& q, int64_t run, const trace::AttentionBlock& b) {
  AttentionHead h{b.step, b.q0, b.n_keys, b.layer, b.head, b.kv_head, b.n_queries};
  const size_t row = size_t(b.n_keys) * 4;
  return q.push(RecordKind::Attention, run, sizeof(h) + row * size_t(b.n_queries), [&](uint8_t* d) {
    std::memcpy(d, &h, sizeof(h));
    d += sizeof(h);
    for (int32_t r = 0; r < b.n_queries; ++r)
      std::memcpy(d + r * row, b.probs + r * b.row_stride, row);
  });
}

inline bool push_op(EventQueue& q, int64_t run, const trace::OpEvent& e) {
  return q.push(RecordKind::Op, run, sizeof(e), [&](uint8_t* d) { std::memcpy(d, &e, sizeof(e)); });
}

inline bool push_memory(EventQueue& q, int64_t run, const trace::MemorySample& s) {
  return q.push(RecordKind::Memory, run, sizeof(s),
                [&](uint8_t* d) { std::memcpy(d, &s, sizeof(s)); });
}

// ---- the writer thread ----------------------------------------------------------------------

inline trace::TokenEvent decode_token(const uint8_t* p) {
  TokenHead h;
  std::memcpy(&h, p, sizeof(h));
  trace::TokenEvent e;
  e.position = h.position;
  e.step = h.step;
  e.time_ns = h.time_ns;
  e.id = h.id;
  e.n_top = h.n_top;
  std::memcpy(e.top_ids, h.top_ids, sizeof(h.top_ids));
  std::memcpy(e.top_logprobs, h.top_logprobs, sizeof(h.top_logprobs));
  e.logprob = h.logprob;
  e.phase = trace::TokenPhase(h.phase);
  e.text.assign(reinterpret_cast<const char*>(p + sizeof(h)), h.text_bytes);
  return e;
}

inline trace::RoutingBlock decode_routing(const uint8_t* p) {
  RoutingHead h;
  std::memcpy(&h, p, sizeof(h));
  trace::RoutingBlock b;
  b.step = h.step;
  b.layer = h.layer;
  b.p0 = h.p0;
  b.t = h.t;
  b.n_experts = h.n_experts;
  b.top_k = h.top_k;
  const size_t te = size_t(h.t) * size_t(h.n_experts), tk = size_t(h.t) * size_t(h.top_k);
  // Records are 8-byte aligned and the head is a multiple of 8, so these casts are aligned.
  p += sizeof(h);
  b.probs = reinterpret_cast<const float*>(p);
  b.ids = reinterpret_cast<const int32_t*>(p + 4 * te);
  b.gates = reinterpret_cast<const float*>(p + 4 * (te + tk));
  b.logits = h.has_logits ? reinterpret_cast<const float*>(p + 4 * (te + 2 * tk)) : nullptr;
  return b;
}

inline trace::AttentionBlock decode_attention(const uint8_t* p) {
  AttentionHead h;
  std::memcpy(&h, p, sizeof(h));
  trace::AttentionBlock b;
  b.step = h.step;
  b.layer = h.layer;
  b.head = h.head;
  b.kv_head = h.kv_head;
  b.q0 = h.q0;
  b.n_queries = h.n_queries;
  b.n_keys = h.n_keys;
  b.row_stride = h.n_keys;
  b.probs = reinterpret_cast<const float*>(p + sizeof(h));
  return b;
}

inline trace::OpEvent decode_op(const uint8_t* p) {
  trace::OpEvent e;
  std::memcpy(&e, p, sizeof(e));
  return e;
}

inline trace::MemorySample decode_memory(const uint8_t* p) {
  trace::MemorySample s;
  std::memcpy(&s, p, sizeof(s));
  return s;
}

static_assert(sizeof(RoutingHead) % 8 == 0 && sizeof(AttentionHead) % 8 == 0);

}  // namespace moescope::storage
