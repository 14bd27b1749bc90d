// A long recorded run, as the workbench makes it: 8,192 generated tokens with routing, ops and
// budgeted attention capture on, written by the trace writer into a file and a live TraceModel.
// While it runs, a reader follows the file (TraceFile::refresh, as `report` or a second
// workbench does) and the live model (as the panels do) and must see data that only grows and
// stays consistent. After it, the memory samples recorded in the trace must stay within the
// configured budgets, and the attention maps within --attention-budget-mb.
//
// MOESCOPE_LONG_RUN_TOKENS=N runs N tokens instead (the sanitizer builds run a short one: the
// same threads and reads, a fraction of the work). Nothing here measures time.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <regex>
#include <sstream>
#include <string>
#include <thread>

#include "engine/model/load_model.h"
#include "engine/session/traced_run.h"
#include "storage/trace_file.h"
#include "storage/trace_model.h"
#include "storage/trace_writer.h"
#include "tests/common/test_paths.h"

namespace moescope {
namespace {

namespace fs = std::filesystem;

// Under a sanitizer RSS measures the sanitizer too (ASan keeps freed memory in a quarantine of
// 256 MiB, both keep shadow memory): the bound is checked in normal builds only.
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
constexpr bool kSanitized = true;
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
constexpr bool kSanitized = true;
#else
constexpr bool kSanitized = false;
#endif
#else
constexpr bool kSanitized = false;
#endif

int64_t long_run_tokens() {
  const char* v = std::getenv("MOESCOPE_LONG_RUN_TOKENS");
  return v && std::atoll(v) > 0 ? std::atoll(v) : 8192;
}

// The default model with a context of `context` positions: its config.json with a larger
// max_position_embeddings (RoPE works at any position; the model was trained on 512), beside
// links to its weights and tokenizer.
std::string long_context_model(int64_t context) {
  const std::string src = test::assets_dir() + "/tiny-grok1";
  const std::string dir = test::make_temp_dir("long-model");
  std::ifstream in(src + "/config.json");
  std::stringstream text;
  text << in.rdbuf();
  const std::regex key(R"("max_position_embeddings":\s*[0-9]+)");
  const std::string config = std::regex_replace(
      text.str(), key, "\"max_position_embeddings\": " + std::to_string(context));
  EXPECT_NE(config, text.str()) << src << "/config.json has no max_position_embeddings";
  std::ofstream(dir + "/config.json") << config;
  for (const char* f : {"model.safetensors", "tokenizer.model"})
    fs::create_symlink(src + "/" + f, dir + "/" + f);
  return dir;
}

// What the reader thread saw, checked by the test's thread (gtest assertions stay there).
struct ReaderLog {
  std::mutex mutex;
  std::string error;  // the first inconsistency
  int file_reads = 0, file_growths = 0, model_reads = 0, model_growths = 0;

  void fail(const std::string& what) {
    std::lock_guard<std::mutex> lock(mutex);
    if (error.empty()) error = what;
  }
  int reads() {
    std::lock_guard<std::mutex> lock(mutex);
    return file_reads;
  }
};

// The counts a reader compares between two reads: each may only grow.
struct Seen {
  size_t tokens = 0, ops = 0, attention = 0, memory = 0;
  int64_t routed = 0;  // positions of layer 0 with a decision
  uint64_t version = 0;

  static Seen of(const storage::RunData& r) {
    Seen s;
    s.tokens = r.tokens.size();
    s.ops = r.ops.size();
    s.attention = r.attention.size();
    s.memory = r.memory.size();
    if (!r.routing.empty())
      for (uint8_t p : r.routing[0].present) s.routed += p;
    s.version = r.version;
    return s;
  }
  bool grew_from(const Seen& o) const {
    return tokens > o.tokens || ops > o.ops || attention > o.attention || memory > o.memory;
  }
  std::string shrank_from(const Seen& o) const {
    if (tokens < o.tokens) return "tokens";
    if (ops < o.ops) return "ops";
    if (attention < o.attention) return "attention maps";
    if (memory < o.memory) return "memory samples";
    if (routed < o.routed) return "routed positions";
    return "";
  }
};

// One read's consistency: tokens dense and unchanged where seen before, routing a dense prefix
// (a commit never splits a step), memory samples in order, attention within the budget.
std::string check_run(const storage::RunData& r, const std::vector<int32_t>& earlier_ids,
                      int64_t budget) {
  for (size_t p = 0; p < r.tokens.size(); ++p) {
    if (r.tokens[p].position != int64_t(p)) return "token " + std::to_string(p) + " misplaced";
    if (p < earlier_ids.size() && r.tokens[p].id != earlier_ids[p])
      return "token " + std::to_string(p) + " changed after it was read";
  }
  for (const auto& layer : r.routing)
    for (size_t p = 0; p < layer.present.size(); ++p)
      if (!layer.present[p]) return "routing has a hole at position " + std::to_string(p);
  for (size_t i = 1; i < r.memory.size(); ++i)
    if (r.memory[i].time_ns < r.memory[i - 1].time_ns ||
        r.memory[i].attention_bytes < r.memory[i - 1].attention_bytes)
      return "memory sample " + std::to_string(i) + " goes back";
  int64_t attention = 0;
  for (const auto& a : r.attention) attention += int64_t(a.probs_f16.size()) * 2;
  if (attention > budget)
    return "attention maps hold " + std::to_string(attention) + " bytes, over the budget";
  return "";
}

TEST(LongRun, StaysWithinItsBudgetsAndReadableWhileItGrows) {
  const int64_t G = long_run_tokens();
  LoadedModel m = load_model(long_context_model(G + 64), true);
  // Two engine threads: decode at thousands of positions is attention-bound, and one thread
  // would make this the slowest test of the suite by far.
  Model model(m.config, m.weights, 2);

  trace::CaptureSettings capture;  // routing and ops on by default
  capture.attention = true;
  capture.attention_layers = {1};
  capture.attention_heads = {0};
  // A decode step at S keys adds 2 S bytes: the run asks for about G^2 bytes in all, so a budget
  // of G^2 / 16 (4 MiB at 8,192 tokens: --attention-budget-mb 4) runs out a quarter of the way.
  capture.attention_budget_bytes = G * G / 16;
  capture.memory_interval_ms = 20;

  storage::TraceModel live;
  storage::WriterOptions wo;
  wo.model = &live;
  wo.queue_bytes = size_t(16) << 20;
  const std::string path = test::make_temp_dir("long-run") + "/long.db";
  auto writer = storage::TraceWriter::open(path, wo);
  trace::Tracer tracer(writer.get(), capture);

  RunRequest request;
  request.prompt = "And God said unto Moses,";
  request.generation.max_tokens = G;
  request.generation.sampling.temperature = 0.8f;
  request.generation.sampling.seed = 11;
  request.generation.stop_at_eos = false;
  request.model_name = "tiny-grok1 (long context)";

  // The reader: follows the file and the live model until the run ends.
  std::atomic<int64_t> run_id{0};
  std::atomic<bool> done{false};
  ReaderLog log;
  std::thread reader([&] {
    while (run_id == 0 && !done) std::this_thread::sleep_for(std::chrono::milliseconds(1));
    if (run_id == 0) return;
    try {
      auto file = storage::TraceFile::open(path);
      storage::RunData run = file->load(run_id);
      Seen file_seen = Seen::of(run), model_seen;
      std::vector<int32_t> ids;
      for (bool last = false; !last;) {
        last = done;  // one more read after the end, of the finished run
        file->refresh(run);
        const Seen now = Seen::of(run);
        if (const std::string s = now.shrank_from(file_seen); !s.empty())
          return log.fail("the file's " + s + " shrank between two reads");
        if (const std::string e = check_run(run, ids, capture.attention_budget_bytes); !e.empty())
          return log.fail("file: " + e);
        for (size_t p = ids.size(); p < run.tokens.size(); ++p) ids.push_back(run.tokens[p].id);
        {
          std::lock_guard<std::mutex> lock(log.mutex);
          ++log.file_reads;
          log.file_growths += now.grew_from(file_seen);
        }
        file_seen = now;

        // As a panel reads the live model: a snapshot under its shared lock.
        std::string model_error;
        Seen snapshot;
        live.read(run_id, [&](const storage::RunData& r) {
          snapshot = Seen::of(r);
          model_error = check_run(r, ids, capture.attention_budget_bytes);
        });
        if (!model_error.empty()) return log.fail("live model: " + model_error);
        if (const std::string s = snapshot.shrank_from(model_seen); !s.empty())
          return log.fail("the live model's " + s + " shrank between two reads");
        if (snapshot.version < model_seen.version)
          return log.fail("the live model's version went back");
        {
          std::lock_guard<std::mutex> lock(log.mutex);
          ++log.model_reads;
          log.model_growths += snapshot.grew_from(model_seen);
        }
        model_seen = snapshot;
        std::this_thread::sleep_for(std::chrono::milliseconds(25));
      }
    } catch (const std::exception& e) {
      log.fail(std::string("reading threw: ") + e.what());
    }
  });

  // Checkpoints: every G / kCheckpoints generated tokens the engine commits what it has and waits
  // (at most 2 s) until the reader has read the file twice since, so that the reads see the run
  // grow whatever the speed of the engine (a fast one finished a 384-token run under TSan in
  // 1.2 s, between few enough reads that only 8 of 33 saw it grow).
  constexpr int64_t kCheckpoints = 16;
  const int64_t every = std::max<int64_t>(1, G / kCheckpoints);
  int64_t generated = 0;
  auto checkpoint = [&] {
    writer->flush();
    const int target = log.reads() + 2;
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(2);
    while (log.reads() < target && std::chrono::steady_clock::now() < deadline)
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
  };
  RunOutcome out;
  try {
    out = traced_generate(model, *m.tokenizer, request, tracer, [&](const trace::TokenEvent& e) {
      if (run_id == 0) run_id = tracer.run();
      if (e.phase == trace::TokenPhase::Generated && ++generated % every == 0) checkpoint();
      return true;
    });
  } catch (...) {
    done = true;
    reader.join();
    throw;
  }
  writer->flush();
  done = true;
  reader.join();

  ASSERT_EQ(out.status, trace::RunStatus::Complete);
  ASSERT_EQ(int64_t(out.generated_ids.size()), G);
  EXPECT_EQ(writer->error(), "");
  EXPECT_EQ(log.error, "");
  // Read while it grew, many times over (a reader that only saw the end would prove nothing).
  EXPECT_GE(log.file_growths, 10) << log.file_reads << " reads of the file";
  EXPECT_GE(log.model_growths, 10) << log.model_reads << " reads of the live model";

  auto file = storage::TraceFile::open(path);
  const storage::RunData run = file->load(out.run_id);
  const int64_t P = int64_t(out.prompt_ids.size());
  ASSERT_EQ(run.n_positions(), P + G);
  EXPECT_EQ(run.generated_tokens(), G);
  const storage::WriterStats stats = writer->stats();
  // Dropped events (a queue full on a loaded machine) are allowed, but counted, never silent.
  EXPECT_EQ(run.drops.total(), stats.dropped.total());
  if (stats.dropped.routing == 0) {
    for (const auto& layer : run.routing) EXPECT_EQ(int64_t(layer.present.size()), P + G);
  }

  // Attention: within the budget, and the budget was reached (so the cap was what held it).
  int64_t attention = 0;
  for (const auto& a : run.attention) attention += int64_t(a.probs_f16.size()) * 2;
  EXPECT_LE(attention, capture.attention_budget_bytes);
  EXPECT_GT(attention, capture.attention_budget_bytes * 3 / 4)
      << "the budget was never approached; the test proves nothing";
  EXPECT_LE(tracer.attention_captured_bytes(), capture.attention_budget_bytes);

  // Memory: sampled all along and recorded in the trace. The samples' attention bytes are what
  // the engine handed to the writer: the maps in the file, unless some were dropped.
  ASSERT_GE(run.memory.size(), 3u) << "too few memory samples";
  EXPECT_EQ(run.memory.front().step, 0);
  EXPECT_GE(run.memory.back().step, G - 1);
  EXPECT_LE(run.memory.back().attention_bytes, capture.attention_budget_bytes);
  if (stats.dropped.attention == 0) {
    EXPECT_EQ(run.memory.back().attention_bytes, attention);
  }

  // The bound: the first sample (model loaded, the whole KV cache allocated and zeroed) plus
  // what the configured budgets allow on top of it, each named:
  const int64_t baseline = run.memory.front().rss_bytes;
  const ModelConfig& c = m.config;
  const int64_t queue = int64_t(wo.queue_bytes);
  // The attention maps live twice as f16 (the live model, the reader's copy), and a prefill or
  // decode step's f32 probabilities once more in the queue (inside `queue`).
  const int64_t attention_copies = 2 * capture.attention_budget_bytes;
  // Per position, in the live model and the reader's copy, with vectors' doubling (x2): its
  // token (~128 B), routing of every layer (E probs + E logits + K ids + K gates + flag + step),
  // and its ops (64 B each; ops per position as recorded).
  const int64_t ops_per_position = int64_t(run.ops.size()) / (P + G) + 1;
  const int64_t per_position =
      128 + c.n_layers * (4 * (2 * c.n_experts + 2 * c.top_k) + 9) + 64 * ops_per_position;
  const int64_t records = 2 * 2 * per_position * (P + G);
  const int64_t sqlite_caches = (int64_t(32) << 20) + (int64_t(8) << 20);  // writer, reader
  const int64_t slack = int64_t(32) << 20;  // allocator, thread stacks, the reader's statements
  const int64_t bound = baseline + queue + attention_copies + records + sqlite_caches + slack;
  int64_t max_rss = 0;
  for (const auto& s : run.memory) {
    EXPECT_GT(s.rss_bytes, 0) << "RSS could not be read";
    max_rss = std::max(max_rss, s.rss_bytes);
  }
  if (!kSanitized) {
    EXPECT_LE(max_rss, bound) << "RSS " << (max_rss >> 20) << " MiB over the bound of "
                              << (bound >> 20) << " MiB (baseline " << (baseline >> 20) << " MiB)";
  }
  // Between samples too: the peak grew past the bound only if it was set before the run began.
  const int64_t peak = run.memory.back().peak_rss_bytes;
  if (!kSanitized) {
    EXPECT_LE(peak, std::max(bound, run.memory.front().peak_rss_bytes))
        << "peak RSS " << (peak >> 20) << " MiB";
  }
  const double mib = 1.0 / double(1 << 20);
  std::printf(
      "long run: %lld tokens, %zu memory samples, RSS %.1f MiB at start, max %.1f MiB, peak %.1f "
      "MiB (bound %.1f MiB); attention %.2f MiB of %.2f; %d / %d reads saw it grow; %lld "
      "dropped\n",
      (long long)G, run.memory.size(), double(baseline) * mib, double(max_rss) * mib,
      double(peak) * mib, double(bound) * mib, double(attention) * mib,
      double(capture.attention_budget_bytes) * mib, log.file_growths, log.file_reads,
      (long long)stats.dropped.total());
}

}  // namespace
}  // namespace moescope
