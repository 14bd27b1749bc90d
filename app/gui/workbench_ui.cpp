// The workbench's chrome: the menu bar, the default layout (the prompt console on the left, the
// other panels as tabs of one inspector window on the right, any of them detachable into a
// window of its own), the status bar and the keyboard shortcuts.
#include <GLFW/glfw3.h>
#include <imgui.h>

#include <algorithm>
#include <cstdio>

#include "app/gui/workbench.h"
#include "inspectors/panels/prompt_console.h"
#include "inspectors/widgets/plot_frame.h"

namespace moescope::gui {

namespace {

constexpr float kConsoleShare = 0.36f;  // of the window's width

}  // namespace

void Workbench::handle_shortcuts() {
  const ImGuiIO& io = ImGui::GetIO();
  auto ctx = context();
  const bool enter = ImGui::IsKeyPressed(GLFW_KEY_ENTER) || ImGui::IsKeyPressed(GLFW_KEY_KP_ENTER);
  if (io.KeyCtrl && enter && status_.engine.state == panels::EngineState::Ready)
    panels_.console->generate(ctx);
  if (ImGui::IsKeyPressed(GLFW_KEY_ESCAPE) && generating()) router_->post(panels::cmd::Stop{});
  if (io.KeyCtrl) {
    // Ctrl+1 .. Ctrl+9: the panels in registry order.
    for (int i = 0; i < 9 && i < int(panels_.all.size()); ++i)
      if (ImGui::IsKeyPressed(GLFW_KEY_1 + i)) {
        panels_.all[size_t(i)]->open = true;
        panels_.all[size_t(i)]->focus_next = true;
      }
    if (ImGui::IsKeyPressed(GLFW_KEY_EQUAL) || ImGui::IsKeyPressed(GLFW_KEY_KP_ADD))
      window_->set_font_scale(window_->font_scale() + 0.1f);
    if (ImGui::IsKeyPressed(GLFW_KEY_MINUS) || ImGui::IsKeyPressed(GLFW_KEY_KP_SUBTRACT))
      window_->set_font_scale(window_->font_scale() - 0.1f);
    if (ImGui::IsKeyPressed(GLFW_KEY_0)) window_->set_font_scale(1.0f);
  }
  if (ImGui::IsKeyPressed(GLFW_KEY_F1)) show_help_ = !show_help_;
}

void Workbench::draw_menu() {
  if (!ImGui::BeginMainMenuBar()) return;
  if (ImGui::BeginMenu("View")) {
    int i = 1;
    for (auto& p : panels_.all) {
      char shortcut[16];
      std::snprintf(shortcut, sizeof shortcut, "Ctrl+%d", i++);
      if (ImGui::MenuItem(p->title().c_str(), shortcut, p->open)) {
        p->open = !p->open;
        if (p->open) p->focus_next = true;
      }
    }
    ImGui::Separator();
    if (ImGui::BeginMenu("Detach into a window")) {
      for (auto& p : panels_.all)
        if (p.get() != panels_.console &&
            ImGui::MenuItem(p->title().c_str(), nullptr, p->detached)) {
          p->detached = !p->detached;
          p->open = true;
          p->focus_next = true;
        }
      ImGui::EndMenu();
    }
    if (ImGui::MenuItem("Reset layout")) {
      reset_layout_ = true;
      for (auto& p : panels_.all) {
        p->open = true;
        p->detached = false;
      }
    }
    ImGui::EndMenu();
  }
  if (ImGui::BeginMenu("Settings")) {
    float scale = window_->font_scale();
    ImGui::SetNextItemWidth(ImGui::GetFontSize() * 8);
    if (ImGui::SliderFloat("text size", &scale, 0.75f, 2.0f, "%.2fx"))
      window_->set_font_scale(scale);
    ImGui::TextDisabled("Ctrl+= / Ctrl+- / Ctrl+0");
    ImGui::EndMenu();
  }
  if (ImGui::BeginMenu("Help")) {
    if (ImGui::MenuItem("Keyboard shortcuts", "F1")) show_help_ = true;
    ImGui::EndMenu();
  }
  ImGui::EndMainMenuBar();
}

void Workbench::draw_status_bar(float y, float height) {
  const ImGuiViewport* vp = ImGui::GetMainViewport();
  ImGui::SetNextWindowPos(ImVec2(vp->Pos.x, y));
  ImGui::SetNextWindowSize(ImVec2(vp->Size.x, height));
  ImGui::PushStyleVar(ImGuiStyleVar_WindowPadding, ImVec2(8, 3));
  ImGui::PushStyleVar(ImGuiStyleVar_WindowRounding, 0);
  ImGui::Begin("##status", nullptr,
               ImGuiWindowFlags_NoDecoration | ImGuiWindowFlags_NoMove |
                   ImGuiWindowFlags_NoSavedSettings | ImGuiWindowFlags_NoFocusOnAppearing |
                   ImGuiWindowFlags_NoBringToFrontOnFocus);
  const panels::EngineStatus& e = status_.engine;
  const ImVec4 colour = e.state == panels::EngineState::Generating ? ImVec4(0.4f, 0.9f, 0.4f, 1)
                        : e.state == panels::EngineState::Failed   ? ImVec4(1, 0.4f, 0.4f, 1)
                        : e.state == panels::EngineState::Loading  ? ImVec4(1, 0.8f, 0.3f, 1)
                                                                   : ImVec4(0.6f, 0.7f, 0.9f, 1);
  ImGui::TextColored(colour, "%s", panels::engine_state_name(e.state));
  if (e.state == panels::EngineState::Generating) {
    ImGui::SameLine();
    ImGui::Text("run %lld: %lld / %lld tokens, %.0f tok/s", (long long)e.live_run,
                (long long)e.generated, (long long)e.max_tokens, e.tokens_per_second);
  } else if (!e.message.empty()) {
    ImGui::SameLine();
    ImGui::TextDisabled("%s", e.message.c_str());
  }
  char right[512];
  std::snprintf(right, sizeof right, "%s%s   %.1f ms/frame",
                status_.source.recording ? "recording to " : "browsing ",
                status_.source.path.empty() ? "(memory only)" : status_.source.path.c_str(),
                status_.frame_ms);
  const float w = ImGui::CalcTextSize(right).x;
  ImGui::SameLine(std::max(ImGui::GetCursorPosX() + 20, ImGui::GetWindowWidth() - w - 12));
  ImGui::TextDisabled("%s", right);
  ImGui::End();
  ImGui::PopStyleVar(2);
}

void Workbench::draw_ui() {
  auto ctx = context();
  draw_menu();
  const ImGuiViewport* vp = ImGui::GetMainViewport();
  const float top = vp->WorkPos.y;  // below the menu bar
  const float status_h = ImGui::GetTextLineHeight() + 8;
  const float bottom = vp->Pos.y + vp->Size.y - status_h;
  const float console_w = std::floor(vp->Size.x * kConsoleShare);
  const ImGuiCond cond = reset_layout_ ? ImGuiCond_Always : ImGuiCond_FirstUseEver;
  const ImVec2 host_pos(vp->Pos.x + console_w, top),
      host_size(vp->Size.x - console_w, bottom - top);

  panels_.console->draw_window(ctx, ImVec2(vp->Pos.x, top), ImVec2(console_w, bottom - top), cond);

  // The inspector host: every attached panel is a tab.
  bool any_tab = false;
  for (auto& p : panels_.all)
    if (p.get() != panels_.console && p->open && !p->detached) any_tab = true;
  if (any_tab) {
    ImGui::SetNextWindowPos(host_pos, cond);
    ImGui::SetNextWindowSize(host_size, cond);
    if (ImGui::Begin("Inspectors", nullptr, ImGuiWindowFlags_NoCollapse)) {
      if (ImGui::BeginTabBar("##panels", ImGuiTabBarFlags_Reorderable)) {
        for (auto& p : panels_.all) {
          if (p.get() == panels_.console) continue;
          p->draw_tab(ctx);
          if (p->visible()) active_tab_ = p->id();
        }
        ImGui::EndTabBar();
      }
    }
    ImGui::End();
  }
  // Detached panels: windows of their own, first placed over the host.
  int offset = 0;
  for (auto& p : panels_.all) {
    if (p.get() == panels_.console || !p->detached) continue;
    p->draw_window(ctx, ImVec2(host_pos.x + 30 + 30 * offset, host_pos.y + 30 + 30 * offset),
                   ImVec2(host_size.x * 0.85f, host_size.y * 0.85f), cond);
    ++offset;
  }
  reset_layout_ = false;

  if (show_help_) {
    ImGui::SetNextWindowPos(ImVec2(vp->Pos.x + vp->Size.x * 0.5f, vp->Pos.y + vp->Size.y * 0.4f),
                            ImGuiCond_Appearing, ImVec2(0.5f, 0.5f));
    if (ImGui::Begin("Keyboard shortcuts", &show_help_,
                     ImGuiWindowFlags_AlwaysAutoResize | ImGuiWindowFlags_NoSavedSettings)) {
      const char* rows[][2] = {{"Ctrl+Enter", "generate from the prompt"},
                               {"Esc", "stop the running generation"},
                               {"Ctrl+1 .. Ctrl+6", "show a panel"},
                               {"Ctrl+= / Ctrl+- / Ctrl+0", "text size"},
                               {"wheel / drag / double-click", "zoom / pan / fit a plot"},
                               {"F1", "this help"}};
      if (ImGui::BeginTable("keys", 2)) {
        for (auto& r : rows) {
          ImGui::TableNextRow();
          ImGui::TableNextColumn();
          ImGui::TextUnformatted(r[0]);
          ImGui::TableNextColumn();
          ImGui::TextDisabled("%s", r[1]);
        }
        ImGui::EndTable();
      }
    }
    ImGui::End();
  }
  draw_status_bar(bottom, status_h);
}

}  // namespace moescope::gui
