#include "inspectors/panels/runs_view.h"

#include <imgui.h>
#include <imgui_stdlib.h>

#include <algorithm>
#include <cmath>
#include <ctime>
#include <map>

#include "inspectors/widgets/bar_chart.h"
#include "inspectors/widgets/heatmap.h"

namespace moescope::panels {

namespace {

std::vector<float> load_ratio(const storage::RunData& run, int32_t layers, int32_t experts) {
  std::vector<float> out(size_t(layers) * experts, NAN);
  const auto stats = inspectors::routing_stats(run);
  const double k = std::max<int32_t>(1, run.info.top_k);
  for (size_t l = 0; l < stats.size() && int32_t(l) < layers; ++l) {
    if (stats[l].tokens == 0) continue;
    for (int32_t e = 0; e < experts && size_t(e) < stats[l].load.size(); ++e)
      out[l * experts + size_t(e)] =
          float(double(stats[l].load[size_t(e)]) / double(stats[l].tokens) / (k / experts));
  }
  return out;
}

std::string when(int64_t unix_ns) {
  const std::time_t t = std::time_t(unix_ns / 1000000000);
  std::tm tm{};
  localtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%d %H:%M:%S", &tm);
  return buf;
}

}  // namespace

CompareData compare_runs(const storage::RunData& a, const storage::RunData& b) {
  CompareData d;
  d.a = a.id;
  d.b = b.id;
  d.layers = int32_t(std::min(a.routing.size(), b.routing.size()));
  d.experts = std::min(a.info.n_experts, b.info.n_experts);
  d.top_k = std::max<int32_t>(1, a.info.top_k);
  if (d.layers > 0 && d.experts > 0) {
    d.ratio_a = load_ratio(a, d.layers, d.experts);
    d.ratio_b = load_ratio(b, d.layers, d.experts);
    d.diff.resize(d.ratio_a.size());
    for (size_t i = 0; i < d.diff.size(); ++i) d.diff[i] = d.ratio_b[i] - d.ratio_a[i];
    d.stability = inspectors::routing_stability(a, b);
  }
  const auto sa = inspectors::op_stats(a, inspectors::OpGrouping::Name);
  const auto sb = inspectors::op_stats(b, inspectors::OpGrouping::Name);
  std::map<std::string, OpDiff> by_name;
  for (const auto& g : sa) {
    OpDiff& o = by_name[g.name];
    o.name = g.name;
    o.count_a = g.time_ns.count;
    o.mean_a = g.time_ns.mean;
    o.total_a = g.time_ns.total;
  }
  for (const auto& g : sb) {
    OpDiff& o = by_name[g.name];
    o.name = g.name;
    o.count_b = g.time_ns.count;
    o.mean_b = g.time_ns.mean;
    o.total_b = g.time_ns.total;
  }
  for (auto& [name, o] : by_name) {
    if (o.count_a > 0 && o.count_b > 0 && o.mean_a > 0) o.change = o.mean_b / o.mean_a - 1;
    d.ops.push_back(o);
  }
  return d;
}

RunsView::RunsView() : Panel("runs", "Runs") {}

void RunsView::draw_content(PanelContext& ctx) {
  draw_list(ctx);
  draw_compare(ctx);
}

void RunsView::draw_list(PanelContext& ctx) {
  const SourceStatus& src = ctx.status->source;
  if (!path_initialised_ || (!ImGui::IsAnyItemActive() && path_input_.empty())) {
    path_input_ = src.path;
    path_initialised_ = !src.path.empty();
  }
  ImGui::AlignTextToFramePadding();
  ImGui::TextUnformatted("Trace file");
  ImGui::SameLine();
  ImGui::SetNextItemWidth(-ImGui::CalcTextSize("Open  Reload  ").x - 40);
  const bool enter = ImGui::InputText("##path", &path_input_, ImGuiInputTextFlags_EnterReturnsTrue);
  ImGui::SameLine();
  if ((ImGui::Button("Open") || enter) && !path_input_.empty())
    ctx.commands->post(cmd::OpenTrace{path_input_});
  ImGui::SameLine();
  if (ImGui::Button("Reload")) ctx.commands->post(cmd::ReloadRuns{});
  ImGui::TextDisabled("%s %s%s", src.recording ? "recording into" : "browsing",
                      src.path.empty() ? "(no file: runs are kept in memory)" : src.path.c_str(),
                      src.busy ? "  (reading...)" : "");
  if (!src.error.empty()) ImGui::TextColored(ImVec4(1, 0.45f, 0.4f, 1), "%s", src.error.c_str());

  // The file's runs, plus runs of this session not yet listed (the live one).
  std::vector<storage::RunSummary> runs = src.runs;
  if (ctx.model)
    for (const auto& r : ctx.model->runs()) {
      auto it = std::find_if(runs.begin(), runs.end(), [&](const auto& x) { return x.id == r.id; });
      if (it == runs.end())
        runs.push_back(r);
      else if (it->status == storage::RunStatus::Running)
        *it = r;  // the live view is newer than the file
    }
  std::sort(runs.begin(), runs.end(), [](const auto& a, const auto& b) { return a.id > b.id; });
  if (runs.empty()) {
    ImGui::BeginChild("##noruns", ImVec2(0, 160));
    no_data("No runs yet",
            "Runs appear here as they are recorded. Generate in the console, or "
            "open a trace file written by `moescope run` or an earlier session.");
    ImGui::EndChild();
    return;
  }
  const ImGuiTableFlags flags = ImGuiTableFlags_RowBg | ImGuiTableFlags_ScrollY |
                                ImGuiTableFlags_BordersInnerV | ImGuiTableFlags_Resizable |
                                ImGuiTableFlags_SizingFixedFit;
  const float row_h = ImGui::GetTextLineHeightWithSpacing();
  if (!ImGui::BeginTable("runs", 8, flags,
                         ImVec2(0, std::min(float(runs.size() + 1) * (row_h + 4) + 8, 12 * row_h))))
    return;
  ImGui::TableSetupScrollFreeze(0, 1);
  for (const char* c : {"run", "compare", "model", "started", "seconds", "tokens", "status"})
    ImGui::TableSetupColumn(c);
  ImGui::TableSetupColumn("prompt", ImGuiTableColumnFlags_WidthStretch);
  ImGui::TableHeadersRow();
  ImGuiListClipper clipper;
  clipper.Begin(int(runs.size()));
  while (clipper.Step())
    for (int i = clipper.DisplayStart; i < clipper.DisplayEnd; ++i) {
      const auto& r = runs[size_t(i)];
      ImGui::PushID(int(r.id));
      ImGui::TableNextRow();
      ImGui::TableNextColumn();
      const std::string label = "#" + std::to_string(r.id);
      if (ImGui::Selectable(
              label.c_str(), r.id == ctx.selection->run,
              ImGuiSelectableFlags_SpanAllColumns | ImGuiSelectableFlags_AllowItemOverlap))
        ctx.commands->post(cmd::SelectRun{r.id, false});
      ImGui::TableNextColumn();
      bool cmp = r.id == ctx.selection->compare;
      if (ImGui::Checkbox("##cmp", &cmp)) ctx.commands->post(cmd::SelectRun{cmp ? r.id : -1, true});
      ImGui::TableNextColumn();
      ImGui::TextUnformatted(r.model.c_str());
      ImGui::TableNextColumn();
      ImGui::TextUnformatted(when(r.start_unix_ns).c_str());
      ImGui::TableNextColumn();
      if (r.duration_s > 0)
        ImGui::Text("%.2f", r.duration_s);
      else
        ImGui::TextDisabled("-");
      ImGui::TableNextColumn();
      ImGui::Text("%lld + %lld", (long long)r.prompt_tokens, (long long)r.generated_tokens);
      ImGui::TableNextColumn();
      ImGui::TextUnformatted(trace::run_status_name(r.status));
      ImGui::TableNextColumn();
      ImGui::TextUnformatted(printable(r.prompt, 80).c_str());
      ImGui::PopID();
    }
  ImGui::EndTable();
  ImGui::TextDisabled("Click a run to show it in every panel; tick another to compare it with it.");
}

void RunsView::draw_compare(PanelContext& ctx) {
  const int64_t a = ctx.selection->run, b = ctx.selection->compare;
  ImGui::Separator();
  if (a < 0 || b < 0 || a == b) {
    ImGui::BeginChild("##nocompare", ImVec2(0, 0));
    no_data("Compare two runs",
            "Show one run (click it) and tick \"compare\" on another: their "
            "expert load, routing stability and op timings appear here.");
    ImGui::EndChild();
    return;
  }
  uint64_t va = 0, vb = 0;
  const bool have_a = read_run(ctx, a, [&](const auto& r) { va = r.version; });
  const bool have_b = read_run(ctx, b, [&](const auto& r) { vb = r.version; });
  if (!have_a || !have_b) {
    no_data("Loading the runs...", "");
    return;
  }
  const std::string inputs = std::to_string(a) + " " + std::to_string(b) + " " +
                             std::to_string(va) + " " + std::to_string(vb);
  if (inputs != inputs_) pending_ = true;
  if (pending_) {
    auto model = ctx.model;
    if (compare_.start([=] {
          CompareData d;
          model->read(a, [&](const storage::RunData& ra) {
            model->read(b, [&](const storage::RunData& rb) { d = compare_runs(ra, rb); });
          });
          return d;
        })) {
      pending_ = false;
      inputs_ = inputs;
    }
  }
  auto d = compare_.get();
  if (!d || d->a != a || d->b != b) {
    no_data(compare_.error().empty() ? "Comparing..." : "Cannot compare", compare_.error().c_str());
    return;
  }
  ImGui::BeginChild("##compare", ImVec2(0, 0));
  ImGui::Text("Run #%lld (A) against run #%lld (B)", (long long)a, (long long)b);
  if (d->layers > 0) {
    const float w = (ImGui::GetContentRegionAvail().x - 2 * ImGui::GetStyle().ItemSpacing.x) / 3;
    const float h = std::clamp(float(d->layers) * 24.0f + 90.0f, 200.0f, 360.0f);
    auto map = [&](const char* id, const char* title, const std::vector<float>& v, bool diff) {
      widgets::HeatmapOptions o;
      o.colormap = widgets::Colormap::Diverging;
      o.auto_range = !diff ? false : true;
      o.symmetric = diff;
      o.lo = 0;
      o.hi = float(d->experts) / float(d->top_k);  // everything on k experts
      if (!diff) o.centre = 1;
      o.legend_title = diff ? "B - A" : "ratio";
      o.x_label = [](int e) { return "E" + std::to_string(e); };
      o.y_label = [](int l) { return "L" + std::to_string(l); };
      o.show_values = true;
      o.value_format = "%.2f";
      o.y_title = title;
      o.name = id;
      widgets::heatmap(id, v.data(), d->layers, d->experts, ImVec2(w, h), o);
    };
    map("runs.load_a", "A: load / uniform", d->ratio_a, false);
    ImGui::SameLine();
    map("runs.load_b", "B: load / uniform", d->ratio_b, false);
    ImGui::SameLine();
    map("runs.load_diff", "B - A", d->diff, true);

    // Routing stability per layer over the common prefix.
    ImGui::Text("Routing stability over the %lld positions whose tokens agree",
                (long long)d->stability.common_prefix);
    if (d->stability.common_prefix == 0)
      ImGui::TextDisabled(
          "The runs differ from their first token: compare runs of the same prompt "
          "(e.g. two sampling settings) to see how stable the routing is.");
    std::vector<float> overlap, agree;
    for (const auto& l : d->stability.layers) {
      overlap.push_back(float(l.topk_overlap));
      agree.push_back(float(l.top1_agreement));
    }
    widgets::BarSeries series[2] = {{"top-k overlap", overlap.data(), IM_COL32(86, 156, 214, 255)},
                                    {"top-1 agreement", agree.data(), IM_COL32(230, 160, 60, 255)}};
    widgets::BarChartOptions bo;
    bo.x_label = [](int l) { return "L" + std::to_string(l); };
    bo.x_title = "layer";
    bo.auto_range = false;
    bo.y_min = 0;
    bo.y_max = 1.05f;
    bo.name = "runs.stability";
    widgets::bar_chart("stability", int(overlap.size()), series, 2, ImVec2(-1, 200), bo);
  }
  // Op statistics, A against B.
  ImGui::Text("Op timings (mean per call)");
  const ImGuiTableFlags flags = ImGuiTableFlags_Sortable | ImGuiTableFlags_RowBg |
                                ImGuiTableFlags_BordersInnerV | ImGuiTableFlags_SizingStretchSame;
  if (d->ops.empty()) {
    ImGui::TextDisabled("neither run recorded op timings");
  } else if (ImGui::BeginTable("opdiff", 7, flags)) {
    const char* cols[] = {"op", "count A", "count B", "mean A", "mean B", "change", "total B - A"};
    for (int i = 0; i < 7; ++i)
      ImGui::TableSetupColumn(
          cols[i],
          i == 6 ? ImGuiTableColumnFlags_DefaultSort | ImGuiTableColumnFlags_PreferSortDescending
                 : 0,
          i == 0 ? 2.5f : 1.0f);
    ImGui::TableHeadersRow();
    if (auto* s = ImGui::TableGetSortSpecs(); s && s->SpecsCount > 0) {
      op_sort_ = s->Specs[0].ColumnIndex;
      op_descending_ = s->Specs[0].SortDirection == ImGuiSortDirection_Descending;
    }
    std::vector<OpDiff> rows = d->ops;
    auto key = [&](const OpDiff& o) -> double {
      switch (op_sort_) {
        case 1:
          return double(o.count_a);
        case 2:
          return double(o.count_b);
        case 3:
          return o.mean_a;
        case 4:
          return o.mean_b;
        case 5:
          return o.change;
        default:
          return o.total_b - o.total_a;
      }
    };
    std::stable_sort(rows.begin(), rows.end(), [&](const OpDiff& x, const OpDiff& y) {
      if (op_sort_ == 0) return op_descending_ ? x.name > y.name : x.name < y.name;
      const double p = key(x), q = key(y);
      if (std::isnan(p) != std::isnan(q)) return std::isnan(q);
      return op_descending_ ? p > q : p < q;
    });
    for (const auto& o : rows) {
      ImGui::TableNextRow();
      ImGui::TableNextColumn();
      ImGui::TextUnformatted(o.name.c_str());
      ImGui::TableNextColumn();
      ImGui::Text("%lld", (long long)o.count_a);
      ImGui::TableNextColumn();
      ImGui::Text("%lld", (long long)o.count_b);
      ImGui::TableNextColumn();
      ImGui::TextUnformatted(widgets::format_duration_ns(o.mean_a).c_str());
      ImGui::TableNextColumn();
      ImGui::TextUnformatted(widgets::format_duration_ns(o.mean_b).c_str());
      ImGui::TableNextColumn();
      if (std::isnan(o.change))
        ImGui::TextDisabled("-");
      else
        ImGui::TextColored(o.change > 0.05    ? ImVec4(1, 0.5f, 0.45f, 1)
                           : o.change < -0.05 ? ImVec4(0.5f, 0.9f, 0.5f, 1)
                                              : ImVec4(0.8f, 0.8f, 0.8f, 1),
                           "%+.1f%%", 100.0 * o.change);
      ImGui::TableNextColumn();
      ImGui::TextUnformatted(widgets::format_duration_ns(o.total_b - o.total_a).c_str());
    }
    ImGui::EndTable();
  }
  ImGui::EndChild();
}

}  // namespace moescope::panels
