// Verifying a written conversion against its source, tensor by tensor: bytes identical when the
// dtype was kept, values within one bf16 rounding (|out - src| <= 2^-8 |src|) for bf16 output,
// within half a quantisation step (|out - src| <= s / 2) for int8 output. Nothing more, nothing
// less: a tensor the plan does not name is an error too.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <set>

#include "engine/convert/convert_plan.h"
#include "engine/convert/tensor_values.h"
#include "engine/core/error.h"

namespace moescope::convert_detail {

using kernels::DType;

namespace {

template <typename... Args>
[[noreturn]] void mismatch(const PlannedTensor& t, const TensorView& out, Args&&... args) {
  fail("verification failed: tensor '", out.name, "' in ", out.file, " (from '", t.src->name,
       "' in ", t.src->file, "): ", std::forward<Args>(args)...);
}

// Compares values; returns max |out - src| / max |src| over the tensor.
double compare_values(const PlannedTensor& t, const TensorView& out, const TensorView* out_scale) {
  const TensorValues src(*t.src, t.src_scale), dst(out, out_scale);
  std::vector<float> scales;  // [rows, G] of an int8 output
  int64_t groups = 1;
  if (t.out_dtype == DType::I8) {
    groups = out_scale->shape.size() == 2 ? out_scale->shape[1] : 1;
    scales.resize(size_t(out_scale->numel()));
    kernels::convert_to_f32(out_scale->dtype, out_scale->data, scales.data(), scales.size());
  }
  const int64_t rows = src.rows(), cols = src.cols(), step = chunk_rows(cols);
  std::vector<float> a(size_t(step * cols)), b(size_t(step * cols));
  double max_err = 0, max_abs = 0;
  for (int64_t r0 = 0; r0 < rows; r0 += step) {
    const int64_t r1 = std::min(rows, r0 + step);
    src.rows_f32(r0, r1, a.data());
    dst.rows_f32(r0, r1, b.data());
    for (int64_t i = 0; i < (r1 - r0) * cols; ++i) {
      const float s = a[size_t(i)], o = b[size_t(i)];
      if (std::isnan(s) && std::isnan(o)) continue;
      const double err = std::fabs(double(o) - double(s));
      double bound;
      if (t.out_dtype == DType::I8) {
        const int64_t r = r0 + i / cols, c = i % cols;
        bound = 0.5 * double(scales[size_t(r * groups + c / (cols / groups))]) * (1 + 1e-6);
      } else {
        bound = std::ldexp(std::fabs(double(s)), -8) + 1e-37;  // one bf16 rounding
      }
      if (!(err <= bound))
        mismatch(t, out, "element [", r0 + i / cols, ", ", i % cols, "] is ", o, ", source value ",
                 s, ", allowed error ", bound, " (", kernels::dtype_name(t.out_dtype), ")");
      max_err = std::max(max_err, err);
      max_abs = std::max(max_abs, std::fabs(double(s)));
    }
  }
  return max_abs > 0 ? max_err / max_abs : max_err;
}

}  // namespace

void verify_conversion(const std::vector<PlannedTensor>& plan, const Checkpoint& dst,
                       ConvertReport& report) {
  std::set<std::string> expected;
  for (const PlannedTensor& t : plan) {
    const TensorView* out = dst.find(t.out_name);
    if (!out) fail("verification failed: tensor '", t.out_name, "' is missing from the output");
    expected.insert(t.out_name);
    if (out->dtype != t.out_dtype || out->shape != t.src->shape)
      mismatch(t, *out, "is ", kernels::dtype_name(out->dtype), " ", out->shape_string(),
               ", expected ", kernels::dtype_name(t.out_dtype), " ", t.src->shape_string());
    const TensorView* out_scale = dst.find(scale_name(t.out_name));
    if (bool(out_scale) != t.out_scaled)
      mismatch(t, *out, t.out_scaled ? "its scales are missing" : "has unexpected scales");
    if (out_scale) expected.insert(out_scale->name);

    if (t.copies_source()) {
      bool same =
          out->nbytes == t.src->nbytes && std::memcmp(out->data, t.src->data, out->nbytes) == 0;
      if (same && out_scale)
        same = out_scale->dtype == t.src_scale->dtype && out_scale->shape == t.src_scale->shape &&
               std::memcmp(out_scale->data, t.src_scale->data, out_scale->nbytes) == 0;
      if (!same) mismatch(t, *out, "bytes differ from the source (a lossless copy was expected)");
      ++report.identical;
      continue;
    }
    report.max_rel_error = std::max(report.max_rel_error, compare_values(t, *out, out_scale));
    ++(t.out_dtype == DType::I8 ? report.within_step : report.within_rounding);
  }
  for (const std::string& name : dst.names())
    if (!expected.count(name))
      fail("verification failed: the output holds tensor '", name, "', which the conversion did ",
           "not plan");
}

}  // namespace moescope::convert_detail
