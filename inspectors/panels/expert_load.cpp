#include "inspectors/panels/expert_load.h"

#include <imgui.h>

#include <algorithm>
#include <cmath>
#include <cstdio>

#include "inspectors/analysis/position_range.h"
#include "inspectors/widgets/bar_chart.h"
#include "inspectors/widgets/heatmap.h"
#include "inspectors/widgets/line_chart.h"

namespace moescope::panels {

namespace {

constexpr int kMaxChartPoints = 300;

std::string layer_label(int l) {
  return "L" + std::to_string(l);
}

}  // namespace

ExpertLoadData compute_expert_load(const storage::RunData& run, bool window, int window_steps,
                                   double capacity_factor, bool cv_chart, int chart_window,
                                   int32_t chosen_layer) {
  ExpertLoadData d;
  d.run = run.id;
  d.layers = int32_t(run.routing.size());
  d.experts = run.info.n_experts;
  d.top_k = run.info.top_k;
  d.prompt_tokens = run.prompt_tokens();
  for (const auto& l : run.routing)
    d.positions = std::max<int64_t>(d.positions, int64_t(l.present.size()));
  if (d.layers == 0 || d.experts <= 0 || d.top_k <= 0) return d;
  const int32_t L = d.layers, E = d.experts, K = d.top_k;

  const inspectors::PositionRange range =
      window ? inspectors::last_decode_steps(run, window_steps) : inspectors::whole_run();
  d.range_begin = std::clamp<int64_t>(range.begin, 0, d.positions);
  d.range_end = std::clamp<int64_t>(range.end, 0, d.positions);
  inspectors::RoutingStatsOptions opt;
  opt.capacity_factor = capacity_factor;
  d.stats = inspectors::routing_stats(run, range, opt);
  d.groups = inspectors::expert_groups(run);
  d.group_load = inspectors::group_loads(d.groups, d.stats);
  d.counts.assign(size_t(L) * E, NAN);
  d.ratio.assign(size_t(L) * E, NAN);
  for (int32_t l = 0; l < L && l < int32_t(d.stats.size()); ++l) {
    const auto& s = d.stats[size_t(l)];
    d.consecutive.push_back(inspectors::consecutive_rates(run, l, range));
    if (s.tokens == 0) continue;
    for (int32_t e = 0; e < E && e < int32_t(s.load.size()); ++e) {
      d.counts[size_t(l) * E + e] = float(s.load[size_t(e)]);
      // Tokens routed to e per token, against k/E for a perfectly balanced router.
      d.ratio[size_t(l) * E + e] =
          float(double(s.load[size_t(e)]) / double(s.tokens) / (double(K) / double(E)));
    }
  }

  // Imbalance over decode steps: each point is the layer's imbalance over the chart_window
  // positions ending at a decode position (at most kMaxChartPoints points).
  const int64_t first = d.prompt_tokens, last = d.positions;
  if (last > first) {
    const int64_t stride =
        std::max<int64_t>(1, (last - first + kMaxChartPoints - 1) / kMaxChartPoints);
    d.imbalance.assign(size_t(L), {});
    for (int64_t p = first + ((last - 1 - first) % stride); p < last; p += stride) {
      const auto& r0 = run.routing[0];
      d.step_x.push_back(p < int64_t(r0.step.size()) ? float(r0.step[size_t(p)])
                                                     : float(p - first + 1));
      const inspectors::PositionRange win{std::max<int64_t>(0, p - chart_window + 1), p + 1};
      for (int32_t l = 0; l < L; ++l) {
        const auto s = inspectors::layer_routing_stats(run, l, win, opt);
        d.imbalance[size_t(l)].push_back(s.tokens == 0 ? NAN
                                                       : float(cv_chart ? s.cv : s.max_over_mean));
      }
    }
  }

  const int32_t layer = std::clamp(chosen_layer, 0, L - 1);
  d.coactivation = inspectors::coactivation(run, layer, range);
  d.coactivation_p.assign(d.coactivation.conditional.begin(), d.coactivation.conditional.end());
  for (int64_t i = 0; i < E; ++i)
    if (d.coactivation.count(i, i) == 0)
      for (int64_t j = 0; j < E; ++j) d.coactivation_p[size_t(i * E + j)] = NAN;

  const int64_t P = d.positions;
  d.strip.assign(size_t(L) * K * size_t(P), NAN);
  for (int32_t l = 0; l < L; ++l) {
    const auto& r = run.routing[size_t(l)];
    for (int64_t p = 0; p < P && p < int64_t(r.present.size()); ++p) {
      if (!r.present[size_t(p)] || int64_t(r.ids.size()) < (p + 1) * K) continue;
      for (int32_t k = 0; k < K; ++k)
        d.strip[(size_t(l) * K + k) * P + size_t(p)] = float(r.ids[size_t(p * K + k)]);
    }
  }
  d.texts.reserve(size_t(P));
  for (int64_t p = 0; p < P; ++p)
    d.texts.push_back(p < int64_t(run.tokens.size()) ? run.tokens[size_t(p)].text : "");
  return d;
}

ExpertLoad::ExpertLoad() : Panel("expert_load", "Expert load") {}

bool ExpertLoad::set(const std::string& key, const std::string& value) {
  int64_t i;
  double f;
  if (key == "metric" && (value == "count" || value == "share")) {
    share_ = value == "share";
  } else if (key == "window" && parse_int(value, &i) && i >= 0) {
    window_ = i > 0;
    if (i > 0) window_steps_ = int(i);
  } else if (key == "capacity_factor" && parse_float(value, &f) && f > 0) {
    capacity_factor_ = float(f);
  } else if (key == "chart" && (value == "cv" || value == "max_mean")) {
    cv_chart_ = value == "cv";
  } else {
    return false;
  }
  return true;
}

void ExpertLoad::refresh(const PanelContext& ctx) {
  const int64_t run = ctx.selection->run;
  char inputs[160];
  std::snprintf(inputs, sizeof inputs, "%lld %d %d %.3f %d %d %d", (long long)run, int(window_),
                window_steps_, capacity_factor_, int(cv_chart_), chart_window_,
                ctx.selection->layer);
  // Live runs change every few milliseconds: recompute at most ~3 times a second.
  if (!data_.due(ctx, run, inputs, 0.3)) return;
  auto model = ctx.model;
  const bool window = window_, cv = cv_chart_;
  const int steps = window_steps_, chart_window = chart_window_;
  const double cf = capacity_factor_;
  const int32_t layer = ctx.selection->layer;
  data_.start(
      [=] {
        ExpertLoadData d;
        model->read(run, [&](const storage::RunData& r) {
          d = compute_expert_load(r, window, steps, cf, cv, chart_window, layer);
        });
        return d;
      },
      inputs);
}

void ExpertLoad::draw_content(PanelContext& ctx) {
  refresh(ctx);
  auto d = data_.shown(ctx, ctx.selection->run);
  if (!d) return;
  if (d->layers == 0 || d->stats.empty() || d->stats[0].tokens == 0) {
    no_data("No routing yet",
            d->layers == 0 ? "This run has no routing recorded. Turn routing on in Model & capture "
                             "and generate again."
                           : "Routing appears here as the model processes the prompt.");
    return;
  }
  // Controls.
  ImGui::AlignTextToFramePadding();
  ImGui::TextUnformatted("Heat map");
  ImGui::SameLine();
  int m = share_;
  ImGui::RadioButton("tokens", &m, 0);
  ImGui::SameLine();
  ImGui::RadioButton("load / uniform k/E", &m, 1);
  share_ = m;
  ImGui::SameLine(0, 24);
  ImGui::Checkbox("last", &window_);
  ImGui::SameLine();
  ImGui::SetNextItemWidth(ImGui::GetFontSize() * 6);
  ImGui::SliderInt("decode steps", &window_steps_, 1, 1024, "%d", ImGuiSliderFlags_Logarithmic);
  ImGui::SameLine(0, 24);
  ImGui::SetNextItemWidth(ImGui::GetFontSize() * 6);
  ImGui::SliderFloat("capacity factor", &capacity_factor_, 1.0f, 4.0f, "%.2f");
  ImGui::TextDisabled("positions %lld .. %lld of %lld (%lld prompt)", (long long)d->range_begin,
                      (long long)d->range_end, (long long)d->positions,
                      (long long)d->prompt_tokens);

  ImGui::BeginChild("##expert_load_body", ImVec2(0, 0), false);
  draw_heatmaps(ctx, *d);
  draw_table(ctx, *d);
  draw_charts(ctx, *d);
  draw_strip(ctx, *d);
  ImGui::EndChild();
}

void ExpertLoad::draw_heatmaps(PanelContext& ctx, const ExpertLoadData& d) {
  const int32_t L = d.layers, E = d.experts;
  const float h = std::clamp(float(L) * 26.0f + 90.0f, 220.0f, 420.0f);
  const float w = ImGui::GetContentRegionAvail().x;
  widgets::HeatmapOptions o;
  o.x_title = "expert";
  o.y_title = "layer";
  o.x_label = [](int e) { return "E" + std::to_string(e); };
  o.y_label = layer_label;
  o.show_values = true;
  o.selected_row = ctx.selection->layer;
  o.name = "expert_load.heatmap";
  if (share_) {
    o.colormap = widgets::Colormap::Diverging;
    o.auto_range = false;
    o.lo = 0;
    o.hi = float(E) / float(std::max(1, d.top_k));
    o.centre = 1;
    o.legend_title = "load/uniform";
    o.value_format = "%.2f";
  } else {
    o.legend_title = "tokens";
    o.value_format = "%.0f";
  }
  o.tooltip = [&](int l, int e) {
    const auto& s = d.stats[size_t(l)];
    if (s.tokens == 0) return;
    ImGui::Text("%lld of %lld tokens (%.1f%%)", (long long)s.load[size_t(e)], (long long)s.tokens,
                100.0 * double(s.load[size_t(e)]) / double(s.tokens));
    ImGui::Text("%.2fx the uniform k/E", d.ratio[size_t(l) * E + e]);
    ImGui::Text("first choice %lld, mean router p %.3f", (long long)s.first_load[size_t(e)],
                s.mean_prob[size_t(e)]);
    ImGui::TextDisabled("click: choose this layer");
  };
  const auto ev = widgets::heatmap("load", share_ ? d.ratio.data() : d.counts.data(), L, E,
                                   ImVec2(w * 0.56f, h), o);
  if (ev.clicked) ctx.selection->layer = ev.row;

  ImGui::SameLine();
  widgets::HeatmapOptions c;
  c.x_title = "then expert j";
  c.y_title = "given expert i";
  c.x_label = [](int e) { return "E" + std::to_string(e); };
  c.y_label = [](int e) { return "E" + std::to_string(e); };
  c.show_values = true;
  c.value_format = "%.2f";
  c.auto_range = false;
  c.lo = 0;
  c.hi = 1;
  c.colormap = widgets::Colormap::Magma;
  c.legend_title = "P(j | i)";
  c.name = "expert_load.coactivation";
  c.tooltip = [&](int i, int j) {
    ImGui::Text("both chosen for %lld tokens; E%d chosen for %lld",
                (long long)d.coactivation.count(i, j), i, (long long)d.coactivation.count(i, i));
  };
  ImGui::BeginGroup();
  ImGui::Text("Co-activation, layer %d", d.coactivation.layer);
  widgets::heatmap("coactivation", d.coactivation_p.data(), E, E,
                   ImVec2(-1, h - ImGui::GetFrameHeightWithSpacing()), c);
  ImGui::EndGroup();
}

void ExpertLoad::draw_table(PanelContext& ctx, const ExpertLoadData& d) {
  const ImGuiTableFlags flags = ImGuiTableFlags_RowBg | ImGuiTableFlags_BordersInnerV |
                                ImGuiTableFlags_ScrollY | ImGuiTableFlags_SizingStretchProp;
  const float row_h = ImGui::GetTextLineHeightWithSpacing();
  const float h = std::min(float(d.layers + 1) * row_h + 8, 12 * row_h);
  char cf[48];
  std::snprintf(cf, sizeof cf, "drops @%.2f", capacity_factor_);
  const char* columns[] = {"layer",           "tokens",    "CV",       "max/mean", "entropy",
                           "aux Switch",      "aux top-k", "router H", "margin",   cf,
                           "same E1 (random)"};
  if (!ImGui::BeginTable("layer_metrics", 11, flags, ImVec2(0, h))) return;
  ImGui::TableSetupScrollFreeze(0, 1);
  for (const char* c : columns) ImGui::TableSetupColumn(c);
  ImGui::TableHeadersRow();
  ImGuiListClipper clipper;
  clipper.Begin(d.layers);
  while (clipper.Step())
    for (int l = clipper.DisplayStart; l < clipper.DisplayEnd; ++l) {
      const auto& s = d.stats[size_t(l)];
      ImGui::TableNextRow();
      ImGui::TableNextColumn();
      char label[16];
      std::snprintf(label, sizeof label, "L%d", l);
      if (ImGui::Selectable(label, ctx.selection->layer == l, ImGuiSelectableFlags_SpanAllColumns))
        ctx.selection->layer = l;
      auto cell = [](const char* fmt, double v) {
        ImGui::TableNextColumn();
        if (std::isnan(v))
          ImGui::TextDisabled("-");
        else
          ImGui::Text(fmt, v);
      };
      ImGui::TableNextColumn();
      ImGui::Text("%lld", (long long)s.tokens);
      cell("%.3f", s.cv);
      cell("%.2f", s.max_over_mean);
      cell("%.3f", s.load_entropy);
      cell("%.3f", s.aux_switch);
      cell("%.3f", s.aux_hf_topk);
      cell("%.3f", s.router_entropy);
      cell("%.3f", s.top1_margin);
      ImGui::TableNextColumn();
      ImGui::Text("%.1f%% (%lld)", 100.0 * s.drop_rate, (long long)s.dropped);
      ImGui::TableNextColumn();
      if (l < int(d.consecutive.size()) && d.consecutive[size_t(l)].pairs > 0)
        ImGui::Text("%.1f%% (%.1f%%)", 100.0 * d.consecutive[size_t(l)].same_first,
                    100.0 * d.consecutive[size_t(l)].random_same_first);
      else
        ImGui::TextDisabled("-");
    }
  ImGui::EndTable();
  draw_groups(d);
}

void ExpertLoad::draw_groups(const ExpertLoadData& d) {
  if (d.groups.ep <= 1 || d.group_load.empty()) return;
  ImGui::Text(
      "Expert groups (EP %d x TP %d): (token, choice) assignments each group served; "
      "balance = mean / max",
      d.groups.ep, d.groups.tp);
  const int cols = d.groups.ep + 2;
  const ImGuiTableFlags flags = ImGuiTableFlags_RowBg | ImGuiTableFlags_BordersInnerV |
                                ImGuiTableFlags_ScrollY | ImGuiTableFlags_SizingStretchProp;
  const float row_h = ImGui::GetTextLineHeightWithSpacing();
  const float h = std::min(float(d.group_load.size() + 1) * row_h + 8, 8 * row_h);
  if (!ImGui::BeginTable("expert_groups", cols, flags, ImVec2(0, h))) return;
  ImGui::TableSetupScrollFreeze(0, 1);
  ImGui::TableSetupColumn("layer");
  for (int g = 0; g < d.groups.ep; ++g)
    ImGui::TableSetupColumn(("group " + std::to_string(g)).c_str());
  ImGui::TableSetupColumn("balance");
  ImGui::TableHeadersRow();
  for (const auto& l : d.group_load) {
    ImGui::TableNextRow();
    ImGui::TableNextColumn();
    ImGui::Text("L%d", l.layer);
    for (int64_t v : l.load) {
      ImGui::TableNextColumn();
      ImGui::Text("%lld", (long long)v);
    }
    ImGui::TableNextColumn();
    if (std::isnan(l.balance))
      ImGui::TextDisabled("-");
    else
      ImGui::Text("%.3f", l.balance);
  }
  ImGui::EndTable();
}

void ExpertLoad::draw_charts(PanelContext& ctx, const ExpertLoadData& d) {
  const float w = ImGui::GetContentRegionAvail().x, h = 230;
  ImGui::BeginGroup();
  ImGui::AlignTextToFramePadding();
  ImGui::Text("Imbalance over decode steps");
  ImGui::SameLine();
  int c = cv_chart_;
  ImGui::RadioButton("max/mean", &c, 0);
  ImGui::SameLine();
  ImGui::RadioButton("CV", &c, 1);
  cv_chart_ = c;
  ImGui::SameLine();
  ImGui::SetNextItemWidth(ImGui::GetFontSize() * 5);
  ImGui::SliderInt("window", &chart_window_, 4, 512, "%d tok", ImGuiSliderFlags_Logarithmic);
  std::vector<std::string> names(d.imbalance.size());
  std::vector<widgets::LineSeries> series;
  for (size_t l = 0; l < d.imbalance.size(); ++l) {
    names[l] = layer_label(int(l));
    widgets::LineSeries s;
    s.name = names[l].c_str();
    s.x = d.step_x.data();
    s.y = d.imbalance[l].data();
    s.n = int(d.step_x.size());
    // The chosen layer stands out; the others stay as context.
    s.color = int(l) == ctx.selection->layer
                  ? IM_COL32(255, 255, 255, 255)
                  : widgets::with_alpha(widgets::category_color(int(l)), 0.7f);
    series.push_back(s);
  }
  widgets::LineChartOptions lo;
  lo.x_title = "decode step";
  lo.y_title = cv_chart_ ? "CV of expert load" : "max / mean expert load";
  if (!cv_chart_) lo.references.push_back({1.0f, "balanced"});
  lo.name = "expert_load.imbalance";
  widgets::line_chart("imbalance", series.data(), int(series.size()), ImVec2(w * 0.56f, h), lo);
  ImGui::EndGroup();

  ImGui::SameLine();
  ImGui::BeginGroup();
  const int32_t layer = std::clamp(ctx.selection->layer, 0, d.layers - 1);
  const auto& s = d.stats[size_t(layer)];
  ImGui::AlignTextToFramePadding();
  ImGui::Text("Load per expert, layer %d", layer);
  std::vector<float> load(s.load.begin(), s.load.end());
  widgets::BarSeries bars{"tokens", load.data(), 0};
  widgets::BarChartOptions bo;
  bo.x_label = [](int e) { return "E" + std::to_string(e); };
  bo.x_title = "expert";
  bo.y_title = "tokens routed";
  bo.color = [](int, int e) { return widgets::category_color(e); };
  bo.reference = float(double(s.tokens) * d.top_k / d.experts);
  bo.reference_label = "uniform k/E";
  bo.name = "expert_load.bars";
  widgets::bar_chart("expert_bars", int(load.size()), &bars, 1, ImVec2(-1, h), bo);
  ImGui::EndGroup();
}

void ExpertLoad::draw_strip(PanelContext& ctx, const ExpertLoadData& d) {
  const int rows = d.layers * d.top_k;
  ImGui::Text("Experts chosen per token (rows: layer, choice; wheel to zoom, drag to pan)");
  widgets::HeatmapOptions o;
  o.categories = d.experts;
  o.x_title = "token";
  o.y_label = [k = d.top_k](int r) {
    return "L" + std::to_string(r / k) + " #" + std::to_string(r % k + 1);
  };
  o.x_label = [&](int p) { return printable(d.texts[size_t(p)], 10); };
  o.view = &strip_view_;
  o.version = uint64_t(d.positions) * 1000003u + uint64_t(d.run);
  o.name = "expert_load.strip";
  o.tooltip = [&](int r, int p) {
    ImGui::Text("position %d: \"%s\"", p, printable(d.texts[size_t(p)]).c_str());
  };
  const float h = std::clamp(float(rows) * 18.0f + 80.0f, 150.0f, 480.0f);
  const auto ev =
      widgets::heatmap("strip", d.strip.data(), rows, int(d.positions), ImVec2(-1, h), o);
  if (ev.clicked) ctx.selection->position = ev.col;
}

}  // namespace moescope::panels
