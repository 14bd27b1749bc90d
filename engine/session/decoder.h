// What generation drives: a forward pass with its own KV cache. A Model with a KvCache on one
// device, or a parallel::ShardedModel over ranks; generate() and traced_generate() run either.
#pragma once

#include <cstdint>
#include <span>
#include <string>

#include "engine/config/model_config.h"
#include "engine/model/kv_cache.h"
#include "engine/model/model.h"
#include "engine/trace/tracer.h"

namespace moescope {

class Decoder {
 public:
  virtual ~Decoder() = default;
  virtual const ModelConfig& config() const = 0;
  virtual int64_t length() const = 0;    // positions in the cache
  virtual int64_t capacity() const = 0;  // positions the cache can hold
  virtual int threads() const = 0;       // CPU threads in all
  // The parallel layout as JSON for the run record ("{}" on one device).
  virtual std::string layout_json() const = 0;
  // Model::forward's contract: tokens at positions length() .. +T-1; logits [T, V] or [1, V].
  virtual void forward(std::span<const int32_t> tokens, float* logits, bool all_logits,
                       trace::Tracer* tracer) = 0;
};

// One Model and its cache.
class LocalDecoder : public Decoder {
 public:
  LocalDecoder(Model& model, KvCache& cache) : model_(model), cache_(cache) {}
  const ModelConfig& config() const override { return model_.config(); }
  int64_t length() const override { return cache_.length(); }
  int64_t capacity() const override { return cache_.capacity(); }
  int threads() const override { return model_.n_threads(); }
  std::string layout_json() const override { return "{}"; }
  void forward(std::span<const int32_t> tokens, float* logits, bool all_logits,
               trace::Tracer* tracer) override {
    model_.forward(tokens, cache_, logits, all_logits, tracer);
  }

 private:
  Model& model_;
  KvCache& cache_;
};

}  // namespace moescope
