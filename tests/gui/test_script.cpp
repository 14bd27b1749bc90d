// The scripted mode's language: what parses, and the errors that name the line.
#include <gtest/gtest.h>

#include "app/gui/frame_stats.h"
#include "app/gui/script.h"
#include "engine/core/error.h"

namespace moescope {
namespace {

using gui::parse_script;

TEST(Script, ParsesCommandsArgumentsAndComments) {
  const auto steps = parse_script(
      "# a comment\n"
      "\n"
      "prompt  Hello,\\nworld  \n"
      "set console.max_tokens 48\n"
      "set expert_load.metric share\n"
      "generate\n"
      "wait done 60\n"
      "screenshot a.png expert_load\n",
      "t.txt");
  ASSERT_EQ(steps.size(), 6u);
  EXPECT_EQ(steps[0].command, "prompt");
  EXPECT_EQ(steps[0].args[0], "Hello,\nworld");
  EXPECT_EQ(steps[0].line, 3);
  EXPECT_EQ(steps[1].args, (std::vector<std::string>{"console.max_tokens", "48"}));
  EXPECT_EQ(steps[4].args, (std::vector<std::string>{"done", "60"}));
  EXPECT_EQ(steps[5].args, (std::vector<std::string>{"a.png", "expert_load"}));
}

TEST(Script, ErrorsNameTheLine) {
  try {
    parse_script("generate\nfrobnicate 3\n", "s.txt");
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("s.txt:2: unknown command 'frobnicate'"),
              std::string::npos)
        << e.what();
  }
  EXPECT_THROW(parse_script("size 100\n", "s"), Error);      // two arguments
  EXPECT_THROW(parse_script("generate now\n", "s"), Error);  // none
  EXPECT_THROW(parse_script("set layer 3\n", "s"), Error);   // PANEL.KEY
  EXPECT_THROW(parse_script("screenshot\n", "s"), Error);
}

TEST(FrameStats, PercentilesAndSegments) {
  EXPECT_DOUBLE_EQ(gui::percentile({1, 2, 3, 4, 5}, 50), 3);
  EXPECT_DOUBLE_EQ(gui::percentile({1, 2, 3, 4, 5}, 100), 5);
  EXPECT_NEAR(gui::percentile({0, 10}, 99), 9.9, 1e-12);
  gui::FrameStats s;
  s.add(10, 1, false);
  s.begin("run");
  for (int i = 0; i < 100; ++i) s.add(i < 99 ? 5 : 50, 1, i % 2 == 0);
  const auto sum = s.summaries();
  ASSERT_EQ(sum.size(), 3u);  // frames, run, run (while generating)
  EXPECT_EQ(sum[1].label, "run");
  EXPECT_EQ(sum[1].frames, 100);
  EXPECT_NEAR(sum[1].mean_ms, 5.45, 1e-9);
  EXPECT_GT(sum[1].p99_ms, 5);
  EXPECT_EQ(sum[2].frames, 50);
}

}  // namespace
}  // namespace moescope
