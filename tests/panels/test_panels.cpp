// The panels without a window: the data each computes from a run (expert load, op timeline
// lanes, attention thumbnails, run comparison), and every panel drawn headless over a live
// TraceModel, with its "no data yet" state when there is no run.
#include <gtest/gtest.h>

#include <chrono>
#include <cmath>
#include <memory>
#include <thread>

#include "inspectors/panels/attention_view.h"
#include "inspectors/panels/commands.h"
#include "inspectors/panels/expert_load.h"
#include "inspectors/panels/kernels_view.h"
#include "inspectors/panels/prompt_console.h"
#include "inspectors/panels/registry.h"
#include "inspectors/panels/runs_view.h"
#include "tests/inspectors/crafted_run.h"
#include "tests/panels/imgui_harness.h"

namespace moescope {
namespace {

using namespace panels;

// 2 prompt + 4 generated tokens, 2 layers of 4 experts, top-2. Layer 0 always picks {0, 1};
// layer 1 alternates {2, 3} and {3, 0}.
storage::RunData small_run() {
  storage::RunData run = test::crafted_run({5, 6, 7, 8, 9, 10}, 2, 4, 2);
  for (int64_t p = 0; p < 6; ++p) {
    if (p >= 2) {
      run.tokens[size_t(p)].phase = storage::TokenPhase::Generated;
      run.tokens[size_t(p)].step = p - 2;
    }
    const int64_t step = p < 2 ? 0 : p - 1;
    test::route(run, 0, p, {0, 1}, {}, step);
    test::route(run, 1, p, p % 2 ? std::vector<int32_t>{3, 0} : std::vector<int32_t>{2, 3}, {},
                step);
  }
  return run;
}

TEST(PanelData, ExpertLoadCountsRatiosAndStrip) {
  const auto run = small_run();
  const ExpertLoadData d = compute_expert_load(run, false, 64, 1.25, false, 4, 1);
  ASSERT_EQ(d.layers, 2);
  ASSERT_EQ(d.experts, 4);
  EXPECT_EQ(d.positions, 6);
  EXPECT_EQ(d.prompt_tokens, 2);
  EXPECT_EQ(d.counts[0 * 4 + 0], 6);  // layer 0, expert 0: every token
  EXPECT_EQ(d.counts[0 * 4 + 2], 0);
  EXPECT_FLOAT_EQ(d.ratio[0 * 4 + 0], 2.0f);  // 1 per token against k/E = 0.5
  EXPECT_EQ(d.counts[1 * 4 + 3], 6);
  // The strip: row (layer 1, first choice) follows the alternation; rows are [L * K, P].
  EXPECT_EQ(d.strip[(1 * 2 + 0) * 6 + 0], 2);
  EXPECT_EQ(d.strip[(1 * 2 + 0) * 6 + 1], 3);
  EXPECT_EQ(d.strip[(0 * 2 + 1) * 6 + 5], 1);
  // Co-activation of layer 1: 3 always comes with 2 or 0, so P(3 | 2) = 1.
  EXPECT_DOUBLE_EQ(d.coactivation.p(2, 3), 1.0);
  // One imbalance point per decode position and layer; layer 0 is maximally unbalanced.
  ASSERT_EQ(d.imbalance.size(), 2u);
  EXPECT_EQ(d.step_x.size(), 4u);
  EXPECT_FLOAT_EQ(d.imbalance[0].back(), 2.0f);  // max/mean = E/k
  EXPECT_EQ(d.texts[2], "t7");
}

TEST(PanelData, ExpertLoadOfAnExpertParallelRunHasItsGroups) {
  auto run = small_run();
  EXPECT_EQ(compute_expert_load(run, false, 64, 1.25, false, 4, 1).groups.ep, 1);
  run.info.layout_json = R"({"tp": 1, "ep": 2, "expert_placement": [0, 0, 1, 1]})";
  const ExpertLoadData d = compute_expert_load(run, false, 64, 1.25, false, 4, 1);
  EXPECT_EQ(d.groups.ep, 2);
  ASSERT_EQ(d.group_load.size(), 2u);
  EXPECT_EQ(d.group_load[0].load, (std::vector<int64_t>{12, 0}));  // layer 0: experts 0 and 1
  EXPECT_EQ(d.group_load[1].load, (std::vector<int64_t>{3, 9}));   // {2,3} x3 and {3,0} x3
  EXPECT_DOUBLE_EQ(d.group_load[1].balance, 6.0 / 9.0);
}

TEST(PanelData, OpLanesNestAndStaySorted) {
  storage::RunData run = test::crafted_run({1, 2}, 2, 8, 2);
  const int32_t name = run.intern("op"), kind = run.intern("matmul");
  auto op = [&](int64_t s, int64_t e, int32_t layer, int32_t expert, int32_t stream) {
    storage::OpRecord r;
    r.name = name;
    r.kind = kind;
    r.start_ns = s;
    r.end_ns = e;
    r.layer = layer;
    r.expert = expert;
    r.stream = stream;
    run.ops.push_back(r);
  };
  // Children are recorded before their parent (an op is recorded when it ends).
  op(10, 40, 0, -1, 0);
  op(50, 90, 0, -1, 0);
  op(0, 100, 0, -1, 0);
  op(110, 120, 1, 2, 0);
  op(120, 130, 1, 2, 0);
  op(130, 140, 1, 5, 0);
  op(0, 50, -1, -1, 1);
  int64_t t0, t1;
  const auto lanes = build_op_lanes(run, &t0, &t1);
  EXPECT_EQ(t0, 0);
  EXPECT_EQ(t1, 140);
  ASSERT_EQ(lanes.size(), 2u);
  const auto& lane = lanes[0];
  ASSERT_EQ(lane.rows.size(), 5u);           // step, layer, expert, two op rows
  EXPECT_EQ(lane.rows[1].items.size(), 2u);  // layer 0, layer 1
  ASSERT_EQ(lane.rows[2].items.size(), 2u);  // expert 2 (two ops), expert 5
  EXPECT_EQ(lane.rows[2].items[0].start, 110);
  EXPECT_EQ(lane.rows[2].items[0].end, 130);
  EXPECT_EQ(lane.rows[3].items.size(), 4u);  // the parent and the layer-1 ops
  EXPECT_EQ(lane.rows[4].items.size(), 2u);  // the children, below their parent
  for (const auto& l : lanes)
    for (const auto& row : l.rows)
      for (size_t i = 1; i < row.items.size(); ++i) {
        EXPECT_GE(row.items[i].start, row.items[i - 1].end) << l.label;
        EXPECT_LE(row.items[i].start, row.items[i].end);
      }
  EXPECT_NE(lanes[0].label, lanes[1].label);
}

TEST(PanelData, AttentionThumbnailsPoolAndGrow) {
  storage::RunData run = test::crafted_run(std::vector<int32_t>(40, 3), 1, 2, 1, 2);
  // Head 1 of layer 0: the last query puts all its mass on key 0.
  test::attend(run, 0, 1, 0, test::causal_map(40, [](int64_t t) { return test::one_hot(t, t); }),
               40);
  std::vector<std::vector<float>> last = {test::one_hot(39, 0)};
  test::attend(run, 0, 1, 39, last, 40);
  AttentionThumbnails th;
  th.update(run);
  EXPECT_EQ(th.cells_per_bucket(), 2);  // 40 positions > 32 cells
  EXPECT_EQ(th.used(), 20);
  ASSERT_NE(th.grid(0, 1), nullptr);
  EXPECT_EQ(th.grid(0, 0), nullptr);  // head 0 was not captured
  const float* g = th.grid(0, 1);
  EXPECT_FLOAT_EQ(g[19 * AttentionThumbnails::kThumb + 0], 1.0f);  // max pooling keeps it
  EXPECT_FLOAT_EQ(g[0], 1.0f);                                     // the diagonal
  // Records arriving later are added without starting over.
  test::attend(run, 0, 0, 0, {test::one_hot(0, 0)}, 1);
  th.update(run);
  EXPECT_NE(th.grid(0, 0), nullptr);
}

TEST(PanelData, ARunComparedWithItself) {
  auto run = small_run();
  const int32_t n = run.intern("matmul");
  storage::OpRecord op;
  op.name = op.kind = n;
  op.end_ns = 100;
  run.ops.push_back(op);
  const CompareData d = compare_runs(run, run);
  ASSERT_EQ(d.layers, 2);
  for (float v : d.diff) {
    if (!std::isnan(v)) {
      EXPECT_EQ(v, 0.0f);
    }
  }
  ASSERT_EQ(d.stability.layers.size(), 2u);
  EXPECT_DOUBLE_EQ(d.stability.layers[0].topk_overlap, 1.0);
  EXPECT_EQ(d.stability.common_prefix, 6);
  ASSERT_EQ(d.ops.size(), 1u);
  EXPECT_DOUBLE_EQ(d.ops[0].change, 0.0);
}

TEST(PanelData, IndexLists) {
  std::vector<int32_t> v;
  ASSERT_TRUE(parse_index_list("0, 2,5-7", &v));
  EXPECT_EQ(v, (std::vector<int32_t>{0, 2, 5, 6, 7}));
  EXPECT_EQ(format_index_list(v), "0,2,5-7");
  ASSERT_TRUE(parse_index_list("", &v));
  EXPECT_TRUE(v.empty());
  EXPECT_FALSE(parse_index_list("3-1", &v));
  EXPECT_FALSE(parse_index_list("a", &v));
  EXPECT_FALSE(parse_index_list("1,,2", &v));
}

TEST(PanelData, ThrottleWaitsForTheIntervalButNotForANewRun) {
  Throttle t;
  EXPECT_TRUE(t.due(1, 5, 0.0, 0.5));
  EXPECT_FALSE(t.due(1, 5, 1.0, 0.5));  // nothing changed
  EXPECT_FALSE(t.behind);
  EXPECT_FALSE(t.due(1, 6, 0.2, 0.5));  // changed, too soon
  EXPECT_TRUE(t.behind);                // the shown data is stale: the panel counts as busy
  EXPECT_TRUE(t.due(1, 6, 0.6, 0.5));   // the change is picked up once the interval passed
  EXPECT_FALSE(t.behind);
  EXPECT_TRUE(t.due(2, 6, 0.61, 0.5));  // another run: at once
}

// ---- every panel drawn over a live model ----

struct Recorder : CommandSink {
  std::vector<Command> posted;
  void post(Command c) override { posted.push_back(std::move(c)); }
};

// Feeds a TraceModel as the trace writer would: a run with tokens, routing, ops and attention.
int64_t feed(storage::TraceModel& m, int64_t positions) {
  trace::RunInfo info;
  info.model = "fed";
  info.n_layers = 2;
  info.n_experts = 4;
  info.top_k = 2;
  info.n_heads = 2;
  info.n_kv_heads = 1;
  info.devices_json = R"(["cpu"])";
  const int64_t run = m.begin_run(info);
  static const trace::OpSite site{"moe.expert.up", "matmul"};
  for (int64_t p = 0; p < positions; ++p) {
    trace::TokenEvent t;
    t.position = p;
    t.id = int32_t(100 + p);
    t.text = " w" + std::to_string(p);
    t.phase = p < 3 ? trace::TokenPhase::Prompt : trace::TokenPhase::Generated;
    t.logprob = -1.0f;
    m.token(run, t);
    for (int32_t l = 0; l < 2; ++l) {
      float probs[4] = {0.4f, 0.3f, 0.2f, 0.1f};
      int32_t ids[2] = {int32_t(p % 4), int32_t((p + 1) % 4)};
      float gates[2] = {0.5f, 0.3f};
      trace::RoutingBlock b;
      b.step = p;
      b.layer = l;
      b.p0 = p;
      b.t = 1;
      b.n_experts = 4;
      b.top_k = 2;
      b.probs = probs;
      b.ids = ids;
      b.gates = gates;
      m.routing(run, b);
      trace::OpEvent op;
      op.site = &site;
      op.step = p;
      op.layer = l;
      op.expert = ids[0];
      op.start_ns = p * 1000 + l * 400;
      op.end_ns = op.start_ns + 300;
      op.bytes = 1000;
      op.flops = 2000;
      m.op(run, op);
      std::vector<float> row(size_t(p + 1), 1.0f / float(p + 1));
      trace::AttentionBlock a;
      a.step = p;
      a.layer = l;
      a.head = int32_t(p % 2);
      a.q0 = p;
      a.n_queries = 1;
      a.n_keys = p + 1;
      a.row_stride = p + 1;
      a.probs = row.data();
      m.attention(run, a);
    }
  }
  m.end_run(run, trace::RunStatus::Complete, positions * 1000, "");
  return run;
}

class PanelsHeadless : public ::testing::Test {
 protected:
  test::ImGuiHarness ui{ImVec2(1400, 900)};
  std::shared_ptr<storage::TraceModel> model = std::make_shared<storage::TraceModel>();
  Recorder recorder;
  WorkbenchStatus status;
  Selection selection;
  GenerationSettings settings;
  PanelSet panels = make_panels();

  PanelContext context() {
    PanelContext ctx;
    ctx.model = model;
    ctx.commands = &recorder;
    ctx.status = &status;
    ctx.selection = &selection;
    ctx.settings = &settings;
    return ctx;
  }
  // Draws every panel as a window until their background work is done; returns the vertices
  // of the last frame.
  int draw_all() {
    int verts = 0;
    for (int frame = 0; frame < 400; ++frame) {
      verts = ui.frame([&] {
        auto ctx = context();
        ctx.time_s = frame;  // no throttling between frames
        for (auto& p : panels.all) p->draw_window(ctx, ImVec2(0, 0), ImVec2(1400, 900));
      });
      if (!panels.busy() && frame > 2) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    return verts;
  }
};

TEST_F(PanelsHeadless, EveryPanelHasANoDataState) {
  status.engine.state = EngineState::Ready;
  const int verts = draw_all();
  EXPECT_GT(verts, 1000);  // six windows with their friendly empty states
  EXPECT_FALSE(panels.busy());
  EXPECT_EQ(panels.console->shown_run(), -1);
  EXPECT_TRUE(panels.console->shown_tokens().empty());
}

TEST_F(PanelsHeadless, EveryPanelDrawsARun) {
  status.engine.state = EngineState::Ready;
  const int empty = draw_all();
  selection.run = feed(*model, 24);
  const int full = draw_all();
  EXPECT_GT(full, empty);
  // The console shows exactly the run's tokens.
  EXPECT_EQ(panels.console->shown_run(), selection.run);
  std::vector<int32_t> ids;
  model->read(selection.run, [&](const storage::RunData& r) {
    for (const auto& t : r.tokens) ids.push_back(t.id);
  });
  EXPECT_EQ(panels.console->shown_tokens(), ids);
  // Plots that the scripted tests look for were drawn.
  std::vector<std::string> names;
  for (const auto& r : widgets::named_rects()) names.push_back(r.name);
  for (const char* want : {"expert_load.heatmap", "expert_load.strip", "attention.map",
                           "kernels.timeline", "console.output"})
    EXPECT_NE(std::find(names.begin(), names.end(), want), names.end()) << want;
}

TEST_F(PanelsHeadless, GenerateCarriesThePromptAndSettings) {
  status.engine.state = EngineState::Ready;
  panels.console->set_prompt("Hello there");
  settings.sampling.max_tokens = 7;
  settings.capture.attention = false;
  auto ctx = context();
  panels.console->generate(ctx);
  ASSERT_EQ(recorder.posted.size(), 1u);
  const auto* g = std::get_if<cmd::Generate>(&recorder.posted[0]);
  ASSERT_NE(g, nullptr);
  EXPECT_EQ(g->prompt, "Hello there");
  EXPECT_EQ(g->settings.sampling.max_tokens, 7);
  EXPECT_FALSE(g->settings.capture.attention);
}

TEST_F(PanelsHeadless, ScriptedSettingsAreCheckedByThePanels) {
  Panel* load = panels.find("expert_load");
  ASSERT_NE(load, nullptr);
  EXPECT_TRUE(load->set("metric", "share"));
  EXPECT_FALSE(load->set("metric", "bogus"));
  EXPECT_FALSE(load->set("nonsense", "1"));
  EXPECT_TRUE(panels.find("kernels")->set("group", "kind"));
  EXPECT_FALSE(panels.find("kernels")->set("group", "colour"));
  EXPECT_TRUE(panels.console->set("colour", "surprise"));
  EXPECT_EQ(panels.find("nope"), nullptr);
}

}  // namespace
}  // namespace moescope
