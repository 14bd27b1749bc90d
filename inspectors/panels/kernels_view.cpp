#include "inspectors/panels/kernels_view.h"

#include <imgui.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <map>
#include <nlohmann/json.hpp>
#include <tuple>

#include "inspectors/widgets/bar_chart.h"
#include "inspectors/widgets/colormap.h"

namespace moescope::panels {

namespace {

using inspectors::OpGroup;
using inspectors::OpGrouping;

constexpr OpGrouping kGroupings[] = {OpGrouping::Name,  OpGrouping::NameLayer, OpGrouping::Kind,
                                     OpGrouping::Layer, OpGrouping::Expert,    OpGrouping::Device};
constexpr const char* kGroupingNames[] = {"op",    "op and layer", "kind",
                                          "layer", "expert",       "device"};

// Device names from RunInfo::devices_json (["cpu"], or GPUs), "device N" when unknown.
std::vector<std::string> device_names(const storage::RunData& run) {
  std::vector<std::string> out;
  try {
    const auto j = nlohmann::json::parse(run.info.devices_json);
    for (const auto& d : j) out.push_back(d.is_string() ? d.get<std::string>() : d.dump());
  } catch (const std::exception&) {
  }
  return out;
}

bool matches(const storage::OpRecord& op, const storage::RunData& run, const OpGroup& g,
             OpGrouping by) {
  auto str = [&](int32_t i) -> const std::string& { return run.strings[size_t(i)]; };
  switch (by) {
    case OpGrouping::Name:
      return str(op.name) == g.name;
    case OpGrouping::NameLayer:
      return str(op.name) == g.name && op.layer == g.layer;
    case OpGrouping::Kind:
      return str(op.kind) == g.kind;
    case OpGrouping::Layer:
      return op.layer == g.layer;
    case OpGrouping::Expert:
      return op.expert == g.expert;
    case OpGrouping::Device:
      return op.device == g.device;
  }
  return false;
}

}  // namespace

ImU32 op_kind_color(int32_t kind) {
  // Offset from the expert palette's start, so an op kind and expert 0 do not share a colour
  // in the same lane.
  return widgets::category_color(kind + 3);
}

std::string group_key(const OpGroup& g, OpGrouping by) {
  switch (by) {
    case OpGrouping::Name:
      return g.name;
    case OpGrouping::NameLayer:
      return g.name + (g.layer >= 0 ? " L" + std::to_string(g.layer) : "");
    case OpGrouping::Kind:
      return g.kind;
    case OpGrouping::Layer:
      return g.layer >= 0 ? "L" + std::to_string(g.layer) : "outside layers";
    case OpGrouping::Expert:
      return g.expert >= 0 ? "E" + std::to_string(g.expert) : "not an expert";
    case OpGrouping::Device:
      return "device " + std::to_string(g.device);
  }
  return "";
}

std::vector<widgets::TimelineLane> build_op_lanes(const storage::RunData& run, int64_t* t_min,
                                                  int64_t* t_max) {
  std::map<std::pair<int32_t, int32_t>, std::vector<int32_t>> by_lane;
  *t_min = INT64_MAX;
  *t_max = INT64_MIN;
  for (size_t i = 0; i < run.ops.size(); ++i) {
    const auto& op = run.ops[i];
    by_lane[{op.device, op.stream}].push_back(int32_t(i));
    *t_min = std::min(*t_min, op.start_ns);
    *t_max = std::max(*t_max, op.end_ns);
  }
  if (run.ops.empty()) *t_min = *t_max = 0;
  const auto devices = device_names(run);
  std::vector<widgets::TimelineLane> lanes;
  for (auto& [key, idx] : by_lane) {
    std::stable_sort(idx.begin(), idx.end(), [&](int32_t a, int32_t b) {
      return run.ops[size_t(a)].start_ns < run.ops[size_t(b)].start_ns;
    });
    widgets::TimelineLane lane;
    const std::string dev = size_t(key.first) < devices.size()
                                ? devices[size_t(key.first)]
                                : "device " + std::to_string(key.first);
    lane.label = dev + (dev == "cpu" ? " thread " : " stream ") + std::to_string(key.second);
    lane.rows.resize(3);  // steps, layers, experts; op rows follow
    // A range item grows while consecutive ops share its key; a new one never starts before
    // the previous item of its row ends (nested ops may overhang), so rows stay disjoint.
    auto range = [](widgets::TimelineRow& row, bool start_new, int32_t ref, int64_t start,
                    int64_t end, ImU32 color) {
      if (!start_new && !row.items.empty()) {
        row.items.back().end = std::max(row.items.back().end, end);
        return;
      }
      if (!row.items.empty()) start = std::max(start, row.items.back().end);
      row.items.push_back({start, std::max(start, end), ref, color});
    };
    std::vector<int64_t> row_end;  // per op row, the end of its last op
    int64_t last_step = -1;
    int32_t last_layer = -2, last_expert = -2;
    for (int32_t i : idx) {
      const auto& op = run.ops[size_t(i)];
      const bool new_step = op.step != last_step;
      range(lane.rows[0], new_step, int32_t(op.step), op.start_ns, op.end_ns,
            op.step % 2 ? IM_COL32(90, 96, 112, 255) : IM_COL32(70, 76, 92, 255));
      if (op.layer >= 0)
        range(lane.rows[1], new_step || op.layer != last_layer, op.layer, op.start_ns, op.end_ns,
              op.layer % 2 ? IM_COL32(64, 110, 160, 255) : IM_COL32(52, 88, 130, 255));
      if (op.expert >= 0)
        range(lane.rows[2], new_step || op.layer != last_layer || op.expert != last_expert,
              op.expert, op.start_ns, op.end_ns, widgets::category_color(op.expert));
      last_step = op.step;
      last_layer = op.layer;
      last_expert = op.expert;
      // The first op row that is free at this op's start (nested ops go below their parent).
      size_t r = 0;
      while (r < row_end.size() && row_end[r] > op.start_ns) ++r;
      if (r == row_end.size()) {
        row_end.push_back(0);
        lane.rows.emplace_back();
      }
      row_end[r] = op.end_ns;
      lane.rows[3 + r].items.push_back({op.start_ns, op.end_ns, i, op_kind_color(op.kind)});
    }
    lanes.push_back(std::move(lane));
  }
  return lanes;
}

KernelsView::KernelsView() : Panel("kernels", "Kernels and ops") {}

bool KernelsView::set(const std::string& key, const std::string& value) {
  if (key == "group") {
    for (size_t i = 0; i < std::size(kGroupings); ++i)
      if (value == inspectors::op_grouping_name(kGroupings[i])) {
        grouping_ = kGroupings[i];
        selected_.clear();
        return true;
      }
    return false;
  }
  if (key == "select") {
    selected_ = value;
    return true;
  }
  return false;
}

void KernelsView::refresh(const PanelContext& ctx) {
  if (!ceilings_loaded_) {
    // The machine's ceilings are measured once by `moescope bench --ceilings`.
    ceilings_loaded_ = true;
    try {
      ceilings_ = inspectors::load_ceilings(inspectors::default_ceilings_path());
      if (!ceilings_)
        ceilings_note_ = "no ceilings measured on this machine: run `moescope bench --ceilings`";
    } catch (const std::exception& e) {
      ceilings_note_ = e.what();
    }
  }
  const int64_t run = ctx.selection->run;
  const std::string inputs =
      std::to_string(run) + " " + std::to_string(int(grouping_)) + " " + selected_;
  // Grouping 100k+ ops takes a few milliseconds: at most twice a second while a run grows.
  if (!data_.due(ctx, run, inputs, 0.5)) return;
  auto model = ctx.model;
  const OpGrouping by = grouping_;
  const std::string selected = selected_;
  const std::optional<inspectors::MachineCeilings> ceilings = ceilings_;
  data_.start(
      [=] {
        OpsData d;
        model->read(run, [&](const storage::RunData& r) {
          d.run = r.id;
          d.ops = r.ops.size();
          d.strings = r.strings;
          d.lanes = build_op_lanes(r, &d.t_min, &d.t_max);
          const inspectors::MachineCeilings* c = ceilings ? &*ceilings : nullptr;
          d.groups = inspectors::op_stats(r, by, {}, c);
          d.kinds = inspectors::op_stats(r, OpGrouping::Kind, {}, c);
          d.names =
              by == OpGrouping::Name ? d.groups : inspectors::op_stats(r, OpGrouping::Name, {}, c);
          // The histogram of the selected group (the busiest one when none is selected).
          const OpGroup* g = d.groups.empty() ? nullptr : &d.groups[0];
          for (const auto& x : d.groups)
            if (group_key(x, by) == selected) g = &x;
          if (g) {
            std::vector<double> durations;
            for (const auto& op : r.ops)
              if (matches(op, r, *g, by)) durations.push_back(double(op.end_ns - op.start_ns));
            d.histogram = widgets::make_histogram(durations, 40, true);
            d.selected_summary = g->time_ns;
          }
        });
        return d;
      },
      inputs);
}

void KernelsView::draw_content(PanelContext& ctx) {
  refresh(ctx);
  auto d = data_.shown(ctx, ctx.selection->run);
  if (!d) return;
  if (d->ops == 0) {
    no_data("No op timings in this run",
            "Op capture was off. Turn on \"ops\" in Model & capture and generate again; timings "
            "appear here while the model runs.");
    return;
  }
  ImGui::BeginChild("##kernels_body", ImVec2(0, 0), false);
  draw_timeline(ctx, *d);
  draw_table(ctx, *d);
  draw_charts(ctx, *d);
  ImGui::EndChild();
}

void KernelsView::draw_timeline(PanelContext& ctx, const OpsData& d) {
  ImGui::Text("Timeline: %zu ops over %s", d.ops,
              widgets::format_duration_ns(double(d.t_max - d.t_min)).c_str());
  ImGui::SameLine();
  ImGui::TextDisabled(
      "(wheel: zoom, drag: pan, double-click: fit; rows: step, layer, expert, ops)");
  widgets::TimelineOptions o;
  o.view = &view_;
  o.t_min = d.t_min;
  o.t_max = d.t_max;
  o.name = "kernels.timeline";
  o.label = [&](int, int row, const widgets::TimelineItem& it) -> std::string {
    switch (row) {
      case 0:
        return it.ref == 0 ? "prefill" : "step " + std::to_string(it.ref);
      case 1:
        return "layer " + std::to_string(it.ref);
      case 2:
        return "E" + std::to_string(it.ref);
      default: {
        std::string name;
        read_run(ctx, d.run, [&](const storage::RunData& r) {
          if (size_t(it.ref) < r.ops.size()) name = r.strings[size_t(r.ops[size_t(it.ref)].name)];
        });
        return name;
      }
    }
  };
  o.tooltip = [&](int, int row, const widgets::TimelineItem& it) {
    const std::string dur = widgets::format_duration_ns(double(it.end - it.start));
    if (row == 0) {
      ImGui::Text("%s: %s",
                  it.ref == 0 ? "prefill" : ("decode step " + std::to_string(it.ref)).c_str(),
                  dur.c_str());
      return;
    }
    if (row == 1 || row == 2) {
      ImGui::Text("%s %d: %s", row == 1 ? "layer" : "expert", it.ref, dur.c_str());
      return;
    }
    read_run(ctx, d.run, [&](const storage::RunData& r) {
      if (size_t(it.ref) >= r.ops.size()) return;
      const auto& op = r.ops[size_t(it.ref)];
      const double ns = double(std::max<int64_t>(1, op.end_ns - op.start_ns));
      ImGui::Text("%s", r.strings[size_t(op.name)].c_str());
      ImGui::TextDisabled("%s, step %lld, layer %d, expert %d", r.strings[size_t(op.kind)].c_str(),
                          (long long)op.step, op.layer, op.expert);
      ImGui::Text("%s", widgets::format_duration_ns(ns).c_str());
      ImGui::Text("%s moved, %.2f GB/s", widgets::format_bytes(double(op.bytes)).c_str(),
                  double(op.bytes) / ns);
      ImGui::Text("%s FLOP, %.2f GFLOP/s", widgets::format_number(double(op.flops)).c_str(),
                  double(op.flops) / ns);
    });
  };
  float h = 0;
  o.row_height = ImGui::GetTextLineHeight() + 4;
  h = widgets::timeline_height(d.lanes, o);
  const auto ev = widgets::timeline("timeline", d.lanes, ImVec2(-1, std::min(h, 340.0f)), o);
  if (ev.clicked && ev.row >= 3) {
    read_run(ctx, d.run, [&](const storage::RunData& r) {
      if (size_t(ev.item->ref) >= r.ops.size()) return;
      grouping_ = OpGrouping::Name;
      selected_ = r.strings[size_t(r.ops[size_t(ev.item->ref)].name)];
    });
  }
}

void KernelsView::draw_table(PanelContext& ctx, const OpsData& d) {
  ImGui::AlignTextToFramePadding();
  ImGui::TextUnformatted("Op statistics by");
  ImGui::SameLine();
  int g = 0;
  for (size_t i = 0; i < std::size(kGroupings); ++i)
    if (kGroupings[i] == grouping_) g = int(i);
  ImGui::SetNextItemWidth(ImGui::GetFontSize() * 9);
  if (ImGui::Combo("##grouping", &g, kGroupingNames, int(std::size(kGroupingNames)))) {
    grouping_ = kGroupings[size_t(g)];
    selected_.clear();
  }
  ImGui::SameLine();
  ImGui::TextDisabled("click a row for its duration histogram");
  const char* columns[] = {"group", "kind",    "count",     "total",      "share",
                           "mean",  "p50",     "p90",       "p99",        "max",
                           "GB/s",  "GFLOP/s", "% peak BW", "% peak FLOP"};
  constexpr int kColumns = 14;
  const ImGuiTableFlags flags = ImGuiTableFlags_Sortable | ImGuiTableFlags_RowBg |
                                ImGuiTableFlags_ScrollY | ImGuiTableFlags_BordersInnerV |
                                ImGuiTableFlags_Resizable | ImGuiTableFlags_SizingStretchProp;
  const float row_h = ImGui::GetTextLineHeightWithSpacing();
  if (!ImGui::BeginTable("op_stats", kColumns, flags,
                         ImVec2(0, std::min(float(d.groups.size() + 1) * row_h + 6, 11 * row_h))))
    return;
  ImGui::TableSetupScrollFreeze(1, 1);
  for (int i = 0; i < kColumns; ++i)
    ImGui::TableSetupColumn(
        columns[i],
        (i == 3 ? ImGuiTableColumnFlags_DefaultSort | ImGuiTableColumnFlags_PreferSortDescending
                : 0) |
            (i == 0 ? ImGuiTableColumnFlags_WidthStretch : 0),
        i == 0 ? 3.0f : 1.0f);
  ImGui::TableHeadersRow();
  if (ImGuiTableSortSpecs* specs = ImGui::TableGetSortSpecs(); specs && specs->SpecsCount > 0) {
    sort_column_ = specs->Specs[0].ColumnIndex;
    sort_descending_ = specs->Specs[0].SortDirection == ImGuiSortDirection_Descending;
  }
  auto value = [&](const OpGroup& x) -> double {
    switch (sort_column_) {
      case 2:
        return double(x.time_ns.count);
      case 3:
        return x.time_ns.total;
      case 4:
        return x.time_share;
      case 5:
        return x.time_ns.mean;
      case 6:
        return x.time_ns.p50;
      case 7:
        return x.time_ns.p90;
      case 8:
        return x.time_ns.p99;
      case 9:
        return x.time_ns.max;
      case 10:
        return x.gbps;
      case 11:
        return x.gflops;
      case 12:
        return x.bandwidth_fraction;
      case 13:
        return x.compute_fraction;
      default:
        return 0;
    }
  };
  std::vector<size_t> order(d.groups.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) {
    if (sort_column_ <= 1) {
      const std::string ka =
          sort_column_ == 0 ? group_key(d.groups[a], grouping_) : d.groups[a].kind;
      const std::string kb =
          sort_column_ == 0 ? group_key(d.groups[b], grouping_) : d.groups[b].kind;
      return sort_descending_ ? ka > kb : ka < kb;
    }
    const double x = value(d.groups[a]), y = value(d.groups[b]);
    if (std::isnan(x) != std::isnan(y)) return std::isnan(y);
    return sort_descending_ ? x > y : x < y;
  });
  ImGuiListClipper clipper;
  clipper.Begin(int(order.size()));
  while (clipper.Step())
    for (int i = clipper.DisplayStart; i < clipper.DisplayEnd; ++i) {
      const OpGroup& x = d.groups[order[size_t(i)]];
      const std::string key = group_key(x, grouping_);
      ImGui::TableNextRow();
      ImGui::TableNextColumn();
      if (ImGui::Selectable((key + "##" + std::to_string(i)).c_str(), key == selected_,
                            ImGuiSelectableFlags_SpanAllColumns))
        selected_ = key;
      ImGui::TableNextColumn();
      ImGui::TextUnformatted(x.kind.c_str());
      ImGui::TableNextColumn();
      ImGui::Text("%lld", (long long)x.time_ns.count);
      for (double ns : {x.time_ns.total}) {
        ImGui::TableNextColumn();
        ImGui::TextUnformatted(widgets::format_duration_ns(ns).c_str());
      }
      ImGui::TableNextColumn();
      ImGui::Text("%.1f%%", 100.0 * x.time_share);
      for (double ns :
           {x.time_ns.mean, x.time_ns.p50, x.time_ns.p90, x.time_ns.p99, x.time_ns.max}) {
        ImGui::TableNextColumn();
        ImGui::TextUnformatted(widgets::format_duration_ns(ns).c_str());
      }
      for (double v : {x.gbps, x.gflops}) {
        ImGui::TableNextColumn();
        ImGui::Text("%.2f", v);
      }
      for (double f : {x.bandwidth_fraction, x.compute_fraction}) {
        ImGui::TableNextColumn();
        if (std::isnan(f))
          ImGui::TextDisabled("-");
        else
          ImGui::Text("%.1f%%", 100.0 * f);
      }
    }
  ImGui::EndTable();
}

void KernelsView::draw_charts(PanelContext& ctx, const OpsData& d) {
  const float w = ImGui::GetContentRegionAvail().x, h = 220;
  const float third = (w - 2 * ImGui::GetStyle().ItemSpacing.x) / 3;
  // The duration histogram of the selected group.
  ImGui::BeginGroup();
  const std::string sel =
      selected_.empty() && !d.groups.empty() ? group_key(d.groups[0], grouping_) : selected_;
  ImGui::Text("Durations: %s", sel.c_str());
  widgets::HistogramOptions ho;
  ho.as_duration = true;
  ho.x_title = "duration (log)";
  ho.name = "kernels.histogram";
  const auto& s = d.selected_summary;
  if (s.count > 0) ho.markers = {{s.p50, "p50"}, {s.p90, "p90"}, {s.p99, "p99"}};
  widgets::histogram("durations", d.histogram, ImVec2(third, h), ho);
  ImGui::EndGroup();

  // Time by op kind.
  ImGui::SameLine();
  ImGui::BeginGroup();
  ImGui::TextUnformatted("Time by op kind");
  std::vector<float> totals;
  std::vector<int32_t> kind_ids;
  for (const auto& k : d.kinds) {
    totals.push_back(float(k.time_ns.total));
    const auto it = std::find(d.strings.begin(), d.strings.end(), k.kind);
    kind_ids.push_back(int32_t(it - d.strings.begin()));
  }
  widgets::BarSeries bars{"time", totals.data(), 0};
  widgets::BarChartOptions bo;
  bo.x_label = [&](int i) { return d.kinds[size_t(i)].kind; };
  bo.color = [&](int, int i) { return op_kind_color(kind_ids[size_t(i)]); };
  bo.as_duration = true;
  bo.y_title = "total time";
  bo.tooltip = [&](int i) {
    ImGui::Text("%.1f%% of op time", 100.0 * d.kinds[size_t(i)].time_share);
  };
  bo.name = "kernels.kinds";
  widgets::bar_chart("kinds", int(totals.size()), &bars, 1, ImVec2(third, h), bo);
  ImGui::EndGroup();

  // Achieved throughput of the busiest ops against the ceilings.
  ImGui::SameLine();
  ImGui::BeginGroup();
  static bool show_flops = false;
  ImGui::TextUnformatted("Achieved");
  ImGui::SameLine();
  int m = show_flops;
  ImGui::RadioButton("GB/s", &m, 0);
  ImGui::SameLine();
  ImGui::RadioButton("GFLOP/s", &m, 1);
  show_flops = m;
  const size_t n = std::min<size_t>(d.names.size(), 10);
  std::vector<float> rates(n);
  for (size_t i = 0; i < n; ++i) rates[i] = float(show_flops ? d.names[i].gflops : d.names[i].gbps);
  widgets::BarSeries rs{show_flops ? "GFLOP/s" : "GB/s", rates.data(), IM_COL32(86, 156, 214, 255)};
  widgets::BarChartOptions ro;
  ro.x_label = [&](int i) { return printable(d.names[size_t(i)].name, 6); };
  ro.y_title = show_flops ? "GFLOP/s (top ops by time)" : "GB/s (top ops by time)";
  ro.tooltip = [&](int i) { ImGui::Text("%s", d.names[size_t(i)].name.c_str()); };
  if (ceilings_) {
    ro.reference = float(show_flops ? ceilings_->gemm_gflops : ceilings_->read_gbps);
    ro.reference_label = show_flops ? "GEMM ceiling" : "read bandwidth ceiling";
  }
  ro.name = "kernels.throughput";
  widgets::bar_chart(
      "throughput", int(n), &rs, 1,
      ImVec2(-1, h - (ceilings_note_.empty() ? 0 : ImGui::GetTextLineHeightWithSpacing())), ro);
  if (!ceilings_note_.empty()) ImGui::TextDisabled("%s", ceilings_note_.c_str());
  ImGui::EndGroup();
}

}  // namespace moescope::panels
