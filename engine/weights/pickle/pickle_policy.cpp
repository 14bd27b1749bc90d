#include "engine/weights/pickle/pickle_policy.h"

namespace moescope::pickle {

const AllowedGlobal* PicklePolicy::find(std::string_view qualified) const {
  for (const AllowedGlobal& g : globals)
    if (g.qualified == qualified) return &g;
  return nullptr;
}

std::string PicklePolicy::allowed_list() const {
  std::string out;
  for (const AllowedGlobal& g : globals) out += (out.empty() ? "" : ", ") + g.qualified;
  return out;
}

const PicklePolicy& numpy_policy() {
  static const PicklePolicy p{
      "Grok-1 ckpt-0 tensor pickle",
      {
          // ndarray.__reduce__: _reconstruct(ndarray, (0,), b'b') + BUILD (1, shape, dtype,
          // fortran, data). numpy < 2 pickles numpy.core, numpy >= 2 numpy._core.
          {"numpy.core.multiarray._reconstruct", Use::Callable},
          {"numpy._core.multiarray._reconstruct", Use::Callable},
          {"numpy.ndarray", Use::Argument},
          // dtype(code or scalar type, False, True) + BUILD (3, byteorder, ...).
          {"numpy.dtype", Use::Callable},
          // The scalar type a pickled bfloat16 dtype names (ml_dtypes, which JAX uses).
          {"ml_dtypes.bfloat16", Use::Argument},
          // Protocol 5 in-band arrays: _frombuffer(bytearray, dtype, shape, order).
          {"numpy.core.numeric._frombuffer", Use::Callable},
          {"numpy._core.numeric._frombuffer", Use::Callable},
          // Protocol 2 has no bytes opcode: array data is _codecs.encode(str, 'latin1').
          {"_codecs.encode", Use::Callable},
          // The release's dataclass, found in __main__ by its loader: NEWOBJ + BUILD
          // {'weight': int8 array, 'scales': bf16 array}.
          {"__main__.QuantizedWeight8bit", Use::Class},
      },
      false};
  return p;
}

const PicklePolicy& torch_policy() {
  static const PicklePolicy p{
      "torch .bin data.pkl",
      {
          {"collections.OrderedDict", Use::EmptyDict},
          // _rebuild_tensor_v2(storage, offset, size, stride, requires_grad, hooks[, metadata]).
          {"torch._utils._rebuild_tensor_v2", Use::Callable},
          // Storage types named inside persistent ids ('storage', type, key, location, numel).
          {"torch.FloatStorage", Use::Argument},
          {"torch.BFloat16Storage", Use::Argument},
          {"torch.HalfStorage", Use::Argument},
          {"torch.CharStorage", Use::Argument},
          {"torch.ByteStorage", Use::Argument},
          {"torch.IntStorage", Use::Argument},
          {"torch.LongStorage", Use::Argument},
      },
      true};
  return p;
}

}  // namespace moescope::pickle
