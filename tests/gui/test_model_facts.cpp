// The Model panel's facts (app/gui/model_facts.h): the device line names what runs the model,
// threads, the kernels' instruction set and the activations mode in effect (--isa,
// --activations), so a screenshot says how its numbers were made.
#include <gtest/gtest.h>

#include <string>

#include "app/gui/model_facts.h"
#include "kernels/cpu/isa.h"
#include "kernels/cpu/precision.h"
#include "tests/common/tiny_checkpoint.h"

namespace moescope::gui {
namespace {

TEST(ModelFacts, DeviceLineNamesTheKernelsAndActivations) {
  const ModelConfig c = test::tiny_config(Arch::Grok1);
  {
    kernels::ScopedIsa isa(kernels::Isa::Portable);
    const panels::ModelFacts f = describe_model(c, "/models/tiny", 3, 1000);
    ASSERT_EQ(f.devices.size(), 1u);
    EXPECT_EQ(f.devices[0], "cpu (3 threads, portable kernels, f32 activations)");
  }
  if (kernels::detected_isa() < kernels::Isa::Avx512) GTEST_SKIP() << "no AVX512-VNNI here";
  kernels::ScopedIsa isa(kernels::Isa::Avx512);
  kernels::ScopedActivations int8(kernels::Activations::Int8);
  const panels::ModelFacts f = describe_model(c, "/models/tiny", 2, 1000);
  EXPECT_EQ(f.devices[0], "cpu (2 threads, avx512 kernels, " +
                              kernels::effective_activations_name() + " activations)");
  EXPECT_NE(f.devices[0].find("int8"), std::string::npos) << f.devices[0];
}

}  // namespace
}  // namespace moescope::gui
