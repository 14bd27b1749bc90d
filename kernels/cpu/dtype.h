// Element types of weights and activations, and scalar conversions to and from f32.
//
// Spellings follow safetensors ("F32", "BF16", "F16", "I8", "F8_E4M3", "I32", "I64", "U8").
// Conversions round to nearest even and keep NaN/Inf where the target type has them.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>

namespace moescope::kernels {

enum class DType : uint8_t { F32, F16, BF16, I8, F8_E4M3, I32, I64, U8 };

// Bytes per element.
size_t dtype_size(DType t);
// Safetensors spelling, e.g. "BF16".
const char* dtype_name(DType t);
// Parses a safetensors spelling; nullopt when unknown.
std::optional<DType> dtype_from_name(std::string_view name);

float bf16_to_f32(uint16_t v);
uint16_t f32_to_bf16(float v);
float f16_to_f32(uint16_t v);
uint16_t f32_to_f16(float v);
// OCP FP8 E4M3 ("fn" variant: no Inf, max 448, 0x7F/0xFF are NaN). Saturates to +-448.
float fp8_e4m3_to_f32(uint8_t v);
uint8_t f32_to_fp8_e4m3(float v);

// dst[i] = float(src[i]) for floating types and I8/I32/I64/U8 (plain value, no scale).
void convert_to_f32(DType src_type, const void* src, float* dst, size_t n);
// dst[i] = round(src[i]) into a floating type (F32, F16, BF16, F8_E4M3).
void convert_from_f32(const float* src, DType dst_type, void* dst, size_t n);

}  // namespace moescope::kernels
