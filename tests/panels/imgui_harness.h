// A headless Dear ImGui context for widget and panel tests: fonts built, a fixed display size,
// no window and no renderer. frame() runs one NewFrame .. Render with the given body inside a
// full-screen window, so widgets lay out, hover and emit draw lists as they do on screen.
#pragma once

#include <imgui.h>

#include <functional>

#include "inspectors/widgets/plot_frame.h"

namespace moescope::test {

class ImGuiHarness {
 public:
  explicit ImGuiHarness(ImVec2 display = ImVec2(1280, 800)) {
    ctx_ = ImGui::CreateContext();
    ImGuiIO& io = ImGui::GetIO();
    io.DisplaySize = display;
    io.IniFilename = nullptr;
    io.DeltaTime = 1.0f / 60.0f;
    unsigned char* pixels;
    int w, h;
    io.Fonts->GetTexDataAsRGBA32(&pixels, &w, &h);
  }
  ~ImGuiHarness() { ImGui::DestroyContext(ctx_); }
  ImGuiHarness(const ImGuiHarness&) = delete;
  ImGuiHarness& operator=(const ImGuiHarness&) = delete;

  void set_mouse(ImVec2 p) { ImGui::GetIO().MousePos = p; }
  void set_mouse_down(bool down) { ImGui::GetIO().MouseDown[0] = down; }
  void set_wheel(float w) { ImGui::GetIO().MouseWheel = w; }

  // One frame (the plots' named rectangles start empty); returns the number of vertices drawn.
  int frame(const std::function<void()>& body) {
    widgets::clear_named_rects();  // as the workbench does at the start of every frame
    ImGui::NewFrame();
    ImGui::SetNextWindowPos(ImVec2(0, 0));
    ImGui::SetNextWindowSize(ImGui::GetIO().DisplaySize);
    ImGui::Begin("harness", nullptr, ImGuiWindowFlags_NoDecoration | ImGuiWindowFlags_NoMove);
    body();
    ImGui::End();
    ImGui::Render();
    ImGui::GetIO().MouseWheel = 0;
    return ImGui::GetDrawData()->TotalVtxCount;
  }

 private:
  ImGuiContext* ctx_;
};

}  // namespace moescope::test
