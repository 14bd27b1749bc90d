#include "inspectors/panels/panel.h"

#include <cstdlib>
#include <cstring>

namespace moescope::panels {

void Panel::draw_tab(PanelContext& ctx) {
  visible_ = false;
  if (!open || detached) return;
  const ImGuiTabItemFlags flags = focus_next ? ImGuiTabItemFlags_SetSelected : 0;
  focus_next = false;
  if (ImGui::BeginTabItem(title_.c_str(), nullptr, flags)) {
    visible_ = true;
    ImGui::BeginChild(("##content_" + id_).c_str(), ImVec2(0, 0), false);
    draw_content(ctx);
    ImGui::EndChild();
    // The host window around the tab bar, so a screenshot shows which tab is open.
    last_rect_ = {ImGui::GetWindowPos(),
                  ImVec2(ImGui::GetWindowPos().x + ImGui::GetWindowSize().x,
                         ImGui::GetWindowPos().y + ImGui::GetWindowSize().y)};
    ImGui::EndTabItem();
  }
}

void Panel::draw_window(PanelContext& ctx, ImVec2 pos, ImVec2 size, ImGuiCond cond) {
  visible_ = false;
  if (!open) return;
  ImGui::SetNextWindowPos(pos, cond);
  ImGui::SetNextWindowSize(size, cond);
  if (focus_next) ImGui::SetNextWindowFocus();
  focus_next = false;
  // "###id" keeps the window's saved place when the title is translated or changed.
  const std::string name = title_ + "###" + id_;
  if (ImGui::Begin(name.c_str(), &open)) {
    visible_ = true;
    draw_content(ctx);
  }
  last_rect_ = {ImGui::GetWindowPos(), ImVec2(ImGui::GetWindowPos().x + ImGui::GetWindowSize().x,
                                              ImGui::GetWindowPos().y + ImGui::GetWindowSize().y)};
  ImGui::End();
}

void no_data(const char* title, const char* hint) {
  const ImVec2 avail = ImGui::GetContentRegionAvail();
  const float wrap = std::min(avail.x - 20.0f, 520.0f);
  const ImVec2 ts = ImGui::CalcTextSize(title);
  const ImVec2 hs = ImGui::CalcTextSize(hint, nullptr, false, wrap);
  const ImVec2 start = ImGui::GetCursorPos();
  const float y = start.y + std::max(10.0f, (avail.y - ts.y - hs.y - 10) * 0.4f);
  ImGui::SetCursorPos(ImVec2(start.x + std::max(0.0f, (avail.x - ts.x) * 0.5f), y));
  ImGui::TextUnformatted(title);
  ImGui::SetCursorPos(ImVec2(start.x + std::max(0.0f, (avail.x - hs.x) * 0.5f), y + ts.y + 10));
  ImGui::PushTextWrapPos(ImGui::GetCursorPosX() + wrap);
  ImGui::TextDisabled("%s", hint);
  ImGui::PopTextWrapPos();
}

bool read_run(const PanelContext& ctx, int64_t run,
              const std::function<void(const storage::RunData&)>& fn) {
  return run >= 0 && ctx.model && ctx.model->read(run, fn);
}

void no_run(const PanelContext& ctx) {
  const EngineState s = ctx.status ? ctx.status->engine.state : EngineState::None;
  if (ctx.selection && ctx.selection->run >= 0 && ctx.status && ctx.status->source.busy) {
    no_data("Loading the run...", "Reading it from the trace file.");
  } else if (s == EngineState::Loading) {
    no_data("No data yet",
            "The model is loading. Then type a prompt in the console and press "
            "Generate (Ctrl+Enter).");
  } else if (s == EngineState::None) {
    no_data("No run selected", "Pick a run in the Runs panel to show it here.");
  } else {
    no_data("No data yet",
            "Type a prompt in the console and press Generate (Ctrl+Enter): this panel fills "
            "in while the model generates. Stored runs are in the Runs panel.");
  }
}

bool parse_int(const std::string& s, int64_t* out) {
  if (s.empty()) return false;
  char* end = nullptr;
  const long long v = std::strtoll(s.c_str(), &end, 10);
  if (*end) return false;
  *out = v;
  return true;
}

bool parse_float(const std::string& s, double* out) {
  if (s.empty()) return false;
  char* end = nullptr;
  const double v = std::strtod(s.c_str(), &end);
  if (*end) return false;
  *out = v;
  return true;
}

bool parse_bool(const std::string& s, bool* out) {
  if (s == "1" || s == "on" || s == "true" || s == "yes") {
    *out = true;
    return true;
  }
  if (s == "0" || s == "off" || s == "false" || s == "no") {
    *out = false;
    return true;
  }
  return false;
}

std::string printable(const std::string& text, size_t max_chars) {
  std::string out;
  size_t chars = 0;
  for (size_t i = 0; i < text.size() && chars < max_chars; ++i) {
    const char c = text[i];
    if (c == '\n') {
      out += "\\n";
    } else if (c == '\t') {
      out += "\\t";
    } else if (static_cast<unsigned char>(c) < 0x20) {
      out += '?';
    } else {
      out += c;
      // Count characters, not the continuation bytes of UTF-8 sequences.
      if ((static_cast<unsigned char>(c) & 0xC0) == 0x80) continue;
    }
    ++chars;
  }
  if (chars >= max_chars && out.size() < text.size()) out += "..";
  return out;
}

bool Throttle::due(int64_t run_id, uint64_t v, double now_s, double min_interval_s) {
  if (run_id != run) {
    run = run_id;
    behind = false;
    version = v;
    last_s = now_s;
    return true;
  }
  behind = v != version;
  if (!behind || now_s - last_s < min_interval_s) return false;
  behind = false;
  version = v;
  last_s = now_s;
  return true;
}

}  // namespace moescope::panels
