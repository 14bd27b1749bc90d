// Loading a ckpt-0 directory: every file parsed by the restricted pickle reader, checked against
// the config (shape and dtype of every parameter, file by file, in the JAX layout the files use),
// and bound to hpcai-tech tensor names in the [out, in] layout the kernels read.
//
// The embedding and the norms stay views into the mapped files. Matrices are transposed into
// owned buffers in their stored dtype (int8 stays 1 byte per weight; the bf16 group scales
// [G, out] become "<name>_scale" [out, G]); the experts of a stacked [E, in, out] file become E
// tensors. A file whose data was all transposed is unmapped right away.
#include <cstring>
#include <filesystem>
#include <map>
#include <optional>

#include "engine/core/error.h"
#include "engine/weights/checkpoint_config.h"
#include "engine/weights/checkpoint_parts.h"
#include "engine/weights/jax_checkpoint.h"
#include "engine/weights/mapped_file.h"
#include "engine/weights/pickle/numpy_array.h"
#include "engine/weights/pickle/pickle_reader.h"
#include "engine/weights/tensor_names.h"
#include "engine/weights/transpose.h"

namespace moescope::weights_detail {

namespace {

namespace fs = std::filesystem;
using kernels::DType;
using pickle::NumpyArray;

std::string dims(const std::vector<int64_t>& s) {
  TensorView v;
  v.shape = s;
  return v.shape_string();
}

bool is_float(DType t) {
  return t == DType::F32 || t == DType::BF16 || t == DType::F16;
}

// The ckpt-0 files in dir: index -> name; refuses other hosts' shards.
std::map<size_t, std::string> list_tensor_files(const std::string& dir) {
  std::map<size_t, std::string> files;
  std::error_code ec;
  for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    std::string name = it->path().filename().string();
    // tensor{i:05d}_{h:03d}
    if (name.size() != 15 || name.compare(0, 6, "tensor") != 0 || name[11] != '_' ||
        name.find_first_not_of("0123456789", 6) != 11 ||
        name.find_first_not_of("0123456789", 12) != std::string::npos)
      continue;
    if (name.compare(12, 3, "000") != 0)
      fail(dir, ": file ", name, " is a shard of host ", name.substr(12),
           "; only single-host ckpt-0 directories (files tensorNNNNN_000) are supported");
    files[std::stoul(name.substr(6, 5))] = name;
  }
  if (ec) fail("checkpoint directory '", dir, "' cannot be listed: ", ec.message());
  return files;
}

class JaxLoader {
 public:
  JaxLoader(const std::string& dir, const ModelConfig& c) : dir_(dir), c_(c) {}

  CheckpointParts load() {
    if (c_.arch != Arch::Grok1)
      fail(dir_, ": a ckpt-0 directory holds a Grok-1 model, but config ", c_.name, " describes a ",
           arch_name(c_.arch), " model");
    const std::vector<JaxParam> params = jax_param_order(c_.n_layers);
    std::map<size_t, std::string> files = list_tensor_files(dir_);
    const std::string layout =
        cat("a ckpt-0 of ", c_.n_layers, " layers (", c_.name, ") has ", params.size(), " files ",
            jax_file_name(0), "..", jax_file_name(params.size() - 1));
    for (size_t i = 0; i < params.size(); ++i)
      if (!files.count(i))
        fail(dir_, ": file ", jax_file_name(i), " (", params[i].path(), ") is missing; ", layout);
    if (files.rbegin()->first >= params.size())
      fail(dir_, ": has file ", files.rbegin()->second, ", but ", layout,
           " (config and checkpoint disagree on the number of layers?)");
    for (size_t i = 0; i < params.size(); ++i) load_file(fs::path(dir_) / files[i], params[i]);
    return std::move(parts_);
  }

 private:
  void load_file(const fs::path& path, const JaxParam& p) {
    const std::string file = path.string();
    auto map = MappedFile::open(file, "Grok-1 ckpt-0 tensor file");
    auto doc = pickle::read_pickle(map->data(), map->size(), file, pickle::numpy_policy());
    parts_.files.push_back(file);
    file_ = file;
    param_ = &p;
    const pickle::Value& root = *doc->root;
    const int64_t D = c_.d_model, V = c_.vocab_size, E = c_.n_experts, F = c_.expert_ffn,
                  qd = c_.n_heads * c_.head_dim, kvd = c_.n_kv_heads * c_.head_dim;
    const TensorNames names{NamingScheme::HpcaiGrok1};
    const int64_t l = p.layer;
    switch (p.role) {
      case JaxRole::Embed:
        return vector(root, map, {V, D}, names.embed(),
                      "token embedding [vocab_size, hidden_size]");
      case JaxRole::FinalNorm:
        return vector(root, map, {D}, names.final_norm(), "final norm [hidden_size]");
      case JaxRole::NormPreAttn:
        return vector(root, map, {D}, names.norm_pre_attn(l), "pre-attention norm [hidden_size]");
      case JaxRole::NormPostAttn:
        return vector(root, map, {D}, names.norm_post_attn(l), "post-attention norm [hidden_size]");
      case JaxRole::NormPreMoe:
        return vector(root, map, {D}, names.norm_pre_moe(l), "pre-MoE norm [hidden_size]");
      case JaxRole::NormPostMoe:
        return vector(root, map, {D}, names.norm_post_moe(l), "post-MoE norm [hidden_size]");
      case JaxRole::Router:
        return matrix(root, 0, D, E, {names.router(l)}, "router [hidden_size, num_experts]");
      case JaxRole::AttnQuery:
        return matrix(root, 0, D, qd, {names.attn_q(l)},
                      "query projection [hidden_size, heads*head_dim]");
      case JaxRole::AttnKey:
        return matrix(root, 0, D, kvd, {names.attn_k(l)},
                      "key projection [hidden_size, kv_heads*head_dim]");
      case JaxRole::AttnValue:
        return matrix(root, 0, D, kvd, {names.attn_v(l)},
                      "value projection [hidden_size, kv_heads*head_dim]");
      case JaxRole::AttnOut:
        return matrix(root, 0, qd, D, {names.attn_o(l)},
                      "attention output projection [heads*head_dim, hidden_size]");
      case JaxRole::MoeGate:
      case JaxRole::MoeUp:
      case JaxRole::MoeDown: {
        std::vector<std::string> out;
        for (int64_t e = 0; e < E; ++e)
          out.push_back(p.role == JaxRole::MoeGate ? names.expert_gate(l, e)
                        : p.role == JaxRole::MoeUp ? names.expert_up(l, e)
                                                   : names.expert_down(l, e));
        if (p.role == JaxRole::MoeDown)
          return matrix(root, E, F, D, out,
                        "expert down projections [num_experts, intermediate_size, hidden_size]");
        return matrix(root, E, D, F, out,
                      cat("expert ", p.role == JaxRole::MoeGate ? "gate" : "up",
                          " projections [num_experts, hidden_size, intermediate_size]"));
      }
    }
  }

  template <typename... Args>
  [[noreturn]] void bad(Args&&... args) const {
    fail(file_, " (", param_->path(), "): ", std::forward<Args>(args)...);
  }

  std::shared_ptr<uint8_t[]> buffer(size_t n) {
    std::shared_ptr<uint8_t[]> b(new uint8_t[n > 0 ? n : 1]);
    parts_.keep_alive.push_back(b);
    parts_.owned_bytes += n;
    return b;
  }

  TensorView view(const std::string& name, DType t, std::vector<int64_t> shape, const void* data,
                  size_t nbytes, bool owned) const {
    TensorView v;
    v.name = name;
    v.dtype = t;
    v.shape = std::move(shape);
    v.data = data;
    v.nbytes = nbytes;
    v.file = file_;
    v.owned = owned;
    return v;
  }

  // A float array used as it is stored: a view into the mapping (re-aligned into an owned copy
  // when the pickle put it at an offset its element type cannot be read from).
  void vector(const pickle::Value& root, const std::shared_ptr<MappedFile>& map,
              const std::vector<int64_t>& shape, const std::string& name, const char* what) {
    if (!pickle::is_numpy_array(root))
      bad("holds a ", root.describe(), ", expected a numpy array: the ", what, " ", dims(shape));
    NumpyArray a = pickle::decode_numpy_array(root, file_, param_->path());
    if (!is_float(a.dtype) || a.shape != shape)
      bad("array is ", kernels::dtype_name(a.dtype), " ", a.shape_string(), ", expected f32 (or ",
          "bf16/f16) ", dims(shape), " for the ", what, " (", c_.name, ")");
    const void* data = a.data;
    bool owned = false;
    if (a.owned) {
      parts_.keep_alive.push_back(a.owned);
    } else if (reinterpret_cast<uintptr_t>(a.data) % kernels::dtype_size(a.dtype) != 0) {
      auto b = buffer(a.nbytes);
      std::memcpy(b.get(), a.data, a.nbytes);
      data = b.get();
      owned = true;
    }
    if (!owned && !a.owned) parts_.keep_alive.push_back(map);
    parts_.add(view(name, a.dtype, a.shape, data, a.nbytes, owned || bool(a.owned)));
  }

  // A JAX [in, out] matrix (stacked [E, in, out] when experts > 0), int8 with group scales or a
  // float array, bound as out_names[e] in [out, in] layout.
  void matrix(const pickle::Value& root, int64_t experts, int64_t in, int64_t out,
              const std::vector<std::string>& out_names, const std::string& what) {
    std::vector<int64_t> want =
        experts ? std::vector<int64_t>{experts, in, out} : std::vector<int64_t>{in, out};
    const int64_t n_mats = experts ? experts : 1;
    NumpyArray w;
    std::optional<NumpyArray> scales;
    if (pickle::is_quantized_weight(root)) {
      pickle::QuantizedWeight q = pickle::decode_quantized_weight(root, file_);
      w = q.weight;
      scales = q.scales;
    } else if (pickle::is_numpy_array(root)) {
      w = pickle::decode_numpy_array(root, file_, param_->path());
      if (!is_float(w.dtype))
        bad("array is ", kernels::dtype_name(w.dtype), ", expected a QuantizedWeight8bit or a ",
            "float array for the ", what);
    } else {
      bad("holds a ", root.describe(), ", expected a QuantizedWeight8bit or a numpy array: the ",
          what, " ", dims(want));
    }
    if (w.shape != want)
      bad("weight is ", kernels::dtype_name(w.dtype), " ", w.shape_string(), ", expected ",
          dims(want), " for the ", what, " (", c_.name, ")");
    int64_t groups = 0;
    if (scales) {
      const std::vector<int64_t>& s = scales->shape;
      const size_t n = s.size();
      bool ok = n == want.size() && s[n - 1] == out && s[n - 2] > 0 && in % s[n - 2] == 0 &&
                (!experts || s[0] == experts);
      if (!ok)
        bad("scales are ", scales->shape_string(), ", expected ",
            experts ? cat("[", experts, ", G, ", out, "]") : cat("[G, ", out, "]"),
            " with G dividing ", in, " (int8 weight ", w.shape_string(), ", the ", what, ")");
      groups = s[n - 2];
    }

    // One owned buffer for all matrices of the file, one for all scales.
    const size_t el = kernels::dtype_size(w.dtype);
    const size_t mat_bytes = size_t(in * out) * el;
    auto wbuf = buffer(mat_bytes * size_t(n_mats));
    std::shared_ptr<uint8_t[]> sbuf;
    size_t sc_bytes = 0, sel = 0;
    if (scales) {
      sel = kernels::dtype_size(scales->dtype);
      sc_bytes = size_t(groups * out) * sel;
      sbuf = buffer(sc_bytes * size_t(n_mats));
    }
    for (int64_t e = 0; e < n_mats; ++e) {
      uint8_t* dst = wbuf.get() + size_t(e) * mat_bytes;
      transpose(static_cast<const uint8_t*>(w.data) + size_t(e) * mat_bytes, dst, in, out, el);
      parts_.add(view(out_names[size_t(e)], w.dtype, {out, in}, dst, mat_bytes, true));
      if (scales) {
        uint8_t* sdst = sbuf.get() + size_t(e) * sc_bytes;
        transpose(static_cast<const uint8_t*>(scales->data) + size_t(e) * sc_bytes, sdst, groups,
                  out, sel);
        parts_.add(view(scale_name(out_names[size_t(e)]), scales->dtype, {out, groups}, sdst,
                        sc_bytes, true));
      }
    }
  }

  std::string dir_;
  const ModelConfig& c_;
  CheckpointParts parts_;
  std::string file_;
  const JaxParam* param_ = nullptr;
};

}  // namespace

CheckpointParts load_jax_layout(const std::string& dir) {
  const ModelConfig c = checkpoint_config(dir);
  return JaxLoader(dir, c).load();
}

}  // namespace moescope::weights_detail
