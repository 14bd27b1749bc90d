// IEEE half precision for attention maps in traces (DESIGN.md section 4 stores them as f16).
// The trace contract is std-only, so it carries its own conversion rather than the kernels'.
// Round to nearest even; NaN and infinities preserved; values beyond 65504 become infinity.
#pragma once

#include <cmath>
#include <cstdint>
#include <cstring>

namespace moescope::trace {

inline uint16_t f32_to_f16(float v) {
  uint32_t u;
  std::memcpy(&u, &v, 4);
  const uint16_t sign = uint16_t((u >> 16) & 0x8000u);
  const uint32_t au = u & 0x7fffffffu;
  if (au > 0x7f800000u) return sign | 0x7e00u;   // NaN
  if (au >= 0x477ff000u) return sign | 0x7c00u;  // rounds to >= 65520: infinity
  if (au < 0x38800000u) {                        // below 2^-14: subnormal or zero
    float a;
    std::memcpy(&a, &au, 4);
    return sign | uint16_t(std::nearbyint(a * 16777216.0f));
  }
  const uint32_t rounded = au + 0xfffu + ((au >> 13) & 1u);
  return sign | uint16_t(((rounded >> 13) - (112u << 10)) & 0x7fffu);
}

inline float f16_to_f32(uint16_t h) {
  const uint32_t sign = uint32_t(h & 0x8000u) << 16, exp = (h >> 10) & 0x1fu, man = h & 0x3ffu;
  uint32_t u;
  if (exp == 0) {
    const float f = std::ldexp(float(man), -24);
    return sign ? -f : f;
  }
  if (exp == 31)
    u = sign | 0x7f800000u | (man << 13);
  else
    u = sign | ((exp + 112) << 23) | (man << 13);
  float v;
  std::memcpy(&v, &u, 4);
  return v;
}

}  // namespace moescope::trace
