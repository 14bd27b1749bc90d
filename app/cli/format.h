// Number formatting for CLI output.
#pragma once

#include <cstdint>
#include <string>

namespace moescope::app {

std::string with_commas(int64_t n);         // 315684820992 -> "315,684,820,992"
std::string decimal_bytes(int64_t bytes);   // "631.37 GB" (10^9, as grok-architecture.md 8)
std::string binary_bytes(int64_t bytes);    // "256.0 KiB", "2.00 GiB"
std::string fixed(double v, int decimals);  // "12.35"

}  // namespace moescope::app
