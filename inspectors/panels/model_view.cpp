#include "inspectors/panels/model_view.h"

#include <imgui.h>
#include <imgui_stdlib.h>

#include <algorithm>
#include <nlohmann/json.hpp>

#include "inspectors/widgets/plot_frame.h"

namespace moescope::panels {

namespace {

void kv_table(const char* id, const std::vector<KeyValue>& rows) {
  if (!ImGui::BeginTable(id, 2, ImGuiTableFlags_RowBg | ImGuiTableFlags_SizingStretchProp)) return;
  ImGui::TableSetupColumn("key", 0, 1.0f);
  ImGui::TableSetupColumn("value", 0, 1.4f);
  for (const auto& kv : rows) {
    ImGui::TableNextRow();
    ImGui::TableNextColumn();
    ImGui::TextDisabled("%s", kv.key.c_str());
    ImGui::TableNextColumn();
    ImGui::TextUnformatted(kv.value.c_str());
  }
  ImGui::EndTable();
}

// A flat JSON object as key / value rows (nested values printed compactly).
std::vector<KeyValue> json_rows(const std::string& text) {
  std::vector<KeyValue> rows;
  try {
    const auto j = nlohmann::json::parse(text);
    if (j.is_object()) {
      for (const auto& [k, v] : j.items()) {
        std::string value = v.is_string() ? v.get<std::string>() : v.dump();
        if (value == "9223372036854775807") value = "end of run";  // INT64_MAX: no limit
        if (value == "[]") value = "all";                          // an empty selection list
        rows.push_back({k, value});
      }
    } else {
      rows.push_back({"", j.dump()});
    }
  } catch (const std::exception&) {
    if (!text.empty()) rows.push_back({"", text});
  }
  return rows;
}

}  // namespace

ModelView::ModelView() : Panel("model", "Model and capture") {}

void ModelView::draw_content(PanelContext& ctx) {
  const float w = ImGui::GetContentRegionAvail().x;
  ImGui::BeginChild("##model_left", ImVec2(w * 0.55f, 0), false);
  if (ctx.status->engine.state == EngineState::Ready ||
      ctx.status->engine.state == EngineState::Generating)
    draw_model(ctx);
  else
    draw_run_record(ctx);
  ImGui::EndChild();
  ImGui::SameLine();
  ImGui::BeginChild("##model_right", ImVec2(0, 0), true);
  draw_capture(ctx);
  ImGui::EndChild();
}

void ModelView::draw_model(PanelContext& ctx) {
  const ModelFacts& m = ctx.status->engine.model;
  ImGui::Text("%s", m.name.c_str());
  ImGui::TextDisabled("%s", m.dir.c_str());
  if (ImGui::CollapsingHeader("Configuration", ImGuiTreeNodeFlags_DefaultOpen))
    kv_table("config", m.config);
  if (ImGui::CollapsingHeader("Parameters", ImGuiTreeNodeFlags_DefaultOpen))
    kv_table("params", m.params);
  if (ImGui::CollapsingHeader("Memory", ImGuiTreeNodeFlags_DefaultOpen))
    kv_table("memory", m.memory);
  if (ImGui::CollapsingHeader("Devices and parallel layout", ImGuiTreeNodeFlags_DefaultOpen)) {
    std::vector<KeyValue> rows;
    for (size_t i = 0; i < m.devices.size(); ++i)
      rows.push_back({"device " + std::to_string(i), m.devices[i]});
    rows.push_back({"layout", m.layout});
    kv_table("devices", rows);
  }
}

void ModelView::draw_run_record(PanelContext& ctx) {
  const bool found = read_run(ctx, ctx.selection->run, [&](const storage::RunData& r) {
    ImGui::Text("Run #%lld: %s", (long long)r.id, r.info.model.c_str());
    ImGui::TextDisabled("%s", r.info.model_dir.c_str());
    if (ctx.status->engine.state == EngineState::Loading)
      ImGui::TextDisabled("(the model is loading; this is what the run recorded)");
    if (ImGui::CollapsingHeader("Configuration (as recorded)", ImGuiTreeNodeFlags_DefaultOpen))
      kv_table("config", json_rows(r.info.config_json));
    if (ImGui::CollapsingHeader("Devices and parallel layout", ImGuiTreeNodeFlags_DefaultOpen)) {
      auto rows = json_rows(r.info.devices_json);
      auto layout = json_rows(r.info.layout_json);
      rows.insert(rows.end(), layout.begin(), layout.end());
      if (layout.empty()) rows.push_back({"layout", "single device"});
      kv_table("devices", rows);
    }
    if (ImGui::CollapsingHeader("Machine")) kv_table("machine", json_rows(r.info.machine_json));
  });
  if (!found) {
    if (ctx.status->engine.state == EngineState::Failed)
      no_data("The model could not be loaded", ctx.status->engine.message.c_str());
    else if (ctx.status->engine.state == EngineState::Loading)
      no_data("Loading the model...", ctx.status->engine.message.c_str());
    else
      no_run(ctx);
  }
}

void ModelView::draw_capture(PanelContext& ctx) {
  if (!ctx.settings) return;
  CaptureRequest& c = ctx.settings->capture;
  if (!texts_initialised_) {
    layers_text_ = format_index_list(c.attention_layers);
    heads_text_ = format_index_list(c.attention_heads);
    texts_initialised_ = true;
  }
  ImGui::TextUnformatted("Capture for the next run");
  ImGui::Separator();
  ImGui::Checkbox("routing (router probabilities, experts and gates)", &c.routing);
  ImGui::Checkbox("op timings (with bytes and FLOPs)", &c.ops);
  ImGui::Checkbox("prompt log-probabilities", &c.prompt_logprobs);
  ImGui::Checkbox("attention maps", &c.attention);
  if (!c.attention) ImGui::BeginDisabled();
  const float fs = ImGui::GetFontSize();
  ImGui::SetNextItemWidth(fs * 8);
  if (ImGui::InputTextWithHint("layers", "all", &layers_text_))
    layers_ok_ = parse_index_list(layers_text_, &c.attention_layers);
  if (!layers_ok_) {
    ImGui::SameLine();
    ImGui::TextColored(ImVec4(1, 0.45f, 0.4f, 1), "e.g. 0,2,5-7");
  }
  ImGui::SetNextItemWidth(fs * 8);
  if (ImGui::InputTextWithHint("query heads", "all", &heads_text_))
    heads_ok_ = parse_index_list(heads_text_, &c.attention_heads);
  if (!heads_ok_) {
    ImGui::SameLine();
    ImGui::TextColored(ImVec4(1, 0.45f, 0.4f, 1), "e.g. 0-3");
  }
  ImGui::SetNextItemWidth(fs * 8);
  int64_t step = 1;
  ImGui::InputScalar("from step (0 = prefill)", ImGuiDataType_S64, &c.attention_first_step, &step);
  c.attention_first_step = std::max<int64_t>(0, c.attention_first_step);
  ImGui::SetNextItemWidth(fs * 8);
  int budget = int(c.attention_budget_mb);
  ImGui::SliderInt("budget (MiB of f16)", &budget, 1, 4096, "%d", ImGuiSliderFlags_Logarithmic);
  c.attention_budget_mb = budget;
  ImGui::SetNextItemWidth(fs * 8);
  int cells_k = int(c.attention_prompt_max_cells >> 10);
  ImGui::SliderInt("prompt map (k cells per head)", &cells_k, 16, 16384, "%d",
                   ImGuiSliderFlags_Logarithmic);
  c.attention_prompt_max_cells = int64_t(cells_k) << 10;
  if (!c.attention) ImGui::EndDisabled();

  // What the budget buys: bytes per decode step at a context of S keys.
  const ModelFacts& m = ctx.status->engine.model;
  if (m.n_layers > 0 && c.attention) {
    const int64_t layers =
        c.attention_layers.empty() ? m.n_layers : int64_t(c.attention_layers.size());
    const int64_t heads = c.attention_heads.empty() ? m.n_heads : int64_t(c.attention_heads.size());
    const int64_t s = std::max<int64_t>(1, std::min<int64_t>(m.context, 1024));
    const double per_step = double(layers * heads * s * 2);
    ImGui::Spacing();
    ImGui::TextWrapped(
        "At %lld keys a decode step adds %s (%lld layers x %lld heads); the budget "
        "lasts about %.0f such steps.",
        (long long)s, widgets::format_bytes(per_step).c_str(), (long long)layers, (long long)heads,
        double(c.attention_budget_mb << 20) / per_step);
  }
  // What the shown run actually recorded.
  read_run(ctx, ctx.selection->run, [&](const storage::RunData& r) {
    ImGui::Spacing();
    ImGui::Separator();
    ImGui::Text("Run #%lld recorded", (long long)r.id);
    kv_table("run_capture", json_rows(r.info.capture_json));
    ImGui::Text("%zu ops, %zu attention records", r.ops.size(), r.attention.size());
    if (!r.memory.empty()) {
      int64_t rss = 0;
      for (const auto& m : r.memory) rss = std::max(rss, m.rss_bytes);
      ImGui::Text("memory: %zu samples, RSS at most %.1f MiB, peak %.1f MiB", r.memory.size(),
                  double(rss) / double(1 << 20),
                  double(r.memory.back().peak_rss_bytes) / double(1 << 20));
    }
    if (r.drops.total() > 0)
      ImGui::TextColored(ImVec4(1, 0.7f, 0.3f, 1),
                         "dropped (queues full): %lld tokens, %lld routing, %lld attention, %lld "
                         "ops, %lld memory samples",
                         (long long)r.drops.tokens, (long long)r.drops.routing,
                         (long long)r.drops.attention, (long long)r.drops.ops,
                         (long long)r.drops.memory);
    else
      ImGui::TextDisabled("no events dropped");
  });
}

}  // namespace moescope::panels
