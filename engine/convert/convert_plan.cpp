// Planning a conversion: roles -> source tensors -> output names and dtypes.
#include <set>

#include "engine/convert/convert_plan.h"
#include "engine/core/error.h"

namespace moescope::convert_detail {

using kernels::DType;

namespace {

bool is_float(DType t) {
  return t == DType::F32 || t == DType::BF16 || t == DType::F16;
}

}  // namespace

uint64_t PlannedTensor::out_bytes() const {
  uint64_t n = uint64_t(src->numel()) * kernels::dtype_size(out_dtype);
  if (out_scaled)
    n += src_scale && copies_source() ? src_scale->nbytes
                                      : uint64_t(src->shape[0] * out_groups) * 2;  // bf16
  return n;
}

bool PlannedTensor::copies_source() const {
  return out_dtype == src->dtype && out_scaled == (src_scale != nullptr);
}

std::vector<PlannedTensor> plan_conversion(const Checkpoint& src, const ModelConfig& c,
                                           NamingScheme in, NamingScheme out, ConvertDtype dtype,
                                           int64_t int8_groups, std::vector<std::string>& dropped) {
  const TensorNames in_names{in}, out_names{out};
  std::vector<PlannedTensor> plan;
  std::set<std::string> used;
  for (const WeightRole& role : weight_roles(c)) {
    const std::string src_name = role.name(in_names);
    if (src_name.empty()) continue;
    PlannedTensor t;
    t.role = role;
    t.out_name = role.name(out_names);
    if (t.out_name.empty())
      fail("naming scheme ", naming_scheme_name(out), " has no name for '", src_name, "'");
    t.src = src.find(src_name);
    if (!t.src) fail("checkpoint ", src.dir(), ": tensor '", src_name, "' is missing");
    used.insert(src_name);
    t.src_scale = src.find(scale_name(src_name));
    if (t.src_scale) used.insert(t.src_scale->name);
    if (t.src_scale && t.src->shape.size() == 2)
      t.out_groups = t.src_scale->shape.size() == 2 ? t.src_scale->shape[1] : 1;

    switch (dtype) {
      case ConvertDtype::Keep:
        t.out_dtype = t.src->dtype;
        t.out_scaled = t.src_scale != nullptr;
        break;
      case ConvertDtype::Bf16:
        if (!is_float(t.src->dtype) && !t.src_scale && t.src->dtype != DType::F8_E4M3)
          fail(t.src->file, ": tensor '", src_name, "' is ", kernels::dtype_name(t.src->dtype),
               " without scales; cannot convert it to bf16");
        t.out_dtype = DType::BF16;
        break;
      case ConvertDtype::Int8:
        if (role.is_projection() && is_float(t.src->dtype)) {
          const int64_t k = t.src->shape.size() == 2 ? t.src->shape[1] : 0;
          if (k % int8_groups != 0)
            fail("--groups ", int8_groups, " does not divide the ", k, " input features of '",
                 src_name, "'");
          t.out_dtype = DType::I8;
          t.out_scaled = true;
          t.out_groups = int8_groups;
        } else {
          t.out_dtype = t.src->dtype;
          t.out_scaled = t.src_scale != nullptr;
        }
        break;
    }
    plan.push_back(t);
  }
  for (const std::string& name : src.names()) {
    if (used.count(name)) continue;
    const bool tied_copy = c.tied_embeddings && name == in_names.lm_head();
    if (tied_copy || name.find("rotary_emb.inv_freq") != std::string::npos) {
      dropped.push_back(name);
      continue;
    }
    fail("checkpoint ", src.dir(), ": tensor '", name, "' is not used by config ", c.name, " (",
         naming_scheme_name(in), " names); refusing to drop it silently");
  }
  return plan;
}

}  // namespace moescope::convert_detail
