// Binding checkpoint tensors to the roles of the forward pass, with every check done up front.
#include "engine/weights/model_weights.h"

#include <set>

#include "engine/core/error.h"

namespace moescope {

using kernels::DType;

namespace {

std::string shape_str(const std::vector<int64_t>& s) {
  TensorView v;
  v.shape = s;
  return v.shape_string();
}

std::string file_name(const std::string& path) {
  auto slash = path.find_last_of('/');
  return slash == std::string::npos ? path : path.substr(slash + 1);
}

}  // namespace

// Finds, checks and converts tensors for one ModelWeights; remembers which names were used.
class WeightBinder {
 public:
  WeightBinder(ModelWeights& w, const Checkpoint& ckpt, TensorNames names)
      : w_(w), ckpt_(ckpt), names_(names) {}

  // A matrix [rows, cols] kept in its stored dtype (quantised ones with f32 scales).
  WeightMatrix matrix(const std::string& name, int64_t rows, int64_t cols,
                      const std::string& what) {
    const TensorView& t = require(name, {rows, cols}, what);
    WeightMatrix m;
    m.dtype = t.dtype;
    m.data = t.data;
    m.n = rows;
    m.k = cols;
    switch (t.dtype) {
      case DType::F32:
      case DType::BF16:
      case DType::F16:
        break;
      case DType::I8:
        bind_scales(m, name, true);
        break;
      case DType::F8_E4M3:
        bind_scales(m, name, false);
        break;
      default:
        fail(where(t), ": tensor '", name, "' has dtype ", kernels::dtype_name(t.dtype),
             ", expected F32, BF16, F16, I8 (with '", scale_name(name), "') or F8_E4M3 for the ",
             what);
    }
    (t.owned ? w_.checkpoint_owned_bytes : w_.mapped_bytes) += t.nbytes;
    w_.matrix_bytes += t.nbytes;
    w_.bf16_expanded_bytes += size_t(rows * cols) * 2;
    return m;
  }

  // A matrix converted to an owned f32 copy (the router runs in f32 whatever the storage).
  WeightMatrix f32_matrix(const std::string& name, int64_t rows, int64_t cols,
                          const std::string& what) {
    const float* data = f32_copy(require(name, {rows, cols}, what), name, what);
    WeightMatrix m;
    m.dtype = DType::F32;
    m.data = data;
    m.n = rows;
    m.k = cols;
    return m;
  }

  // A vector [n] converted to an owned f32 copy.
  const float* vector(const std::string& name, int64_t n, const std::string& what) {
    return f32_copy(require(name, {n}, what), name, what);
  }

  // Names the config does not use, ignoring ones known to be harmless.
  std::vector<std::string> unused(bool tied) const {
    std::vector<std::string> out;
    for (const std::string& n : ckpt_.names()) {
      if (used_.count(n)) continue;
      if (n.find("rotary_emb.inv_freq") != std::string::npos) continue;  // old HF buffers
      if (tied && n == names_.lm_head()) continue;  // some exporters write the tied copy too
      out.push_back(n);
    }
    return out;
  }

 private:
  std::string where(const TensorView& t) const { return file_name(t.file); }

  const TensorView& require(const std::string& name, const std::vector<int64_t>& shape,
                            const std::string& what) {
    const TensorView* t = ckpt_.find(name);
    if (!t)
      fail("checkpoint ", ckpt_.dir(), ": tensor '", name, "' is missing (expected the ", what,
           ", ", shape_str(shape), ", naming scheme ", naming_scheme_name(names_.scheme), ")");
    if (t->shape != shape)
      fail(where(*t), ": tensor '", name, "' has shape ", t->shape_string(), ", expected ",
           shape_str(shape), " for the ", what, " (from config.json)");
    used_.insert(name);
    return *t;
  }

  const float* f32_copy(const TensorView& t, const std::string& name, const std::string& what) {
    if (t.dtype != DType::F32 && t.dtype != DType::BF16 && t.dtype != DType::F16)
      fail(where(t), ": tensor '", name, "' has dtype ", kernels::dtype_name(t.dtype),
           ", expected F32, BF16 or F16 for the ", what);
    std::vector<float>& out = w_.owned_.emplace_back(size_t(t.numel()));
    kernels::convert_to_f32(t.dtype, t.data, out.data(), out.size());
    w_.owned_bytes += out.size() * sizeof(float);
    return out.data();
  }

  // Scales [N, G] or [N] (I8, F8), or a scalar [] (F8 per-tensor); G must divide K.
  void bind_scales(WeightMatrix& m, const std::string& name, bool required) {
    const std::string sname = scale_name(name);
    const TensorView* s = ckpt_.find(sname);
    if (!s) {
      if (required)
        fail("checkpoint ", ckpt_.dir(), ": tensor '", name, "' is I8 but its scales '", sname,
             "' are missing (expected [", m.n, ", G] with G dividing ", m.k, ")");
      return;
    }
    int64_t groups = 0;
    bool per_tensor = s->shape.empty() || (s->shape.size() == 1 && s->shape[0] == 1 && m.n != 1);
    if (per_tensor)
      groups = 1;
    else if (s->shape.size() == 1 && s->shape[0] == m.n)
      groups = 1;
    else if (s->shape.size() == 2 && s->shape[0] == m.n && s->shape[1] > 0 &&
             m.k % s->shape[1] == 0)
      groups = s->shape[1];
    else
      fail(where(*s), ": tensor '", sname, "' has shape ", s->shape_string(), ", expected [", m.n,
           ", G] with G dividing ", m.k, " (scales of '", name, "')");
    if (s->dtype != DType::F32 && s->dtype != DType::BF16 && s->dtype != DType::F16)
      fail(where(*s), ": tensor '", sname, "' has dtype ", kernels::dtype_name(s->dtype),
           ", expected F32, BF16 or F16 scales");
    used_.insert(sname);
    std::vector<float>& out = w_.owned_.emplace_back(size_t(m.n * groups));
    if (per_tensor) {
      float v;
      kernels::convert_to_f32(s->dtype, s->data, &v, 1);
      std::fill(out.begin(), out.end(), v);
    } else {
      kernels::convert_to_f32(s->dtype, s->data, out.data(), out.size());
    }
    w_.owned_bytes += out.size() * sizeof(float);
    m.scales = out.data();
    m.groups = groups;
  }

  ModelWeights& w_;
  const Checkpoint& ckpt_;
  TensorNames names_;
  std::set<std::string> used_;
};

std::shared_ptr<ModelWeights> ModelWeights::load(std::shared_ptr<const Checkpoint> ckpt,
                                                 const ModelConfig& c) {
  auto w = std::make_shared<ModelWeights>();
  w->ckpt_ = ckpt;
  w->scheme = detect_naming_scheme(*ckpt);
  if (w->scheme == NamingScheme::Mixtral && c.sandwich_norm)
    fail("checkpoint ", ckpt->dir(), ": tensors use Mixtral names (pre-norms only) but config ",
         c.name, " describes a ", arch_name(c.arch), " model with four norms per layer");
  TensorNames names{w->scheme};
  WeightBinder bind(*w, *ckpt, names);

  const int64_t D = c.d_model, V = c.vocab_size, qd = c.n_heads * c.head_dim,
                kvd = c.n_kv_heads * c.head_dim, F = c.expert_ffn, Fs = c.shared_ffn;
  w->embed = bind.matrix(names.embed(), V, D, "token embedding (vocab_size x hidden_size)");
  w->lm_head = c.tied_embeddings ? w->embed
                                 : bind.matrix(names.lm_head(), V, D,
                                               "output projection (vocab_size x hidden_size)");
  w->final_norm = bind.vector(names.final_norm(), D, "final norm (hidden_size)");

  w->layers.resize(size_t(c.n_layers));
  for (int64_t l = 0; l < c.n_layers; ++l) {
    LayerWeights& L = w->layers[size_t(l)];
    const std::string in_layer = cat(" of layer ", l);
    L.wq = bind.matrix(names.attn_q(l), qd, D, "query projection" + in_layer);
    L.wk = bind.matrix(names.attn_k(l), kvd, D, "key projection" + in_layer);
    L.wv = bind.matrix(names.attn_v(l), kvd, D, "value projection" + in_layer);
    L.wo = bind.matrix(names.attn_o(l), D, qd, "attention output projection" + in_layer);
    L.norm_pre_attn = bind.vector(names.norm_pre_attn(l), D, "pre-attention norm" + in_layer);
    L.norm_pre_moe = bind.vector(names.norm_pre_moe(l), D, "pre-MoE norm" + in_layer);
    if (c.sandwich_norm) {
      L.norm_post_attn = bind.vector(names.norm_post_attn(l), D, "post-attention norm" + in_layer);
      L.norm_post_moe = bind.vector(names.norm_post_moe(l), D, "post-MoE norm" + in_layer);
    }
    L.router = bind.f32_matrix(names.router(l), c.n_experts, D, "router" + in_layer);
    L.experts.resize(size_t(c.n_experts));
    for (int64_t e = 0; e < c.n_experts; ++e) {
      const std::string of = cat(" of expert ", e, in_layer);
      ExpertWeights& X = L.experts[size_t(e)];
      X.gate = bind.matrix(names.expert_gate(l, e), F, D, "gate projection" + of);
      X.up = bind.matrix(names.expert_up(l, e), F, D, "up projection" + of);
      X.down = bind.matrix(names.expert_down(l, e), D, F, "down projection" + of);
    }
    if (Fs > 0) {
      L.shared_gate =
          bind.matrix(names.shared_gate(l), Fs, D, "shared MLP gate projection" + in_layer);
      L.shared_up = bind.matrix(names.shared_up(l), Fs, D, "shared MLP up projection" + in_layer);
      L.shared_down =
          bind.matrix(names.shared_down(l), D, Fs, "shared MLP down projection" + in_layer);
    }
  }

  std::vector<std::string> extra = bind.unused(c.tied_embeddings);
  if (!extra.empty())
    fail("checkpoint ", ckpt->dir(), ": ", extra.size(), " tensor(s) are not used by config ",
         c.name, " (first: '", extra.front(),
         "'); the config and the weights describe different models");
  return w;
}

}  // namespace moescope
