// Vocabulary specialisation: the tokens most routed to each expert, and per-token shares.
#include <gtest/gtest.h>

#include "inspectors/analysis/specialisation.h"
#include "tests/inspectors/crafted_run.h"

namespace moescope::inspectors {
namespace {

// Tokens 7 7 7 9 9 9 9 4, E = 4, k = 2. Token 7 always {2, x}; token 9 first choice 1 three
// times and 3 once; token 4 {0, 2}.
storage::RunData vocabulary_run() {
  auto run = test::crafted_run({7, 7, 7, 9, 9, 9, 9, 4}, 1, 4, 2);
  test::route(run, 0, 0, {2, 0});
  test::route(run, 0, 1, {2, 1});
  test::route(run, 0, 2, {2, 0});
  test::route(run, 0, 3, {1, 2});
  test::route(run, 0, 4, {1, 3});
  test::route(run, 0, 5, {3, 1});
  test::route(run, 0, 6, {1, 0});
  test::route(run, 0, 7, {0, 2});
  return run;
}

TEST(Specialisation, TopTokensPerExpertAnyChoice) {
  const auto run = vocabulary_run();
  const auto experts = expert_top_tokens(run, 0);
  ASSERT_EQ(experts.size(), 4u);
  // Expert 2: token 7 three times (of 3), token 9 once (of 4), token 4 once (of 1).
  const ExpertTokens& e2 = experts[2];
  EXPECT_EQ(e2.routed, 5);
  ASSERT_EQ(e2.tokens.size(), 3u);
  EXPECT_EQ(e2.tokens[0].token, 7);
  EXPECT_EQ(e2.tokens[0].count, 3);
  EXPECT_DOUBLE_EQ(e2.tokens[0].share, 1.0);
  EXPECT_EQ(e2.tokens[0].text, "t7");
  EXPECT_EQ(e2.tokens[1].token, 4);  // count tie with 9, larger share (1 vs 1/4)
  EXPECT_EQ(e2.tokens[2].token, 9);
  EXPECT_DOUBLE_EQ(e2.tokens[2].share, 0.25);
  // Expert 1: token 9 four times, token 7 once.
  EXPECT_EQ(experts[1].tokens[0].token, 9);
  EXPECT_EQ(experts[1].tokens[0].count, 4);
  EXPECT_EQ(experts[1].tokens[1].token, 7);
}

TEST(Specialisation, FirstChoiceOnlyAndTopN) {
  const auto run = vocabulary_run();
  SpecialisationOptions o;
  o.first_choice_only = true;
  o.top_n = 1;
  const auto experts = expert_top_tokens(run, 0, {}, o);
  EXPECT_EQ(experts[1].routed, 3);
  ASSERT_EQ(experts[1].tokens.size(), 1u);
  EXPECT_EQ(experts[1].tokens[0].token, 9);
  EXPECT_EQ(experts[1].tokens[0].count, 3);
  EXPECT_EQ(experts[0].tokens[0].token, 4);
  EXPECT_EQ(experts[2].tokens[0].token, 7);
}

TEST(Specialisation, TokenSharesOfTheirTopFirstChoice) {
  const auto run = vocabulary_run();
  const auto all = token_specialisation(run, 0, {}, 1);
  ASSERT_EQ(all.size(), 3u);
  // 7 and 4 always go to one expert (share 1; 7 has more occurrences), 9: 3 of 4 to expert 1.
  EXPECT_EQ(all[0].token, 7);
  EXPECT_EQ(all[0].top_expert, 2);
  EXPECT_DOUBLE_EQ(all[0].share, 1.0);
  EXPECT_EQ(all[1].token, 4);
  EXPECT_EQ(all[2].token, 9);
  EXPECT_EQ(all[2].top_expert, 1);
  EXPECT_DOUBLE_EQ(all[2].share, 0.75);
  EXPECT_EQ(all[2].occurrences, 4);
  // OLMoE's threshold: tokens with fewer occurrences are left out.
  const auto frequent = token_specialisation(run, 0, {}, 4);
  ASSERT_EQ(frequent.size(), 1u);
  EXPECT_EQ(frequent[0].token, 9);
}

}  // namespace
}  // namespace moescope::inspectors
