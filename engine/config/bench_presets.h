// Built-in synthetic configurations for `moescope bench`: tinyA, tinyB and tinyC of issue 9, with
// exactly the Grok-1 architecture (sandwich norms, soft-capped attention logits, gated tanh-GELU
// experts, top-2 of 8, tied output, no biases) at small sizes, so that our tokens/s can be set
// beside other CPU engines measured on the same shapes.
//
//   | preset | layers | D    | Hq/Hkv x Dh | experts (top-k), F | vocab |
//   | tinyA  | 4      | 256  | 8/2 x 32    | 8 (2), 512         | 2048  |
//   | tinyB  | 8      | 512  | 8/2 x 64    | 8 (2), 1408        | 32000 |
//   | tinyC  | 8      | 1024 | 16/4 x 64   | 8 (2), 2816        | 32000 |
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "engine/config/model_config.h"

namespace moescope {

// The names above, in order.
std::vector<std::string> bench_preset_names();
// The configuration of a bench preset; throws moescope::Error listing the known names.
ModelConfig bench_preset_config(std::string_view name);

}  // namespace moescope
