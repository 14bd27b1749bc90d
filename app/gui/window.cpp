#include "app/gui/window.h"

#define GLFW_INCLUDE_NONE
#include <GL/gl.h>
#include <GLFW/glfw3.h>
#include <backends/imgui_impl_glfw.h>
#include <backends/imgui_impl_opengl3.h>
#include <imgui.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <fstream>

namespace moescope::gui {

namespace {

std::string g_glfw_error;

void on_glfw_error(int code, const char* text) {
  g_glfw_error = text ? text : "unknown GLFW error";
  (void)code;
}

// Glyphs beyond ImGui's default Latin-1: Latin Extended, Greek, Cyrillic, general punctuation
// (dashes, quotes, ellipsis), arrows and the replacement character.
const ImWchar kGlyphRanges[] = {0x0020, 0x024F, 0x0370, 0x03FF, 0x0400, 0x04FF, 0x2000, 0x206F,
                                0x2190, 0x21FF, 0x2580, 0x259F, 0xFFFD, 0xFFFD, 0};

void apply_style(float scale) {
  ImGuiStyle& style = ImGui::GetStyle();
  style = ImGuiStyle();
  ImGui::StyleColorsDark(&style);
  style.WindowRounding = 4;
  style.FrameRounding = 3;
  style.TabRounding = 3;
  style.GrabRounding = 3;
  style.WindowPadding = ImVec2(10, 8);
  style.FramePadding = ImVec2(6, 4);
  style.ItemSpacing = ImVec2(8, 6);
  style.Colors[ImGuiCol_WindowBg] = ImVec4(0.10f, 0.105f, 0.12f, 1.0f);
  style.Colors[ImGuiCol_ChildBg] = ImVec4(0, 0, 0, 0);
  style.Colors[ImGuiCol_TitleBgActive] = ImVec4(0.16f, 0.29f, 0.48f, 1.0f);
  style.ScaleAllSizes(scale);
}

}  // namespace

std::string find_font(const std::vector<std::string>& candidates) {
  for (const auto& c : candidates)
    if (std::ifstream(c).good()) return c;
  return "";
}

std::unique_ptr<Window> Window::create(int width, int height, const std::string& title,
                                       std::string* error) {
  glfwSetErrorCallback(on_glfw_error);
  if (!glfwInit()) {
    *error = "cannot open a window (" + g_glfw_error + "); is there a display (DISPLAY)?";
    return nullptr;
  }
  glfwWindowHint(GLFW_CONTEXT_VERSION_MAJOR, 3);
  glfwWindowHint(GLFW_CONTEXT_VERSION_MINOR, 3);
  glfwWindowHint(GLFW_OPENGL_PROFILE, GLFW_OPENGL_CORE_PROFILE);
  glfwWindowHint(GLFW_OPENGL_FORWARD_COMPAT, GLFW_TRUE);
  GLFWwindow* w = glfwCreateWindow(width, height, title.c_str(), nullptr, nullptr);
  if (!w) {
    *error = "cannot create an OpenGL 3.3 window (" + g_glfw_error + ")";
    glfwTerminate();
    return nullptr;
  }
  glfwMakeContextCurrent(w);
  std::unique_ptr<Window> win(new Window());
  win->window_ = w;
  const char* renderer = reinterpret_cast<const char*>(glGetString(GL_RENDERER));
  const char* version = reinterpret_cast<const char*>(glGetString(GL_VERSION));
  win->renderer_ = std::string(renderer ? renderer : "?") + ", OpenGL " + (version ? version : "?");
  IMGUI_CHECKVERSION();
  ImGui::CreateContext();
  ImGuiIO& io = ImGui::GetIO();
  io.ConfigFlags |= ImGuiConfigFlags_NavEnableKeyboard;
  io.IniFilename = nullptr;  // the workbench decides where (and whether) to persist
  ImGui_ImplGlfw_InitForOpenGL(w, true);
  ImGui_ImplOpenGL3_Init("#version 330 core");
  apply_style(1.0f);
  return win;
}

Window::~Window() {
  ImGui_ImplOpenGL3_Shutdown();
  ImGui_ImplGlfw_Shutdown();
  ImGui::DestroyContext();
  glfwDestroyWindow(window_);
  glfwTerminate();
}

bool Window::should_close() const {
  return glfwWindowShouldClose(window_);
}

void Window::request_close() {
  glfwSetWindowShouldClose(window_, GLFW_TRUE);
}

void Window::poll(bool wait, double timeout_s) {
  if (wait)
    glfwWaitEventsTimeout(timeout_s);
  else
    glfwPollEvents();
}

void Window::set_font_scale(float scale) {
  scale = std::clamp(scale, 0.5f, 3.0f);
  if (scale != scale_) {
    scale_ = scale;
    fonts_dirty_ = true;
  }
}

void Window::build_fonts() {
  ImGuiIO& io = ImGui::GetIO();
  io.Fonts->Clear();
  const std::string assets = MOESCOPE_ASSETS_DIR;
  const std::string sans = find_font(
      {assets + "/fonts/DejaVuSans.ttf", "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"});
  const std::string mono = find_font({assets + "/fonts/DejaVuSansMono.ttf",
                                      "/usr/share/fonts/truetype/dejavu/DejaVuSansMono.ttf"});
  ImFontConfig cfg;
  cfg.OversampleH = 2;
  ImFont* main = nullptr;
  if (!sans.empty())
    main = io.Fonts->AddFontFromFileTTF(sans.c_str(), 15.0f * scale_, &cfg, kGlyphRanges);
  if (!main) {
    ImFontConfig d;
    d.SizePixels = 13.0f * scale_;
    main = io.Fonts->AddFontDefault(&d);
  }
  mono_ = mono.empty()
              ? nullptr
              : io.Fonts->AddFontFromFileTTF(mono.c_str(), 14.0f * scale_, &cfg, kGlyphRanges);
  if (!mono_) mono_ = main;
  io.FontDefault = main;
  ImGui_ImplOpenGL3_DestroyFontsTexture();
  ImGui_ImplOpenGL3_CreateFontsTexture();

  apply_style(scale_);
  fonts_dirty_ = false;
}

void Window::begin_frame(const ImVec2* mouse) {
  if (fonts_dirty_) build_fonts();
  ImGui_ImplOpenGL3_NewFrame();
  ImGui_ImplGlfw_NewFrame();
  // After the backend has read the real pointer, before ImGui decides what is hovered.
  if (mouse) ImGui::GetIO().MousePos = *mouse;
  ImGui::NewFrame();
}

void Window::end_frame() {
  ImGui::Render();
  int w, h;
  glfwGetFramebufferSize(window_, &w, &h);
  glViewport(0, 0, w, h);
  glClearColor(0.07f, 0.07f, 0.08f, 1.0f);
  glClear(GL_COLOR_BUFFER_BIT);
  ImGui_ImplOpenGL3_RenderDrawData(ImGui::GetDrawData());
}

void Window::swap() {
  glfwSwapBuffers(window_);
}

void Window::set_vsync(bool on) {
  glfwSwapInterval(on ? 1 : 0);
}

void Window::set_size(int width, int height) {
  glfwSetWindowSize(window_, width, height);
}

void Window::framebuffer_size(int* w, int* h) const {
  glfwGetFramebufferSize(window_, w, h);
}

std::vector<uint8_t> Window::read_pixels(int* w, int* h) const {
  glfwGetFramebufferSize(window_, w, h);
  std::vector<uint8_t> px(size_t(*w) * size_t(*h) * 4);
  glPixelStorei(GL_PACK_ALIGNMENT, 1);
  glReadBuffer(GL_BACK);
  glReadPixels(0, 0, *w, *h, GL_RGBA, GL_UNSIGNED_BYTE, px.data());
  // OpenGL's rows start at the bottom.
  const size_t row = size_t(*w) * 4;
  std::vector<uint8_t> tmp(row);
  for (int y = 0; y < *h / 2; ++y) {
    uint8_t* a = px.data() + size_t(y) * row;
    uint8_t* b = px.data() + size_t(*h - 1 - y) * row;
    std::memcpy(tmp.data(), a, row);
    std::memcpy(a, b, row);
    std::memcpy(b, tmp.data(), row);
  }
  return px;
}

}  // namespace moescope::gui
