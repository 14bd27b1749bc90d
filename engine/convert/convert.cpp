// The conversion pipeline: open and validate the source, plan, write shards into a temporary
// directory, add config.json and tokenizer files, verify, rename into place.
#include "engine/convert/convert.h"

#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <deque>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "engine/convert/config_writer.h"
#include "engine/convert/convert_plan.h"
#include "engine/convert/tensor_values.h"
#include "engine/core/error.h"
#include "engine/tokenizer/tokenizer.h"
#include "engine/weights/checkpoint_config.h"
#include "engine/weights/model_weights.h"
#include "engine/weights/safetensors.h"

namespace moescope {

const char* convert_dtype_name(ConvertDtype d) {
  switch (d) {
    case ConvertDtype::Keep:
      return "keep";
    case ConvertDtype::Bf16:
      return "bf16";
    case ConvertDtype::Int8:
      return "int8";
  }
  return "?";
}

namespace {

namespace fs = std::filesystem;
using convert_detail::PlannedTensor;
using kernels::DType;

// Tokenizer and generation files copied as they are.
const char* const kSideFiles[] = {"tokenizer.model",         "tokenizer.tok.json",
                                  "tokenizer.json",          "tokenizer_config.json",
                                  "special_tokens_map.json", "chat_template.jinja",
                                  "generation_config.json"};

std::string read_file(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

void write_file(const fs::path& p, const std::string& text) {
  std::ofstream out(p, std::ios::binary);
  out << text;
  out.close();
  if (!out) fail(p.string(), ": cannot write");
}

std::string describe_layout(const Checkpoint& ckpt, const std::string& dir) {
  const auto& files = ckpt.files();
  auto any_ends = [&](const std::string& suffix) {
    return std::any_of(files.begin(), files.end(), [&](const std::string& f) {
      return f.size() >= suffix.size() &&
             f.compare(f.size() - suffix.size(), suffix.size(), suffix) == 0;
    });
  };
  if (is_jax_checkpoint_dir(dir) && !any_ends(".safetensors") && !any_ends(".bin"))
    return cat("Grok-1 JAX ckpt-0 (", files.size(), " pickles)");
  if (any_ends(".bin")) return cat("torch .bin (", files.size(), " file(s))");
  if (std::any_of(files.begin(), files.end(),
                  [](const std::string& f) { return f.find("-TP-") != std::string::npos; }))
    return cat("TP-presharded safetensors (", files.size(), " files, joined)");
  return cat("safetensors (", files.size(), " file(s))");
}

void check_names_fit(Arch arch, NamingScheme out) {
  const bool ok = arch == Arch::Mixtral ? out == NamingScheme::Mixtral
                  : arch == Arch::Grok2 ? out == NamingScheme::SglangGrok
                                        : out != NamingScheme::Mixtral;
  if (!ok)
    fail("--names ", naming_scheme_name(out), " cannot name a ", arch_name(arch),
         " model (grok-1: hpcai, sglang or keyfan; grok-2: sglang; mixtral: mixtral)");
}

// Values of t in its output dtype, into buffers that live as long as the shard.
void convert_tensor(const PlannedTensor& t, std::deque<std::vector<uint8_t>>& store,
                    std::vector<TensorToWrite>& out) {
  if (t.copies_source()) {
    out.push_back({t.out_name, t.src->dtype, t.src->shape, t.src->data});
    if (t.src_scale)
      out.push_back(
          {scale_name(t.out_name), t.src_scale->dtype, t.src_scale->shape, t.src_scale->data});
    return;
  }
  const convert_detail::TensorValues values(*t.src, t.src_scale);
  const int64_t rows = values.rows(), cols = values.cols();
  const int64_t step = convert_detail::chunk_rows(cols);
  std::vector<float> f32(size_t(step * cols));
  auto& w = store.emplace_back(size_t(rows * cols) * kernels::dtype_size(t.out_dtype));
  std::vector<uint8_t>* s = nullptr;
  if (t.out_dtype == DType::I8) s = &store.emplace_back(size_t(rows * t.out_groups) * 2);
  for (int64_t r0 = 0; r0 < rows; r0 += step) {
    const int64_t r1 = std::min(rows, r0 + step);
    values.rows_f32(r0, r1, f32.data());
    if (t.out_dtype == DType::I8)
      convert_detail::quantise_rows(f32.data(), r1 - r0, cols, t.out_groups,
                                    reinterpret_cast<int8_t*>(w.data()) + r0 * cols,
                                    reinterpret_cast<uint16_t*>(s->data()) + r0 * t.out_groups);
    else
      kernels::convert_from_f32(f32.data(), t.out_dtype,
                                w.data() + size_t(r0 * cols) * kernels::dtype_size(t.out_dtype),
                                size_t((r1 - r0) * cols));
  }
  out.push_back({t.out_name, t.out_dtype, t.src->shape, w.data()});
  if (s) out.push_back({scale_name(t.out_name), DType::BF16, {rows, t.out_groups}, s->data()});
}

// Writes the plan into dir as one file or shards of at most shard_bytes plus an index.
void write_shards(const std::vector<PlannedTensor>& plan, const fs::path& dir, uint64_t shard_bytes,
                  ConvertReport& report, const std::function<void(const std::string&)>& progress) {
  std::vector<std::vector<const PlannedTensor*>> shards(1);
  uint64_t in_shard = 0;
  for (const PlannedTensor& t : plan) {
    if (in_shard > 0 && in_shard + t.out_bytes() > shard_bytes) {
      shards.emplace_back();
      in_shard = 0;
    }
    shards.back().push_back(&t);
    in_shard += t.out_bytes();
  }
  nlohmann::ordered_json weight_map = nlohmann::ordered_json::object();
  for (size_t i = 0; i < shards.size(); ++i) {
    char sharded[64];
    std::snprintf(sharded, sizeof sharded, "model-%05zu-of-%05zu.safetensors", i + 1,
                  shards.size());
    const std::string name = shards.size() == 1 ? "model.safetensors" : sharded;
    std::deque<std::vector<uint8_t>> store;
    std::vector<TensorToWrite> tensors;
    for (const PlannedTensor* t : shards[i]) convert_tensor(*t, store, tensors);
    // Larger elements first keeps every tensor aligned to its element size.
    std::stable_sort(tensors.begin(), tensors.end(), [](const auto& a, const auto& b) {
      return kernels::dtype_size(a.dtype) > kernels::dtype_size(b.dtype);
    });
    uint64_t bytes = 0;
    for (const TensorToWrite& t : tensors) {
      int64_t n = 1;
      for (int64_t d : t.shape) n *= d;
      bytes += uint64_t(n) * kernels::dtype_size(t.dtype);
      weight_map[t.name] = name;
    }
    write_safetensors((dir / name).string(), tensors, {{"format", "pt"}});
    report.files.push_back(name);
    report.tensors += tensors.size();
    report.bytes += bytes;
    if (progress)
      progress(cat("wrote ", name, ": ", tensors.size(), " tensors, ", bytes, " bytes"));
  }
  if (shards.size() > 1) {
    nlohmann::ordered_json index = {{"metadata", {{"total_size", report.bytes}}},
                                    {"weight_map", weight_map}};
    write_file(dir / "model.safetensors.index.json", index.dump(2) + "\n");
    report.copied.push_back("model.safetensors.index.json");
  }
}

void copy_side_files(const ConvertOptions& opt, const ModelConfig& c, const fs::path& dir,
                     ConvertReport& report) {
  const fs::path from(opt.from);
  bool have_tokenizer = false;
  for (const char* name : kSideFiles) {
    std::error_code ec;
    if (!fs::is_regular_file(from / name, ec)) continue;
    fs::copy_file(from / name, dir / name, fs::copy_options::overwrite_existing);
    report.copied.push_back(name);
    have_tokenizer |=
        std::string(name) == "tokenizer.model" || std::string(name) == "tokenizer.tok.json";
  }
  std::string extra = opt.tokenizer;
  if (extra.empty() && !have_tokenizer) extra = find_checkpoint_tokenizer(opt.from);
  if (extra.empty()) return;
  auto tok = load_tokenizer(extra);  // must load, and fit the model
  if (tok->vocab_size() > c.vocab_size)
    fail(extra, ": the tokenizer has ", tok->vocab_size(), " ids but the model's vocab_size is ",
         c.vocab_size);
  const std::string name = fs::path(extra).filename().string();
  fs::copy_file(extra, dir / name, fs::copy_options::overwrite_existing);
  report.copied.push_back(name + " (from " + extra + ")");
}

void check_same_config(const ModelConfig& a, const ModelConfig& b) {
  const bool same = a.arch == b.arch && a.vocab_size == b.vocab_size && a.d_model == b.d_model &&
                    a.n_layers == b.n_layers && a.n_heads == b.n_heads &&
                    a.n_kv_heads == b.n_kv_heads && a.head_dim == b.head_dim &&
                    a.n_experts == b.n_experts && a.top_k == b.top_k &&
                    a.expert_ffn == b.expert_ffn && a.shared_ffn == b.shared_ffn &&
                    a.tied_embeddings == b.tied_embeddings &&
                    a.attn_logit_multiplier == b.attn_logit_multiplier &&
                    a.embed_multiplier == b.embed_multiplier &&
                    a.output_multiplier == b.output_multiplier && a.rope_theta == b.rope_theta &&
                    a.attn_softcap == b.attn_softcap && a.router_softcap == b.router_softcap;
  if (!same) fail("verification failed: ", b.name, " does not describe the same model as ", a.name);
}

ConvertReport convert_into(const ConvertOptions& opt, const fs::path& tmp,
                           const std::function<void(const std::string&)>& progress) {
  ConvertReport report;
  const ModelConfig config = checkpoint_config(opt.from);
  auto src = Checkpoint::open(opt.from);
  report.layout = describe_layout(*src, opt.from);
  ModelWeights::load(src, config);  // the source must be a complete, consistent model
  report.in_names = detect_naming_scheme(*src);
  report.out_names = opt.names.value_or(report.in_names);
  check_names_fit(config.arch, report.out_names);
  for (const std::string& n : src->names()) report.source_bytes += src->find(n)->nbytes;
  if (progress)
    progress(cat("read ", report.layout, " from ", opt.from, ": ", src->names().size(),
                 " tensors, ", naming_scheme_name(report.in_names), " names"));

  const std::vector<PlannedTensor> plan = convert_detail::plan_conversion(
      *src, config, report.in_names, report.out_names, opt.dtype, opt.int8_groups, report.dropped);
  write_shards(plan, tmp, opt.shard_bytes, report, progress);

  std::error_code ec;
  const fs::path src_config = fs::path(opt.from) / "config.json";
  report.config_generated = !fs::is_regular_file(src_config, ec);
  write_file(tmp / "config.json",
             converted_config_json(report.config_generated ? "" : read_file(src_config), config,
                                   report.out_names));
  report.copied.insert(report.copied.begin(), report.config_generated
                                                  ? "config.json (generated: " + config.name + ")"
                                                  : std::string("config.json"));
  copy_side_files(opt, config, tmp, report);

  // Load the output back and compare; then the output must load as the same model.
  auto dst = Checkpoint::open(tmp.string());
  convert_detail::verify_conversion(plan, *dst, report);
  const ModelConfig out_config = checkpoint_config(tmp.string());
  check_same_config(config, out_config);
  auto weights = ModelWeights::load(dst, out_config);
  report.model_summary =
      cat(arch_name(out_config.arch), ", ", out_config.n_layers, " layers, d_model ",
          out_config.d_model, ", ", out_config.n_experts, " experts top-", out_config.top_k,
          ", vocab ", out_config.vocab_size, " (", naming_scheme_name(weights->scheme), " names)");
  return report;
}

}  // namespace

ConvertReport convert_checkpoint(const ConvertOptions& opt,
                                 const std::function<void(const std::string&)>& progress) {
  std::error_code ec;
  if (opt.from.empty() || opt.to.empty()) fail("convert needs a source and a target directory");
  const fs::path to = fs::absolute(opt.to, ec).lexically_normal();
  const fs::path from = fs::absolute(opt.from, ec).lexically_normal();
  if (to == from) fail(opt.to, ": the target is the source directory");
  if (fs::exists(to, ec) && !(fs::is_directory(to, ec) && fs::is_empty(to, ec)) && !opt.overwrite)
    fail(opt.to, ": already exists and is not empty (remove it or pass --overwrite)");
  if (opt.shard_bytes == 0) fail("the shard size must be > 0");
  if (opt.int8_groups < 1) fail("--groups must be >= 1");
  const fs::path parent = to.parent_path();
  fs::create_directories(parent, ec);
  const fs::path tmp = parent / (to.filename().string() + ".partial-" + std::to_string(getpid()));
  fs::remove_all(tmp, ec);
  if (!fs::create_directory(tmp, ec))
    fail(tmp.string(), ": cannot create the temporary output directory: ", ec.message());

  ConvertReport report;
  try {
    report = convert_into(opt, tmp, progress);
    // Into place: an existing target is moved aside first and removed after the rename.
    const fs::path old = parent / (to.filename().string() + ".old-" + std::to_string(getpid()));
    const bool replace = fs::exists(to, ec);
    if (replace) fs::rename(to, old);
    fs::rename(tmp, to);
    if (replace) fs::remove_all(old, ec);
  } catch (const std::exception& e) {
    fs::remove_all(tmp, ec);
    if (dynamic_cast<const Error*>(&e)) throw;
    fail(opt.to, ": conversion failed: ", e.what());
  }
  return report;
}

}  // namespace moescope
