// Packing row-major weights into WeightLayout::Packed4 (weight_packing.h).
#include "kernels/cpu/weight_packing.h"

#include <cassert>
#include <cstring>
#include <vector>

namespace moescope::kernels {

bool can_pack(const WeightMatrix& w) {
  switch (w.dtype) {
    case DType::F32:
    case DType::BF16:
    case DType::F16:
    case DType::I8:
    case DType::F8_E4M3:
      break;
    default:
      return false;
  }
  const int64_t e = pack_chunk_elems(w.dtype);
  return w.layout == WeightLayout::RowMajor && w.data && w.n >= kPackRows && w.k > 0 &&
         w.groups >= 1 && w.k % w.groups == 0 && (w.k / w.groups) % e == 0;
}

WeightMatrix pack_weights(const WeightMatrix& w, void* dst) {
  assert(can_pack(w));
  const size_t es = dtype_size(w.dtype), chunk_bytes = size_t(kPackBytes);
  const size_t row_bytes = size_t(w.k) * es, block_bytes = kPackRows * row_bytes;
  const int64_t chunks = w.k / pack_chunk_elems(w.dtype), full = w.n / kPackRows;
  const auto* src = static_cast<const uint8_t*>(w.data);
  auto* out = static_cast<uint8_t*>(dst);
  // In place, a block is read from a copy of its rows before being overwritten.
  const bool in_place = dst == w.data;
  std::vector<uint8_t> block(in_place ? block_bytes : 0);
  for (int64_t b = 0; b < full; ++b) {
    const uint8_t* rows = src + size_t(b) * block_bytes;
    if (in_place) rows = static_cast<const uint8_t*>(std::memcpy(block.data(), rows, block_bytes));
    uint8_t* o = out + size_t(b) * block_bytes;
    for (int64_t c = 0; c < chunks; ++c)
      for (int64_t r = 0; r < kPackRows; ++r, o += chunk_bytes)
        std::memcpy(o, rows + size_t(r) * row_bytes + size_t(c) * chunk_bytes, chunk_bytes);
  }
  const size_t tail = size_t(full) * block_bytes;
  if (!in_place) std::memcpy(out + tail, src + tail, size_t(w.n) * row_bytes - tail);
  WeightMatrix p = w;
  p.data = dst;
  p.layout = WeightLayout::Packed4;
  return p;
}

}  // namespace moescope::kernels
