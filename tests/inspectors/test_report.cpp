// The report: JSON carries the analyses' values (NaN as null), text shows the same numbers in
// its tables, and the options (window, top-N, metric, ceilings, comparison) take effect.
#include <gtest/gtest.h>

#include "inspectors/analysis/position_range.h"
#include "inspectors/analysis/report.h"
#include "inspectors/analysis/routing_stats.h"
#include "tests/inspectors/crafted_run.h"

namespace moescope::inspectors {
namespace {

// 8 positions (prompt 4 at step 0, then steps 1..4); layer 0 perfectly balanced, layer 1
// collapsed onto experts {3, 5}, layer 2 unrecorded. One previous-token head; three op names.
storage::RunData report_run() {
  auto run = test::crafted_run({4, 9, 4, 9, 4, 9, 4, 9}, 3, 8, 2, 2);
  run.tokens[4].phase = run.tokens[5].phase = run.tokens[6].phase = run.tokens[7].phase =
      trace::TokenPhase::Generated;
  for (int32_t t = 0; t < 8; ++t) {
    const int64_t step = t < 4 ? 0 : t - 3;
    test::route(run, 0, t, {t, (t + 1) % 8}, {}, step);
    test::route(run, 1, t, {3, 5}, {}, step);
  }
  test::attend(run, 1, 1, 0,
               test::causal_map(8, [](int64_t t) { return test::one_hot(t, t ? t - 1 : 0); }), 8);
  for (int i = 0; i < 6; ++i) {
    storage::OpRecord op;
    op.name = run.intern(i % 3 == 0 ? "attn.q_proj" : i % 3 == 1 ? "moe.router" : "attn.norm");
    op.kind = run.intern(i % 3 == 2 ? "norm" : "matmul");
    op.start_ns = 0;
    op.end_ns = 1000 * (i % 3 + 1);
    op.bytes = 4000;
    op.flops = 8000;
    run.ops.push_back(op);
  }
  return run;
}

TEST(Report, JsonCarriesTheAnalysesValues) {
  const auto run = report_run();
  ReportOptions o;
  o.capacity_factor = 1.0;
  o.head_metric = HeadMetric::Previous;
  const nlohmann::json j = report_json(run, o);
  EXPECT_EQ(j["run"]["prompt_tokens"], 4);
  EXPECT_EQ(j["run"]["generated_tokens"], 4);
  const auto& layers = j["routing"]["layers"];
  ASSERT_EQ(layers.size(), 3u);
  EXPECT_DOUBLE_EQ(layers[0]["cv"].get<double>(), 0.0);
  EXPECT_DOUBLE_EQ(layers[0]["max_over_mean"].get<double>(), 1.0);
  EXPECT_NEAR(layers[0]["load_entropy"].get<double>(), 1.0, 1e-12);
  EXPECT_NEAR(layers[0]["aux_switch"].get<double>(), 1.0, 1e-6);
  EXPECT_NEAR(layers[0]["aux_hf_topk"].get<double>(), 2.0, 1e-6);
  EXPECT_DOUBLE_EQ(layers[1]["max_over_mean"].get<double>(), 4.0);
  EXPECT_DOUBLE_EQ(layers[1]["drop_rate"].get<double>(), 0.75);
  EXPECT_DOUBLE_EQ(layers[1]["coactivation"][3][5].get<double>(), 1.0);
  EXPECT_EQ(layers[1]["top_tokens"][3]["tokens"][0]["count"], 4);
  EXPECT_DOUBLE_EQ(layers[1]["consecutive"]["same_first"].get<double>(), 1.0);
  EXPECT_TRUE(layers[0]["router_z_loss"].is_null());
  EXPECT_NE(j["routing"]["conventions"]["router_z_loss"].get<std::string>().find("ST-MoE"),
            std::string::npos);
  EXPECT_EQ(layers[2]["tokens"], 0);
  EXPECT_TRUE(layers[2]["cv"].is_null());  // NaN: nothing recorded
  EXPECT_DOUBLE_EQ(j["routing"]["random_baseline"]["same_first"].get<double>(), 0.125);
  EXPECT_TRUE(j["stability"].is_null());

  const auto& attn = j["attention"];
  EXPECT_EQ(attn["metric"], "previous");
  EXPECT_EQ(attn["heads_captured"], 1);
  EXPECT_DOUBLE_EQ(attn["top"][0]["previous"].get<double>(), 1.0);
  EXPECT_EQ(attn["top"][0]["layer"], 1);
  EXPECT_EQ(attn["top"][0]["rows"], 8);

  const auto& ops = j["ops"];
  EXPECT_EQ(ops["count"], 6);
  EXPECT_EQ(ops["top"][0]["name"], "attn.norm");  // 3000 ns per op, the largest total
  EXPECT_DOUBLE_EQ(ops["top"][0]["total_ns"].get<double>(), 6000);
  EXPECT_DOUBLE_EQ(ops["top"][0]["gbps"].get<double>(), 8000.0 / 6000);
  EXPECT_TRUE(ops["ceilings"].is_null());
  EXPECT_TRUE(ops["top"][0]["bandwidth_fraction"].is_null());
}

TEST(Report, OptionsTakeEffect) {
  const auto run = report_run();
  MachineCeilings c;
  c.read_gbps = 2;
  c.gemm_gflops = 4;
  ReportOptions o;
  o.window_steps = 2;
  o.top_ops = 1;
  o.ceilings = &c;
  o.compare = &run;
  const nlohmann::json j = report_json(run, o);
  EXPECT_EQ(j["routing"]["first_position"], last_decode_steps(run, 2).begin);
  EXPECT_EQ(j["routing"]["layers"][1]["tokens"], 2);
  EXPECT_EQ(j["ops"]["top"].size(), 1u);
  EXPECT_EQ(j["ops"]["groups"], 3);
  EXPECT_DOUBLE_EQ(j["ops"]["ceilings"]["read_gbps"].get<double>(), 2);
  EXPECT_DOUBLE_EQ(j["ops"]["top"][0]["bandwidth_fraction"].get<double>(), (8000.0 / 6000) / 2);
  EXPECT_EQ(j["stability"]["common_prefix"], 8);
  EXPECT_DOUBLE_EQ(j["stability"]["layers"][0]["topk_overlap"].get<double>(), 1.0);
  EXPECT_EQ(render_report_json(run, o), j.dump(2) + "\n");
}

TEST(Report, TextShowsTheSameNumbers) {
  const auto run = report_run();
  ReportOptions o;
  o.capacity_factor = 1.0;
  o.head_metric = HeadMetric::Previous;
  o.top_ops = 2;
  o.detail_layer = 1;
  const std::string text = render_report_text(run, o);
  auto line_starting = [&](const std::string& prefix) {
    const size_t at = text.find("\n" + prefix);
    return at == std::string::npos ? std::string()
                                   : text.substr(at + 1, text.find('\n', at + 1) - at - 1);
  };
  // Routing rows: layer, tokens, CV, max/mean, load-H, aux(1), aux(k), router-H, margin,
  // top-k-p, drop%, same1st%, either%.
  EXPECT_EQ(line_starting("    0      8"),
            "    0      8 0.000    1.000  1.000  1.000  2.000    1.000  0.000   0.250   0.0"
            "      0.0   100.0       -");
  EXPECT_EQ(line_starting("    1      8"),
            "    1      8 1.732    4.000  0.333  1.000  2.000    1.000  0.000   0.250  75.0"
            "    100.0   100.0       -");
  EXPECT_EQ(line_starting("    2      0"),
            "    2      0     -        -      -      -      -        -      -       -     -"
            "        -       -       -");
  EXPECT_NE(text.find("random baseline: same first choice 12.5%, either choice 46.4% (E=8, k=2)"),
            std::string::npos);
  EXPECT_NE(text.find("z-loss = (1/T) sum_t (log sum_i exp x_t,i)^2"), std::string::npos);
  // Share table: layer 1 has 50% on e3 and e5.
  EXPECT_EQ(line_starting("    1   0.0"), "    1   0.0   0.0   0.0  50.0   0.0  50.0   0.0   0.0");
  // Co-activation of the detail layer: row e3 = P(j | 3); unused experts have no row.
  EXPECT_EQ(line_starting("  e3 "), "  e3   0.0   0.0   0.0 100.0   0.0 100.0   0.0   0.0");
  EXPECT_EQ(line_starting("  e0 "), "  e0     -     -     -     -     -     -     -     -");
  EXPECT_NE(text.find("\n  e5    \"t4\" 4/4  \"t9\" 4/4\n"), std::string::npos);  // top tokens
  EXPECT_NE(text.find("Attention heads by previous (top 1 of 1 heads captured, 1 records"),
            std::string::npos);
  // rank, layer, head, kv, rows, entropy, H-norm, sink, prev, dup, induction (on this period-2
  // sequence the previous token is also the one after the earlier occurrence).
  EXPECT_EQ(line_starting("   1 "),
            "   1     1    1  0     8   0.000   0.000  0.250  1.000  0.000     1.000");
  EXPECT_NE(text.find("Ops by name (top 2 of 3 groups; 6 ops, 0.012 ms in all)"),
            std::string::npos);
  EXPECT_EQ(line_starting("attn.norm"),
            "attn.norm                        2      0.006   50.0      3.00      3.00      3.00"
            "      3.00   0.00     1.33     2.67");
  EXPECT_NE(text.find("ceilings: not measured"), std::string::npos);
  EXPECT_EQ(text.find("attn.q_proj"), std::string::npos);  // past the top 2
}

}  // namespace
}  // namespace moescope::inspectors
