#include "engine/weights/pickle/numpy_array.h"

#include <sstream>

#include "engine/core/error.h"

namespace moescope::pickle {

using kernels::DType;

int64_t NumpyArray::numel() const {
  int64_t n = 1;
  for (int64_t d : shape) n *= d;
  return n;
}

std::string NumpyArray::shape_string() const {
  std::ostringstream out;
  out << "[";
  for (size_t i = 0; i < shape.size(); ++i) out << (i ? ", " : "") << shape[i];
  out << "]";
  return out.str();
}

namespace {

bool is_reconstruct(const Value& v) {
  return v.is(Kind::Call) && (v.is_call_of("numpy.core.multiarray._reconstruct") ||
                              v.is_call_of("numpy._core.multiarray._reconstruct"));
}

bool is_frombuffer(const Value& v) {
  return v.is(Kind::Call) && (v.is_call_of("numpy.core.numeric._frombuffer") ||
                              v.is_call_of("numpy._core.numeric._frombuffer"));
}

// Errors about the value v of the file: "FILE: byte offset N: WHAT: ...".
template <typename... Args>
[[noreturn]] void bad(const std::string& file, const Value& v, const std::string& what,
                      Args&&... args) {
  fail(file, ": byte offset ", v.offset, ": ", what, ": ", std::forward<Args>(args)...);
}

const Value& item(const std::string& file, const Value& tuple, size_t i, const std::string& what) {
  if (!tuple.is(Kind::Tuple) || tuple.items.size() <= i)
    bad(file, tuple, what, "expected a tuple with at least ", i + 1, " items, got ",
        tuple.describe());
  return *tuple.items[i];
}

DType decode_dtype(const Value& v, const std::string& file, const std::string& what) {
  if (!v.is(Kind::Call) || !v.is_call_of("numpy.dtype"))
    bad(file, v, what, "expected a numpy.dtype, got ", v.describe());
  const Value& code = item(file, *v.args, 0, what + " dtype");
  DType t;
  std::string label;
  if (code.is_global("ml_dtypes.bfloat16")) {
    t = DType::BF16;
    label = "bfloat16";
  } else if (code.is(Kind::Str)) {
    label = code.text;
    if (code.text == "f4")
      t = DType::F32;
    else if (code.text == "f2")
      t = DType::F16;
    else if (code.text == "i1")
      t = DType::I8;
    else if (code.text == "u1")
      t = DType::U8;
    else if (code.text == "i4")
      t = DType::I32;
    else if (code.text == "i8")
      t = DType::I64;
    else
      bad(file, code, what, "numpy dtype '", code.text,
          "' is not supported (expected f4, f2, i1, u1, i4, i8 or ml_dtypes.bfloat16)");
  } else {
    bad(file, code, what, "numpy dtype must be a type code string or ml_dtypes.bfloat16, got ",
        code.describe());
  }
  if (v.state) {
    // (version, byteorder, subarray, names, fields, elsize, alignment, flags[, metadata])
    const Value& order = item(file, *v.state, 1, what + " dtype state");
    if (!order.is(Kind::Str) || (order.text != "<" && order.text != "|" && order.text != "="))
      bad(file, order, what, "dtype ", label, " has byte order ", order.describe(),
          ", expected little-endian ('<', '|' or '=')");
    for (size_t i = 2; i < 5 && i < v.state->items.size(); ++i)
      if (!v.state->items[i]->is(Kind::None))
        bad(file, *v.state->items[i], what, "structured or sub-array dtypes are not supported");
  }
  return t;
}

std::vector<int64_t> decode_shape(const Value& v, const std::string& file,
                                  const std::string& what) {
  if (!v.is(Kind::Tuple)) bad(file, v, what, "shape must be a tuple, got ", v.describe());
  std::vector<int64_t> shape;
  for (const Value* d : v.items) {
    if (!d->is(Kind::Int) || d->integer < 0)
      bad(file, *d, what, "shape entries must be integers >= 0, got ", d->describe());
    shape.push_back(d->integer);
  }
  return shape;
}

// The array data: bytes, or (protocol 2) _codecs.encode(str, 'latin1').
void decode_data(const Value& v, const std::string& file, const std::string& what, NumpyArray& a) {
  if (v.is(Kind::Bytes)) {
    a.data = v.bytes;
    a.nbytes = v.nbytes;
    return;
  }
  if (v.is(Kind::Call) && v.is_call_of("_codecs.encode")) {
    const Value& s = item(file, *v.args, 0, what);
    const Value& enc = item(file, *v.args, 1, what);
    if (!s.is(Kind::Str) || !enc.is(Kind::Str) || enc.text != "latin1")
      bad(file, v, what, "_codecs.encode is only accepted as encode(str, 'latin1')");
    // The str holds one code point per byte, U+0000..U+00FF, written as UTF-8.
    auto out = std::make_shared<std::string>();
    out->reserve(s.text.size());
    const std::string& t = s.text;
    for (size_t i = 0; i < t.size();) {
      unsigned char c = static_cast<unsigned char>(t[i]);
      if (c < 0x80) {
        out->push_back(char(c));
        i += 1;
      } else if ((c == 0xC2 || c == 0xC3) && i + 1 < t.size()) {
        out->push_back(char(((c & 0x03) << 6) | (static_cast<unsigned char>(t[i + 1]) & 0x3F)));
        i += 2;
      } else {
        bad(file, s, what, "latin-1 array data holds a character above U+00FF");
      }
    }
    a.owned = out;
    a.data = out->data();
    a.nbytes = out->size();
    return;
  }
  bad(file, v, what, "array data must be bytes, got ", v.describe(),
      " (object arrays are not supported)");
}

void check_size(const Value& v, const std::string& file, const std::string& what,
                const NumpyArray& a) {
  uint64_t numel = 1;
  bool overflow = false;
  for (int64_t d : a.shape) overflow |= __builtin_mul_overflow(numel, uint64_t(d), &numel);
  uint64_t want = 0;
  overflow |= __builtin_mul_overflow(numel, uint64_t(kernels::dtype_size(a.dtype)), &want);
  if (overflow || want != a.nbytes)
    bad(file, v, what, "array data is ", a.nbytes, " bytes but shape ", a.shape_string(), " of ",
        kernels::dtype_name(a.dtype), " needs ", overflow ? std::string("more") : cat(want));
}

}  // namespace

bool is_numpy_array(const Value& v) {
  return is_reconstruct(v) || is_frombuffer(v);
}

NumpyArray decode_numpy_array(const Value& v, const std::string& file, const std::string& what) {
  NumpyArray a;
  if (is_reconstruct(v)) {
    const Value& cls = item(file, *v.args, 0, what);
    if (!cls.is_global("numpy.ndarray"))
      bad(file, cls, what, "_reconstruct must build a numpy.ndarray, got ", cls.describe());
    if (!v.state) bad(file, v, what, "numpy array has no state (BUILD missing)");
    const Value& st = *v.state;
    const Value& version = item(file, st, 0, what + " state");
    if (!version.is(Kind::Int) || version.integer != 1 || st.items.size() != 5)
      bad(file, st, what, "expected the array state (1, shape, dtype, is_fortran, data), got ",
          st.describe());
    a.shape = decode_shape(*st.items[1], file, what);
    a.dtype = decode_dtype(*st.items[2], file, what);
    const Value& fortran = *st.items[3];
    if (!fortran.is(Kind::Bool)) bad(file, fortran, what, "is_fortran must be a bool");
    if (fortran.boolean && a.shape.size() > 1)
      bad(file, fortran, what, "array ", a.shape_string(),
          " is stored in Fortran order; only C order is supported");
    decode_data(*st.items[4], file, what, a);
  } else if (is_frombuffer(v)) {
    if (v.state) bad(file, v, what, "_frombuffer result must not receive a state");
    const Value& buf = item(file, *v.args, 0, what);
    const Value& order = item(file, *v.args, 3, what);
    a.dtype = decode_dtype(item(file, *v.args, 1, what), file, what);
    a.shape = decode_shape(item(file, *v.args, 2, what), file, what);
    if (!order.is(Kind::Str) || (order.text != "C" && !(order.text == "F" && a.shape.size() <= 1)))
      bad(file, order, what, "array order ", order.describe(), " is not supported (expected 'C')");
    decode_data(buf, file, what, a);
  } else {
    bad(file, v, what, "expected a numpy array, got ", v.describe());
  }
  check_size(v, file, what, a);
  return a;
}

bool is_quantized_weight(const Value& v) {
  return v.is(Kind::Object) && v.is_call_of("__main__.QuantizedWeight8bit");
}

QuantizedWeight decode_quantized_weight(const Value& v, const std::string& file) {
  const std::string what = "QuantizedWeight8bit";
  if (!is_quantized_weight(v)) bad(file, v, what, "expected the object, got ", v.describe());
  if (!v.args->items.empty())
    bad(file, v, what, "must be created without arguments, got ", v.args->describe());
  if (!v.state || !v.state->is(Kind::Dict))
    bad(file, v, what, "state must be the dict {'weight', 'scales'}, got ",
        v.state ? v.state->describe() : std::string("none"));
  for (const auto& [k, val] : v.state->entries)
    if (!k->is(Kind::Str) || (k->text != "weight" && k->text != "scales"))
      bad(file, *k, what, "unexpected state entry ", k->describe(),
          " (expected only 'weight' and 'scales')");
  const Value* w = v.state->get("weight");
  const Value* s = v.state->get("scales");
  if (!w || !s) bad(file, *v.state, what, "state lacks ", !w ? "'weight'" : "'scales'");
  QuantizedWeight q;
  q.weight = decode_numpy_array(*w, file, what + ".weight");
  q.scales = decode_numpy_array(*s, file, what + ".scales");
  if (q.weight.dtype != DType::I8)
    bad(file, *w, what, "weight is ", kernels::dtype_name(q.weight.dtype), ", expected int8");
  if (q.scales.dtype != DType::BF16 && q.scales.dtype != DType::F32 && q.scales.dtype != DType::F16)
    bad(file, *s, what, "scales are ", kernels::dtype_name(q.scales.dtype),
        ", expected bfloat16 (or f32/f16)");
  return q;
}

}  // namespace moescope::pickle
