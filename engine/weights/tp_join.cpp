// Concatenation of rank slices along one dim, and the check for replicated per-rank tensors.
#include "engine/weights/tp_join.h"

#include <cstring>

#include "engine/core/error.h"

namespace moescope::weights_detail {

namespace {

bool ends_with(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() &&
         s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

}  // namespace

std::optional<int> tp_join_dim(const std::string& name) {
  if (ends_with(name, ".w1.weight") || ends_with(name, ".w3.weight")) return 0;
  if (ends_with(name, ".w2.weight")) return 1;
  return std::nullopt;
}

TensorView concat_rank_slices(const std::vector<const TensorView*>& slices, int dim,
                              std::vector<uint8_t>& out) {
  const TensorView& first = *slices[0];
  const size_t ndim = first.shape.size();
  if (ndim <= size_t(dim))
    fail("tensor '", first.name, "' in ", first.file, " has shape ", first.shape_string(),
         " but TP slices of it are joined along dim ", dim, ", so it needs at least ", dim + 1,
         " dims");
  std::vector<int64_t> shape = first.shape;
  shape[dim] = 0;
  for (size_t r = 0; r < slices.size(); ++r) {
    const TensorView& s = *slices[r];
    if (s.dtype != first.dtype)
      fail("tensor '", first.name, "': rank ", r, " slice (", s.file, ") is ",
           kernels::dtype_name(s.dtype), " but rank 0 slice (", first.file, ") is ",
           kernels::dtype_name(first.dtype), "; all TP slices must share one dtype");
    bool compatible = s.shape.size() == ndim;
    for (size_t d = 0; compatible && d < ndim; ++d)
      compatible = int(d) == dim || s.shape[d] == first.shape[d];
    if (!compatible)
      fail("tensor '", first.name, "': rank ", r, " slice ", s.shape_string(), " (", s.file,
           ") does not fit rank 0 slice ", first.shape_string(), " (", first.file,
           "); TP slices may differ only in dim ", dim);
    shape[dim] += s.shape[dim];
  }

  // Rows before dim are interleaved: for each outer index, every rank's chunk in rank order.
  int64_t outer = 1;
  for (int d = 0; d < dim; ++d) outer *= shape[d];
  size_t total = 0;
  for (const TensorView* s : slices) total += s->nbytes;
  out.resize(total);
  uint8_t* dst = out.data();
  for (int64_t o = 0; o < outer; ++o)
    for (const TensorView* s : slices) {
      // outer > 0 here, so nbytes divides evenly into outer chunks.
      size_t chunk = s->nbytes / size_t(outer);
      std::memcpy(dst, static_cast<const uint8_t*>(s->data) + size_t(o) * chunk, chunk);
      dst += chunk;
    }

  TensorView joined;
  joined.name = first.name;
  joined.dtype = first.dtype;
  joined.shape = std::move(shape);
  joined.data = out.data();
  joined.nbytes = total;
  joined.owned = true;
  return joined;
}

void check_replicated(const std::vector<const TensorView*>& slices) {
  const TensorView& first = *slices[0];
  for (size_t r = 1; r < slices.size(); ++r) {
    const TensorView& s = *slices[r];
    if (s.dtype != first.dtype || s.shape != first.shape || s.nbytes != first.nbytes ||
        (s.nbytes > 0 && std::memcmp(s.data, first.data, s.nbytes) != 0))
      fail("tensor '", first.name, "' is in every TP rank file but rank ", r, " (", s.file, ", ",
           kernels::dtype_name(s.dtype), " ", s.shape_string(), ") differs from rank 0 (",
           first.file, ", ", kernels::dtype_name(first.dtype), " ", first.shape_string(),
           "); only *.w1.weight / *.w3.weight (joined along dim 0) and *.w2.weight (dim 1) may "
           "differ between ranks");
  }
}

}  // namespace moescope::weights_detail
