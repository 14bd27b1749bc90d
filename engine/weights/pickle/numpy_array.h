// Interpreting the value tree of a pickled numpy array (and Grok-1's QuantizedWeight8bit) without
// numpy: the dtype, the shape, and the data as a view into the pickle's buffer.
//
// Accepted forms (what numpy writes for C-ordered arrays of the dtypes checkpoints use):
//   _reconstruct(ndarray, (0,), b'b') + BUILD (1, shape, dtype, is_fortran, data)
//       (numpy.core / numpy._core spellings; data is bytes, or _codecs.encode(str, 'latin1')
//       under protocol 2)
//   _frombuffer(bytearray, dtype, shape, order)   (protocol 5, in band)
//   dtype(code, False, True) + BUILD (3, byteorder, None, None, None, ...) with code f4, f2, i1,
//       u1, i4, i8, or dtype(ml_dtypes.bfloat16, False, True) for bf16.
// Anything else (Fortran order with 2+ dims, big-endian or structured dtypes, object arrays, a
// size that does not match the data) throws moescope::Error naming the file and what was found.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "engine/weights/pickle/pickle_value.h"
#include "kernels/cpu/dtype.h"

namespace moescope::pickle {

struct NumpyArray {
  kernels::DType dtype = kernels::DType::F32;
  std::vector<int64_t> shape;
  const void* data = nullptr;
  size_t nbytes = 0;
  std::shared_ptr<const std::string> owned;  // set when the data had to be decoded (latin-1)

  int64_t numel() const;
  std::string shape_string() const;  // "[8, 64, 32]"
};

// True when v is a pickled numpy array in one of the accepted forms (not yet validated).
bool is_numpy_array(const Value& v);

// Decodes the array v of the pickle file `file`; what names the value in messages (e.g.
// "QuantizedWeight8bit.scales").
NumpyArray decode_numpy_array(const Value& v, const std::string& file, const std::string& what);

struct QuantizedWeight {
  NumpyArray weight;  // int8
  NumpyArray scales;  // bf16 (or another float type)
};

// True when v is a __main__.QuantizedWeight8bit object.
bool is_quantized_weight(const Value& v);

// Decodes a QuantizedWeight8bit: NEWOBJ with no arguments, BUILD with exactly the state
// {'weight': array, 'scales': array}; weight must be int8 and scales a float array.
QuantizedWeight decode_quantized_weight(const Value& v, const std::string& file);

}  // namespace moescope::pickle
