#include "engine/convert/tensor_values.h"

#include <algorithm>
#include <cmath>

#include "engine/core/error.h"
#include "kernels/cpu/dtype.h"
#include "kernels/cpu/matmul.h"

namespace moescope::convert_detail {

using kernels::DType;

TensorValues::TensorValues(const TensorView& weight, const TensorView* scales)
    : w_(weight), scales_(scales) {
  if (!w_.shape.empty()) rows_ = w_.shape[0];
  cols_ = rows_ > 0 ? w_.numel() / rows_ : 0;
  if (!scales_) return;
  const TensorView& s = *scales_;
  if (w_.shape.size() != 2)
    fail(w_.file, ": tensor '", w_.name, "' has scales but is not a matrix (shape ",
         w_.shape_string(), ")");
  if (s.shape.empty() || (s.shape.size() == 1 && s.shape[0] == 1 && rows_ != 1))
    groups_ = 0;  // one value for the whole tensor
  else if (s.shape.size() == 1 && s.shape[0] == rows_)
    groups_ = 1;
  else if (s.shape.size() == 2 && s.shape[0] == rows_ && s.shape[1] > 0 && cols_ % s.shape[1] == 0)
    groups_ = s.shape[1];
  else
    fail(s.file, ": tensor '", s.name, "' has shape ", s.shape_string(), ", expected [", rows_,
         ", G] with G dividing ", cols_, " (scales of '", w_.name, "')");
  if (s.dtype != DType::F32 && s.dtype != DType::BF16 && s.dtype != DType::F16)
    fail(s.file, ": tensor '", s.name, "' has dtype ", kernels::dtype_name(s.dtype),
         ", expected F32, BF16 or F16 scales");
  if (groups_ == 0) {
    float v;
    kernels::convert_to_f32(s.dtype, s.data, &v, 1);
    groups_ = 1;
    s_.assign(size_t(rows_), v);
  } else {
    s_.resize(size_t(rows_ * groups_));
    kernels::convert_to_f32(s.dtype, s.data, s_.data(), s_.size());
  }
}

void TensorValues::rows_f32(int64_t r0, int64_t r1, float* out) const {
  if (!scales_ || w_.dtype == DType::F32 || w_.dtype == DType::BF16 || w_.dtype == DType::F16) {
    if (scales_)
      fail(w_.file, ": tensor '", w_.name, "' is ", kernels::dtype_name(w_.dtype),
           " with scales; only I8 and F8_E4M3 weights are scaled");
    const size_t el = kernels::dtype_size(w_.dtype);
    kernels::convert_to_f32(w_.dtype,
                            static_cast<const uint8_t*>(w_.data) + size_t(r0 * cols_) * el, out,
                            size_t((r1 - r0) * cols_));
    return;
  }
  kernels::WeightMatrix m;
  m.dtype = w_.dtype;
  m.data = w_.data;
  m.n = rows_;
  m.k = cols_;
  m.scales = s_.data();
  m.groups = groups_;
  kernels::dequantize_rows(m, r0, r1, out);
}

int64_t chunk_rows(int64_t cols) {
  return std::max<int64_t>(1, (int64_t(1) << 22) / std::max<int64_t>(cols, 1));
}

void quantise_rows(const float* w, int64_t n, int64_t k, int64_t groups, int8_t* q,
                   uint16_t* scales) {
  const int64_t per = k / groups;
  for (int64_t r = 0; r < n; ++r)
    for (int64_t g = 0; g < groups; ++g) {
      const float* x = w + r * k + g * per;
      float amax = 0;
      for (int64_t i = 0; i < per; ++i) amax = std::max(amax, std::fabs(x[i]));
      // Round the scale up to bf16 so that amax / s <= 127: nothing clips.
      uint16_t sb = kernels::f32_to_bf16(amax / 127.0f);
      if (kernels::bf16_to_f32(sb) < amax / 127.0f) ++sb;
      const float s = kernels::bf16_to_f32(sb);
      scales[r * groups + g] = sb;
      int8_t* out = q + r * k + g * per;
      for (int64_t i = 0; i < per; ++i)
        out[i] = s > 0 ? int8_t(std::clamp(std::nearbyint(x[i] / s), -127.0f, 127.0f)) : 0;
    }
}

}  // namespace moescope::convert_detail
