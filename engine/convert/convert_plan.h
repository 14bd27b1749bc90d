// What a conversion writes: for every role of the model, the output tensor(s) and where their
// values come from (internal to engine/convert; convert.cpp writes the plan, convert_verify.cpp
// checks the written files against it).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "engine/convert/convert.h"
#include "engine/convert/weight_roles.h"
#include "engine/weights/checkpoint.h"

namespace moescope::convert_detail {

struct PlannedTensor {
  WeightRole role;
  std::string out_name;                   // the weight's name in the output scheme
  const TensorView* src = nullptr;        // the source weight
  const TensorView* src_scale = nullptr;  // its scales, when quantised
  kernels::DType out_dtype = kernels::DType::F32;
  bool out_scaled = false;  // the output carries "<out_name>_scale"
  int64_t out_groups = 1;   // scale groups when out_scaled (copied or quantised)
  // Bytes of the output weight (+ scales).
  uint64_t out_bytes() const;
  // True when the output repeats the source bytes (weight and scales).
  bool copies_source() const;
};

// The tensors of src (named under in) that config c uses, mapped to out names with the dtype
// policy applied. Tensors of src that no role uses are listed in dropped when harmless (a tied
// lm_head copy, rotary inv_freq buffers); any other leftover is an error.
std::vector<PlannedTensor> plan_conversion(const Checkpoint& src, const ModelConfig& c,
                                           NamingScheme in, NamingScheme out, ConvertDtype dtype,
                                           int64_t int8_groups, std::vector<std::string>& dropped);

// Compares every planned tensor with the written checkpoint dst; fills the verification fields
// of report. Throws naming the tensor and the first element that differs.
void verify_conversion(const std::vector<PlannedTensor>& plan, const Checkpoint& dst,
                       ConvertReport& report);

}  // namespace moescope::convert_detail
