#include "kernels/cpu/dtype.h"

#include <cmath>
#include <cstring>

namespace moescope::kernels {

size_t dtype_size(DType t) {
  switch (t) {
    case DType::F32: return 4;
    case DType::F16: return 2;
    case DType::BF16: return 2;
    case DType::I8: return 1;
    case DType::F8_E4M3: return 1;
    case DType::I32: return 4;
    case DType::I64: return 8;
    case DType::U8: return 1;
  }
  return 0;
}

const char* dtype_name(DType t) {
  switch (t) {
    case DType::F32: return "F32";
    case DType::F16: return "F16";
    case DType::BF16: return "BF16";
    case DType::I8: return "I8";
    case DType::F8_E4M3: return "F8_E4M3";
    case DType::I32: return "I32";
    case DType::I64: return "I64";
    case DType::U8: return "U8";
  }
  return "?";
}

std::optional<DType> dtype_from_name(std::string_view name) {
  static constexpr DType kAll[] = {DType::F32, DType::F16, DType::BF16, DType::I8,
                                   DType::F8_E4M3, DType::I32, DType::I64, DType::U8};
  for (DType t : kAll)
    if (name == dtype_name(t)) return t;
  return std::nullopt;
}

static uint32_t float_bits(float v) {
  uint32_t u;
  std::memcpy(&u, &v, 4);
  return u;
}
static float bits_float(uint32_t u) {
  float v;
  std::memcpy(&v, &u, 4);
  return v;
}

float bf16_to_f32(uint16_t v) { return bits_float(uint32_t(v) << 16); }

uint16_t f32_to_bf16(float v) {
  uint32_t u = float_bits(v);
  if ((u & 0x7fffffffu) > 0x7f800000u) return uint16_t((u >> 16) | 0x40);  // quiet NaN
  u += 0x7fffu + ((u >> 16) & 1u);  // round to nearest even
  return uint16_t(u >> 16);
}

float f16_to_f32(uint16_t h) {
  uint32_t sign = uint32_t(h & 0x8000u) << 16;
  uint32_t exp = (h >> 10) & 0x1fu;
  uint32_t man = h & 0x3ffu;
  if (exp == 0) {
    if (man == 0) return bits_float(sign);
    // Subnormal: value = man * 2^-24.
    float f = std::ldexp(float(man), -24);
    return sign ? -f : f;
  }
  if (exp == 31) return bits_float(sign | 0x7f800000u | (man << 13));
  return bits_float(sign | ((exp + 112) << 23) | (man << 13));
}

uint16_t f32_to_f16(float v) {
  uint32_t u = float_bits(v);
  uint16_t sign = uint16_t((u >> 16) & 0x8000u);
  uint32_t au = u & 0x7fffffffu;
  if (au > 0x7f800000u) return sign | 0x7e00u;    // NaN
  if (au >= 0x477ff000u) return sign | 0x7c00u;   // rounds to >= 65520: Inf
  if (au < 0x38800000u) {                          // below the smallest normal 2^-14
    // Subnormal or zero: round(|v| * 2^24) to nearest even, exact in float arithmetic.
    float m = std::nearbyint(bits_float(au) * 16777216.0f);
    return sign | uint16_t(m);
  }
  uint32_t rounded = au + 0xfffu + ((au >> 13) & 1u);
  return sign | uint16_t(((rounded >> 13) - (112u << 10)) & 0x7fffu);
}

float fp8_e4m3_to_f32(uint8_t v) {
  float sign = (v & 0x80) ? -1.0f : 1.0f;
  int exp = (v >> 3) & 0xf;
  int man = v & 0x7;
  if (exp == 0xf && man == 0x7) return std::nanf("");
  if (exp == 0) return sign * std::ldexp(float(man), -9);  // subnormal: man/8 * 2^-6
  return sign * std::ldexp(1.0f + float(man) / 8.0f, exp - 7);
}

uint8_t f32_to_fp8_e4m3(float v) {
  if (std::isnan(v)) return 0x7f;
  uint8_t sign = std::signbit(v) ? 0x80 : 0x00;
  float a = std::fabs(v);
  if (a >= 448.0f) return sign | 0x7e;  // saturate to the largest finite value
  // Find the nearest representable value by scaling into the mantissa grid of a's binade.
  int e;
  std::frexp(a, &e);  // a = f * 2^e, f in [0.5, 1)
  int exp = e - 1;    // a = 1.m * 2^exp
  if (exp < -6) exp = -6;  // subnormal range shares the grid of 2^-6 binade
  float step = std::ldexp(1.0f, exp - 3);
  float q = std::nearbyint(a / step) * step;  // round half to even on the grid
  if (q == 0.0f) return sign;
  int qe;
  std::frexp(q, &qe);
  int qexp = qe - 1;
  if (qexp < -6) {  // subnormal
    return sign | uint8_t(std::lround(q / std::ldexp(1.0f, -9)));
  }
  int man = int(std::lround((q / std::ldexp(1.0f, qexp) - 1.0f) * 8.0f));
  return sign | uint8_t(((qexp + 7) << 3) | man);
}

void convert_to_f32(DType src_type, const void* src, float* dst, size_t n) {
  switch (src_type) {
    case DType::F32: std::memcpy(dst, src, n * 4); return;
    // 16-bit sources may sit at odd addresses (arrays inside a pickle are views into its bytes):
    // load them with memcpy, which is one plain load on x86 and defined for any alignment.
    case DType::F16: {
      auto s = static_cast<const uint8_t*>(src);
      for (size_t i = 0; i < n; ++i) {
        uint16_t v;
        std::memcpy(&v, s + 2 * i, 2);
        dst[i] = f16_to_f32(v);
      }
      return;
    }
    case DType::BF16: {
      auto s = static_cast<const uint8_t*>(src);
      for (size_t i = 0; i < n; ++i) {
        uint16_t v;
        std::memcpy(&v, s + 2 * i, 2);
        dst[i] = bf16_to_f32(v);
      }
      return;
    }
    case DType::F8_E4M3: {
      auto s = static_cast<const uint8_t*>(src);
      for (size_t i = 0; i < n; ++i) dst[i] = fp8_e4m3_to_f32(s[i]);
      return;
    }
    case DType::I8: {
      auto s = static_cast<const int8_t*>(src);
      for (size_t i = 0; i < n; ++i) dst[i] = float(s[i]);
      return;
    }
    case DType::U8: {
      auto s = static_cast<const uint8_t*>(src);
      for (size_t i = 0; i < n; ++i) dst[i] = float(s[i]);
      return;
    }
    case DType::I32: {
      auto s = static_cast<const int32_t*>(src);
      for (size_t i = 0; i < n; ++i) dst[i] = float(s[i]);
      return;
    }
    case DType::I64: {
      auto s = static_cast<const int64_t*>(src);
      for (size_t i = 0; i < n; ++i) dst[i] = float(s[i]);
      return;
    }
  }
}

void convert_from_f32(const float* src, DType dst_type, void* dst, size_t n) {
  switch (dst_type) {
    case DType::F32: std::memcpy(dst, src, n * 4); return;
    case DType::F16: {
      auto d = static_cast<uint16_t*>(dst);
      for (size_t i = 0; i < n; ++i) d[i] = f32_to_f16(src[i]);
      return;
    }
    case DType::BF16: {
      auto d = static_cast<uint16_t*>(dst);
      for (size_t i = 0; i < n; ++i) d[i] = f32_to_bf16(src[i]);
      return;
    }
    case DType::F8_E4M3: {
      auto d = static_cast<uint8_t*>(dst);
      for (size_t i = 0; i < n; ++i) d[i] = f32_to_fp8_e4m3(src[i]);
      return;
    }
    default: break;  // integer targets are not produced by rounding floats
  }
}

}  // namespace moescope::kernels
