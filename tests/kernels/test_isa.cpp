// The run-time choice of instruction set (isa.h): names, the cap at what the CPU has, the scope
// guard, and MOESCOPE_ISA's error message.
#include <gtest/gtest.h>

#include <cstdlib>
#include <string>

#include "kernels/cpu/isa.h"

namespace moescope::kernels {
namespace {

TEST(Isa, NamesRoundTrip) {
  for (Isa isa : {Isa::Portable, Isa::Avx2, Isa::Avx512, Isa::Amx})
    EXPECT_EQ(parse_isa(isa_name(isa)), isa) << isa_name(isa);
  EXPECT_EQ(parse_isa("AVX2"), std::nullopt);
  EXPECT_EQ(parse_isa(""), std::nullopt);
  EXPECT_EQ(parse_isa("sse"), std::nullopt);
}

TEST(Isa, ActiveLevelIsCappedAtWhatTheCpuHas) {
  const Isa before = active_isa();
  EXPECT_LE(before, detected_isa());
  EXPECT_EQ(set_active_isa(Isa::Amx), detected_isa());  // never above the CPU
  EXPECT_EQ(active_isa(), detected_isa());
  EXPECT_EQ(set_active_isa(Isa::Portable), Isa::Portable);  // any level below
  {
    ScopedIsa scoped(detected_isa());
    EXPECT_EQ(active_isa(), detected_isa());
  }
  EXPECT_EQ(active_isa(), Isa::Portable);  // restored
  set_active_isa(before);
}

TEST(Isa, FeatureListNamesWhatDecidesTheLevel) {
  const std::string features = cpu_feature_list();
  EXPECT_FALSE(features.empty());
  if (detected_isa() >= Isa::Avx2) {
    EXPECT_NE(features.find("avx2"), std::string::npos);
  }
  if (detected_isa() >= Isa::Avx512) {
    EXPECT_NE(features.find("avx512f"), std::string::npos);
  }
  if (detected_isa() == Isa::Amx) {
    EXPECT_NE(features.find("amx-bf16"), std::string::npos);
  }
}

TEST(Isa, EnvironmentErrorNamesTheValueAndTheChoices) {
  const char* old = std::getenv("MOESCOPE_ISA");
  const std::string saved = old ? old : "";
  setenv("MOESCOPE_ISA", "avx1024", 1);
  EXPECT_EQ(isa_env_error(), "MOESCOPE_ISA=avx1024: expected portable, avx2, avx512 or amx");
  setenv("MOESCOPE_ISA", "avx2", 1);
  EXPECT_EQ(isa_env_error(), "");
  if (old) {
    setenv("MOESCOPE_ISA", saved.c_str(), 1);
  } else {
    unsetenv("MOESCOPE_ISA");
  }
}

}  // namespace
}  // namespace moescope::kernels
