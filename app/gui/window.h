// The workbench's OS window: GLFW with an OpenGL 3.3 core context, Dear ImGui's GLFW and
// OpenGL 3 backends, fonts (DejaVu Sans at the chosen scale, ImGui's own font when DejaVu is not
// installed), and reading back the rendered frame for screenshots.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

struct GLFWwindow;
struct ImFont;
struct ImVec2;

namespace moescope::gui {

class Window {
 public:
  // Null (with *error set) when there is no display or no OpenGL 3.3.
  static std::unique_ptr<Window> create(int width, int height, const std::string& title,
                                        std::string* error);
  ~Window();
  Window(const Window&) = delete;
  Window& operator=(const Window&) = delete;

  bool should_close() const;
  void request_close();
  // Processes input; waits up to timeout_s for an event when wait is set (idle UI).
  void poll(bool wait, double timeout_s);
  // Backends' NewFrame and ImGui::NewFrame (fonts are rebuilt first after a scale change).
  // mouse, when given, replaces the pointer position (the scripted mode's hover).
  void begin_frame(const ImVec2* mouse = nullptr);
  // ImGui::Render and the GL draw into the back buffer (not yet shown).
  void end_frame();
  void swap();
  void set_vsync(bool on);

  void set_font_scale(float scale);  // 0.5 .. 3; applied at the next begin_frame
  float font_scale() const { return scale_; }
  ImFont* mono_font() const { return mono_; }
  void set_size(int width, int height);
  void framebuffer_size(int* w, int* h) const;

  // The back buffer just rendered, RGBA, top row first.
  std::vector<uint8_t> read_pixels(int* w, int* h) const;
  GLFWwindow* handle() const { return window_; }
  // The OpenGL renderer and version ("llvmpipe (LLVM 15.0.6, 256 bits), OpenGL 4.5 ...").
  const std::string& renderer() const { return renderer_; }

 private:
  Window() = default;
  void build_fonts();

  GLFWwindow* window_ = nullptr;
  float scale_ = 1.0f;
  bool fonts_dirty_ = true;
  ImFont* mono_ = nullptr;
  std::string renderer_;
};

// The first readable file among the candidates, or "".
std::string find_font(const std::vector<std::string>& candidates);

}  // namespace moescope::gui
