#include "inspectors/panels/prompt_console.h"

#include <imgui_internal.h>
#include <imgui_stdlib.h>

#include <algorithm>
#include <cmath>
#include <cstdio>

#include "inspectors/widgets/colormap.h"

namespace moescope::panels {

namespace {

// The text as drawn: tabs as spaces, other control characters (newlines excepted) as '?'.
std::string display_text(const std::string& s) {
  std::string out;
  out.reserve(s.size());
  for (char c : s) {
    if (c == '\t')
      out += "    ";
    else if (c != '\n' && static_cast<unsigned char>(c) < 0x20)
      out += '?';
    else
      out += c;
  }
  return out;
}

// The first choice of layer at position p, or -1 when not recorded.
int first_choice(const storage::RunData& run, int layer, int64_t p) {
  if (layer < 0 || layer >= int(run.routing.size())) return -1;
  const storage::LayerRouting& r = run.routing[size_t(layer)];
  const int64_t k = run.info.top_k;
  if (k <= 0 || p >= int64_t(r.present.size()) || !r.present[size_t(p)]) return -1;
  if (int64_t(r.ids.size()) < (p + 1) * k) return -1;
  return r.ids[size_t(p * k)];
}

}  // namespace

PromptConsole::PromptConsole() : Panel("console", "Prompt console") {
  prompt_ = "The history of the Roman Empire";
}

void PromptConsole::generate(PanelContext& ctx) {
  if (!ctx.commands || !ctx.settings) return;
  stick_to_bottom_ = true;
  ctx.commands->post(cmd::Generate{prompt_, *ctx.settings});
}

bool PromptConsole::set(const std::string& key, const std::string& value) {
  if (key == "prompt") {
    prompt_ = value;
    return true;
  }
  if (key == "colour" || key == "color") {
    if (value == "none")
      colouring_ = Colouring::None;
    else if (value == "expert")
      colouring_ = Colouring::Expert;
    else if (value == "surprise")
      colouring_ = Colouring::Surprise;
    else
      return false;
    return true;
  }
  int64_t i;
  if (key == "colour_layer" || key == "color_layer") {
    if (!parse_int(value, &i) || i < 0) return false;
    colour_layer_ = int(i);
    return true;
  }
  return false;
}

void PromptConsole::draw_content(PanelContext& ctx) {
  draw_controls(ctx);
  ImGui::Separator();
  const int64_t run_id = ctx.selection ? ctx.selection->run : -1;
  const bool found = read_run(ctx, run_id, [&](const storage::RunData& run) {
    shown_run_ = run.id;
    draw_output(ctx, run);
  });
  if (!found) {
    shown_run_ = -1;
    shown_.clear();
    flow_.reset();
    flow_run_ = -1;
    if (ctx.status && ctx.status->engine.state == EngineState::Generating)
      no_data("Starting...", "The run's first tokens appear here in a moment.");
    else
      no_run(ctx);
  }
}

void PromptConsole::draw_controls(PanelContext& ctx) {
  const float fh = ImGui::GetTextLineHeight();
  ImGui::InputTextMultiline("##prompt", &prompt_, ImVec2(-1, fh * 5 + 8));
  const EngineState state = ctx.status ? ctx.status->engine.state : EngineState::None;
  const bool generating = state == EngineState::Generating;
  const bool can_generate = state == EngineState::Ready;
  if (!can_generate) ImGui::BeginDisabled();
  if (ImGui::Button("Generate")) generate(ctx);
  if (!can_generate) ImGui::EndDisabled();
  if (ImGui::IsItemHovered(ImGuiHoveredFlags_AllowWhenDisabled)) ImGui::SetTooltip("Ctrl+Enter");
  ImGui::SameLine();
  if (!generating) ImGui::BeginDisabled();
  if (ImGui::Button("Stop") && ctx.commands) ctx.commands->post(cmd::Stop{});
  if (!generating) ImGui::EndDisabled();
  if (ImGui::IsItemHovered(ImGuiHoveredFlags_AllowWhenDisabled)) ImGui::SetTooltip("Esc");
  ImGui::SameLine();
  if (ImGui::Button("Clear") && ctx.commands) ctx.commands->post(cmd::Clear{});
  if (ctx.settings) {
    ImGui::SameLine();
    ImGui::SetNextItemWidth(fh * 6);
    int64_t step = 16;
    ImGui::InputScalar("max tokens", ImGuiDataType_S64, &ctx.settings->sampling.max_tokens, &step);
    ctx.settings->sampling.max_tokens = std::max<int64_t>(0, ctx.settings->sampling.max_tokens);
    if (ImGui::TreeNode("Sampling")) {
      SamplingRequest& s = ctx.settings->sampling;
      ImGui::SetNextItemWidth(fh * 10);
      ImGui::SliderFloat("temperature", &s.temperature, 0.0f, 2.0f, "%.2f");
      ImGui::SameLine();
      ImGui::TextDisabled("(0 = greedy)");
      ImGui::SetNextItemWidth(fh * 10);
      ImGui::SliderFloat("top-p", &s.top_p, 0.05f, 1.0f, "%.2f");
      ImGui::SetNextItemWidth(fh * 10);
      int64_t k_step = 1;
      ImGui::InputScalar("top-k (0 = off)", ImGuiDataType_S64, &s.top_k, &k_step);
      s.top_k = std::max<int64_t>(0, s.top_k);
      ImGui::SetNextItemWidth(fh * 10);
      ImGui::InputScalar("seed", ImGuiDataType_U64, &s.seed);
      ImGui::Checkbox("stop at end of sequence", &s.stop_at_eos);
      ImGui::TreePop();
    }
  }
  // Colouring of the output.
  ImGui::AlignTextToFramePadding();
  ImGui::TextUnformatted("Colour");
  ImGui::SameLine();
  int c = int(colouring_);
  ImGui::RadioButton("none", &c, 0);
  ImGui::SameLine();
  ImGui::RadioButton("top-1 expert", &c, 1);
  ImGui::SameLine();
  ImGui::RadioButton("surprise", &c, 2);
  colouring_ = Colouring(c);
  if (colouring_ == Colouring::Expert) {
    const int layers = ctx.status ? std::max(1, ctx.status->engine.model.n_layers) : 1;
    ImGui::SameLine();
    ImGui::SetNextItemWidth(fh * 7);
    ImGui::SliderInt("layer", &colour_layer_, 0, std::max(layers - 1, colour_layer_));
  }
}

void PromptConsole::draw_output(PanelContext& ctx, const storage::RunData& run) {
  const float fh = ImGui::GetTextLineHeight();
  const int n_layers = int(run.routing.size());
  colour_layer_ = std::clamp(colour_layer_, 0, std::max(0, n_layers - 1));
  // Header: what is shown.
  const int64_t prompt_n = run.prompt_tokens(), gen_n = run.generated_tokens();
  ImGui::Text("Run %lld", (long long)run.id);
  ImGui::SameLine();
  char rate[48] = "";
  if (ctx.status && run.id == ctx.status->engine.live_run &&
      ctx.status->engine.tokens_per_second > 0)
    std::snprintf(rate, sizeof rate, ", %.0f tok/s", ctx.status->engine.tokens_per_second);
  ImGui::TextDisabled(
      "%lld prompt + %lld generated tokens, %s%s", (long long)prompt_n, (long long)gen_n,
      run.status == storage::RunStatus::Running ? "generating" : trace::run_status_name(run.status),
      rate);
  if (!run.error.empty()) ImGui::TextColored(ImVec4(1, 0.4f, 0.4f, 1), "%s", run.error.c_str());

  const float legend_h = colouring_ == Colouring::Expert && run.info.n_experts > 0 ? fh + 10 : 0;
  ImGui::BeginChild("##output", ImVec2(0, -legend_h), true,
                    ImGuiWindowFlags_AlwaysVerticalScrollbar);
  const float width = ImGui::GetContentRegionAvail().x;
  const float line_h = fh + 4;
  if (flow_run_ != run.id || flow_.tokens() > run.tokens.size()) {
    flow_.reset();
    flow_run_ = run.id;
  }
  flow_.begin(width, line_h);
  ImFont* font = ImGui::GetFont();
  for (size_t p = flow_.tokens(); p < run.tokens.size(); ++p)
    flow_.add(display_text(run.tokens[p].text), [&](const std::string& s) {
      return font->CalcTextSizeA(font->FontSize, FLT_MAX, 0.0f, s.c_str()).x;
    });

  const ImVec2 origin = ImGui::GetCursorScreenPos();
  const float scroll_y = ImGui::GetScrollY(), view_h = ImGui::GetWindowHeight();
  ImDrawList* dl = ImGui::GetWindowDrawList();
  shown_.clear();
  shown_.reserve(run.tokens.size());
  for (const auto& t : run.tokens) shown_.push_back(t.id);

  const ImVec2 m = ImGui::GetIO().MousePos;
  const bool hovering_window = ImGui::IsWindowHovered();
  const int64_t hovered =
      hovering_window ? flow_.token_at(m.x - origin.x, m.y - origin.y) : int64_t(-1);
  std::string text;
  int64_t text_token = -1;
  for (size_t i = flow_.first_box_below(scroll_y); i < flow_.boxes().size(); ++i) {
    const TokenBox& b = flow_.boxes()[i];
    if (b.y > scroll_y + view_h) break;
    const storage::TokenRecord& t = run.tokens[size_t(b.token)];
    if (text_token != b.token) {
      text = display_text(t.text);
      text_token = b.token;
    }
    const ImVec2 a(origin.x + b.x, origin.y + b.y), z(a.x + b.w, a.y + line_h - 1);
    ImU32 bg = 0;
    if (colouring_ == Colouring::Expert) {
      const int e = first_choice(run, colour_layer_, b.token);
      if (e >= 0) bg = widgets::with_alpha(widgets::category_color(e), 0.55f);
    } else if (colouring_ == Colouring::Surprise && std::isfinite(t.logprob)) {
      // Unlikely tokens glow: alpha grows with -log p (saturating at 8 nats).
      bg = widgets::with_alpha(IM_COL32(230, 80, 60, 255), std::min(1.0f, -t.logprob / 8.0f));
    }
    if (bg) dl->AddRectFilled(a, z, bg, 2.0f);
    if (b.token == hovered || b.token == (ctx.selection ? ctx.selection->position : -1))
      dl->AddRect(a, z, IM_COL32(255, 255, 255, 255), 2.0f);
    const ImU32 fg = t.phase == storage::TokenPhase::Prompt ? IM_COL32(175, 180, 195, 255)
                                                            : IM_COL32(255, 255, 255, 255);
    if (b.text_len)
      dl->AddText(ImVec2(a.x, a.y + 2), fg, text.c_str() + b.text_begin,
                  text.c_str() + b.text_begin + b.text_len);
  }
  ImGui::Dummy(ImVec2(width, flow_.height()));
  widgets::record_rect("console.output", {ImGui::GetWindowPos(),
                                          ImVec2(ImGui::GetWindowPos().x + ImGui::GetWindowWidth(),
                                                 ImGui::GetWindowPos().y + view_h)});
  if (hovered >= 0) {
    token_tooltip(ctx, run, hovered);
    if (ImGui::IsMouseClicked(ImGuiMouseButton_Left) && ctx.selection)
      ctx.selection->position = hovered;
  }
  // Follow new tokens while the view is at the bottom; scrolling up stops following.
  if (stick_to_bottom_) ImGui::SetScrollHereY(1.0f);
  stick_to_bottom_ =
      ImGui::GetScrollY() >= ImGui::GetScrollMaxY() - 2 || ImGui::GetScrollMaxY() <= 0;
  ImGui::EndChild();

  if (legend_h > 0) {
    const ImVec2 at = ImGui::GetCursorScreenPos();
    char label[32];
    std::snprintf(label, sizeof label, "layer %d:", colour_layer_);
    ImGui::TextDisabled("%s", label);
    widgets::draw_category_legend(ImGui::GetWindowDrawList(),
                                  ImVec2(at.x + ImGui::CalcTextSize(label).x + 8, at.y),
                                  ImGui::GetContentRegionAvail().x, int(run.info.n_experts), "E");
  }
}

void PromptConsole::token_tooltip(const PanelContext& ctx, const storage::RunData& run, int64_t p) {
  const storage::TokenRecord& t = run.tokens[size_t(p)];
  ImGui::BeginTooltip();
  ImGui::Text("position %lld, %s (step %lld)", (long long)p,
              t.phase == storage::TokenPhase::Prompt ? "prompt" : "generated", (long long)t.step);
  ImGui::Text("\"%s\"  id %d", printable(t.text).c_str(), t.id);
  if (std::isfinite(t.logprob))
    ImGui::Text("log p = %.3f  (p = %.1f%%)", t.logprob, 100.0 * std::exp(double(t.logprob)));
  else
    ImGui::TextDisabled("log p unknown (nothing predicts the first token)");
  if (t.n_top > 0 && ImGui::BeginTable("alts", 3, ImGuiTableFlags_SizingFixedFit)) {
    ImGui::TableSetupColumn("alternative");
    ImGui::TableSetupColumn("id");
    ImGui::TableSetupColumn("p");
    ImGui::TableHeadersRow();
    for (int i = 0; i < t.n_top; ++i) {
      ImGui::TableNextRow();
      ImGui::TableNextColumn();
      std::string alt = ctx.token_text ? ctx.token_text(t.top_ids[i]) : "";
      if (alt.empty())  // no tokenizer (browsing a file): the text of the id elsewhere in the run
        for (const auto& o : run.tokens)
          if (o.id == t.top_ids[i]) {
            alt = o.text;
            break;
          }
      const bool chosen = t.top_ids[i] == t.id;
      if (chosen)
        ImGui::TextColored(ImVec4(0.5f, 1, 0.5f, 1), "\"%s\"", printable(alt, 24).c_str());
      else
        ImGui::Text("\"%s\"", printable(alt, 24).c_str());
      ImGui::TableNextColumn();
      ImGui::Text("%d", t.top_ids[i]);
      ImGui::TableNextColumn();
      ImGui::Text("%.1f%%", 100.0 * std::exp(double(t.top_logprobs[i])));
    }
    ImGui::EndTable();
  }
  const int64_t k = run.info.top_k;
  bool any = false;
  for (size_t l = 0; l < run.routing.size(); ++l) {
    const storage::LayerRouting& r = run.routing[l];
    if (p >= int64_t(r.present.size()) || !r.present[size_t(p)] ||
        int64_t(r.ids.size()) < (p + 1) * k)
      continue;
    if (!any) {
      ImGui::Separator();
      ImGui::TextUnformatted("experts (gate) per layer");
      any = true;
    }
    ImGui::Text("L%-2zu", l);
    for (int64_t j = 0; j < k; ++j) {
      const int e = r.ids[size_t(p * k + j)];
      const float g = r.gates.size() > size_t(p * k + j) ? r.gates[size_t(p * k + j)] : NAN;
      ImGui::SameLine();
      const ImVec2 at = ImGui::GetCursorScreenPos();
      const float fh = ImGui::GetTextLineHeight();
      ImGui::GetWindowDrawList()->AddRectFilled(ImVec2(at.x, at.y + 2),
                                                ImVec2(at.x + fh - 4, at.y + fh - 2),
                                                widgets::category_color(e), 2.0f);
      ImGui::Dummy(ImVec2(fh - 2, fh));
      ImGui::SameLine();
      ImGui::Text("E%d %.2f", e, g);
    }
  }
  if (!any) ImGui::TextDisabled("no routing recorded at this position");
  ImGui::EndTooltip();
}

}  // namespace moescope::panels
