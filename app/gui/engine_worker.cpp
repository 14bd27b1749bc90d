#include "app/gui/engine_worker.h"

#include <unistd.h>

#include <algorithm>
#include <filesystem>

#include "app/gui/model_facts.h"
#include "engine/model/load_model.h"
#include "engine/model/model.h"
#include "engine/session/traced_run.h"
#include "engine/trace/clock.h"
#include "storage/trace_writer.h"

namespace moescope::gui {

namespace {

// Forwards every event to the real sink and remembers the id of the run it starts, so the UI
// can follow a new run from its first event rather than from its first token.
class FollowingSink : public trace::TraceSink {
 public:
  FollowingSink(trace::TraceSink* inner, std::atomic<int64_t>* run) : inner_(inner), run_(run) {}
  int64_t begin_run(const trace::RunInfo& info) override {
    const int64_t id = inner_->begin_run(info);
    run_->store(id);
    return id;
  }
  void end_run(int64_t run, trace::RunStatus s, int64_t end_ns, const std::string& e) override {
    inner_->end_run(run, s, end_ns, e);
  }
  void token(int64_t run, const trace::TokenEvent& e) override { inner_->token(run, e); }
  void routing(int64_t run, const trace::RoutingBlock& b) override { inner_->routing(run, b); }
  void attention(int64_t run, const trace::AttentionBlock& b) override {
    inner_->attention(run, b);
  }
  void op(int64_t run, const trace::OpEvent& e) override { inner_->op(run, e); }
  void memory(int64_t run, const trace::MemorySample& m) override { inner_->memory(run, m); }

 private:
  trace::TraceSink* inner_;
  std::atomic<int64_t>* run_;
};

trace::CaptureSettings capture_settings(const panels::CaptureRequest& c) {
  trace::CaptureSettings s;
  s.routing = c.routing;
  s.ops = c.ops;
  s.attention = c.attention;
  s.attention_layers = c.attention_layers;
  s.attention_heads = c.attention_heads;
  s.attention_first_step = c.attention_first_step;
  s.attention_last_step = c.attention_last_step;
  s.attention_prompt_max_cells = c.attention_prompt_max_cells;
  s.attention_budget_bytes = c.attention_budget_mb << 20;
  s.prompt_logprobs = c.prompt_logprobs;
  return s;
}

int64_t weight_file_bytes(const std::string& dir) {
  int64_t total = 0;
  std::error_code ec;
  for (const auto& e : std::filesystem::directory_iterator(dir, ec))
    if (e.path().extension() == ".safetensors") total += int64_t(e.file_size(ec));
  return total;
}

}  // namespace

struct EngineWorker::State {
  LoadedModel loaded;
  std::unique_ptr<Model> model;
  std::unique_ptr<storage::TraceWriter> writer;
  std::atomic<int64_t> live_run{-1};
};

EngineWorker::EngineWorker(WorkerOptions options, std::shared_ptr<storage::TraceModel> model)
    : options_(std::move(options)), model_(std::move(model)), state_(std::make_unique<State>()) {
  status_.state = panels::EngineState::Loading;
  status_.message = "loading " + options_.model_dir;
  thread_ = std::thread([this] { run(); });
}

EngineWorker::~EngineWorker() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    quit_ = true;
    queue_.clear();
  }
  stop_ = true;
  cv_.notify_all();
  thread_.join();
}

void EngineWorker::generate(const panels::cmd::Generate& request) {
  std::lock_guard<std::mutex> lock(mutex_);
  if (status_.state != panels::EngineState::Ready || busy_) {
    status_.message = status_.state == panels::EngineState::Generating || busy_
                          ? "a run is going: stop it first (Esc)"
                          : "no model loaded: cannot generate";
    return;
  }
  busy_ = true;
  // Generating from the moment it is queued, so nobody sees "ready" before the run starts.
  status_.state = panels::EngineState::Generating;
  status_.message = "starting";
  queue_.push_back(request);
  cv_.notify_all();
}

void EngineWorker::stop() {
  stop_ = true;
}

panels::EngineStatus EngineWorker::status() const {
  std::lock_guard<std::mutex> lock(mutex_);
  panels::EngineStatus s = status_;
  const int64_t live = state_->live_run.load();
  if (live >= 0) s.live_run = live;
  return s;
}

std::string EngineWorker::trace_path() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return trace_path_;
}

std::string EngineWorker::token_text(int32_t id) const {
  // The tokenizer is written once before tokenizer_ready_ is set and only read after; its const
  // methods are safe to call from several threads.
  if (!tokenizer_ready_.load(std::memory_order_acquire) || !state_->loaded.tokenizer) return "";
  if (id < 0 || id >= state_->loaded.tokenizer->vocab_size()) return "";
  std::string p = state_->loaded.tokenizer->piece(id);
  // SentencePiece marks a leading space with U+2581.
  for (size_t at; (at = p.find("\xE2\x96\x81")) != std::string::npos;) p.replace(at, 3, " ");
  return p;
}

void EngineWorker::flush() {
  if (state_->writer) state_->writer->flush();
}

void EngineWorker::set_message(const std::string& m) {
  std::lock_guard<std::mutex> lock(mutex_);
  status_.message = m;
}

void EngineWorker::run() {
  int threads = options_.threads > 0 ? options_.threads
                                     : int(std::max(1u, std::thread::hardware_concurrency()));
  try {
    state_->loaded = load_model(options_.model_dir, true);
    state_->model = std::make_unique<Model>(state_->loaded.config, state_->loaded.weights, threads);
    tokenizer_ready_.store(true, std::memory_order_release);
  } catch (const std::exception& e) {
    std::lock_guard<std::mutex> lock(mutex_);
    status_.state = panels::EngineState::Failed;
    status_.message = std::string("cannot load the model: ") + e.what();
    return;
  }
  // The trace file: one that another workbench holds is left alone (a per-process file instead).
  std::string path = options_.trace_path, trace_error;
  if (!path.empty()) {
    std::error_code ec;
    std::filesystem::create_directories(std::filesystem::path(path).parent_path(), ec);
    storage::WriterOptions wo;
    wo.model = model_.get();
    for (int attempt = 0; attempt < 2 && !state_->writer; ++attempt) {
      try {
        state_->writer = storage::TraceWriter::open(path, wo);
      } catch (const std::exception& e) {
        trace_error = e.what();
        const auto p = std::filesystem::path(options_.trace_path);
        path = (p.parent_path() /
                (p.stem().string() + "-" + std::to_string(getpid()) + p.extension().string()))
                   .string();
      }
    }
  }
  {
    std::lock_guard<std::mutex> lock(mutex_);
    trace_path_ = state_->writer ? state_->writer->path() : "";
    status_.model =
        describe_model(state_->loaded.config, options_.model_dir, state_->model->n_threads(),
                       weight_file_bytes(options_.model_dir));
    status_.state = panels::EngineState::Ready;
    status_.message =
        "model loaded" + (state_->writer ? ", recording to " + trace_path_
                                         : std::string(", not recording") +
                                               (trace_error.empty() ? "" : ": " + trace_error));
  }

  while (true) {
    panels::cmd::Generate req;
    {
      std::unique_lock<std::mutex> lock(mutex_);
      cv_.wait(lock, [this] { return quit_ || !queue_.empty(); });
      if (quit_) break;
      req = std::move(queue_.front());
      queue_.pop_front();
      status_.state = panels::EngineState::Generating;
      status_.message = "generating";
      status_.generated = 0;
      status_.prompt_tokens = 0;
      status_.max_tokens = req.settings.sampling.max_tokens;
      status_.tokens_per_second = 0;
    }
    stop_ = false;
    // Without a file the events go straight into the TraceModel.
    trace::TraceSink* sink = state_->writer ? static_cast<trace::TraceSink*>(state_->writer.get())
                                            : static_cast<trace::TraceSink*>(model_.get());
    FollowingSink following(sink, &state_->live_run);
    trace::Tracer tracer(&following, capture_settings(req.settings.capture));
    RunRequest rr;
    rr.prompt = req.prompt;
    rr.generation.max_tokens = req.settings.sampling.max_tokens;
    rr.generation.sampling.temperature = req.settings.sampling.temperature;
    rr.generation.sampling.top_k = req.settings.sampling.top_k;
    rr.generation.sampling.top_p = req.settings.sampling.top_p;
    rr.generation.sampling.seed = req.settings.sampling.seed;
    rr.generation.stop_at_eos = req.settings.sampling.stop_at_eos;
    rr.model_dir = std::filesystem::absolute(options_.model_dir).lexically_normal().string();
    rr.model_name = std::filesystem::path(rr.model_dir).filename().string();
    std::string outcome;
    try {
      rr.generation.sampling.validate();
      int64_t first_generated_ns = 0, generated = 0;
      RunOutcome out = traced_generate(
          *state_->model, *state_->loaded.tokenizer, rr, tracer,
          [&](const trace::TokenEvent& e) {
            std::lock_guard<std::mutex> lock(mutex_);
            if (e.phase == trace::TokenPhase::Prompt) {
              status_.prompt_tokens = e.position + 1;
            } else {
              if (generated++ == 0) first_generated_ns = e.time_ns;
              status_.generated = generated;
              if (generated > 1)
                status_.tokens_per_second =
                    double(generated - 1) * 1e9 /
                    double(std::max<int64_t>(1, e.time_ns - first_generated_ns));
            }
            return true;
          },
          &stop_);
      outcome = "run " + std::to_string(out.run_id) + ": " +
                std::to_string(out.generated_ids.size()) + " tokens" +
                (out.stats.stopped_by_caller || stop_ ? " (stopped)" : "");
    } catch (const std::exception& e) {
      outcome = std::string("generation failed: ") + e.what();
    }
    if (state_->writer) {
      state_->writer->flush();
      if (!state_->writer->error().empty()) outcome += "; trace: " + state_->writer->error();
    }
    std::lock_guard<std::mutex> lock(mutex_);
    status_.state = panels::EngineState::Ready;
    status_.message = outcome;
    busy_ = false;
  }
  state_->writer.reset();  // drains and closes the file
}

}  // namespace moescope::gui
