#include "app/gui/settings.h"

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

namespace moescope::gui {

namespace {

std::string xdg(const char* var, const char* fallback) {
  const char* v = std::getenv(var);
  if (v && v[0] == '/') return std::string(v) + "/moescope";
  const char* home = std::getenv("HOME");
  if (!home || !home[0]) return "";
  return std::string(home) + "/" + fallback + "/moescope";
}

}  // namespace

std::string config_dir() {
  return xdg("XDG_CONFIG_HOME", ".config");
}

std::string data_dir() {
  return xdg("XDG_DATA_HOME", ".local/share");
}

Settings load_settings(const std::string& path, std::string* warning) {
  Settings s;
  std::ifstream in(path);
  if (!in) return s;
  try {
    const nlohmann::json j = nlohmann::json::parse(in);
    s.font_scale = j.value("font_scale", s.font_scale);
    s.active_tab = j.value("active_tab", s.active_tab);
    s.prompt = j.value("prompt", s.prompt);
    if (j.contains("panels"))
      for (const auto& [id, p] : j["panels"].items())
        s.panels[id] = {p.value("open", true), p.value("detached", false)};
    if (j.contains("sampling")) {
      const auto& k = j["sampling"];
      auto& o = s.generation.sampling;
      o.max_tokens = k.value("max_tokens", o.max_tokens);
      o.temperature = k.value("temperature", o.temperature);
      o.top_k = k.value("top_k", o.top_k);
      o.top_p = k.value("top_p", o.top_p);
      o.seed = k.value("seed", o.seed);
      o.stop_at_eos = k.value("stop_at_eos", o.stop_at_eos);
    }
    if (j.contains("capture")) {
      const auto& k = j["capture"];
      auto& c = s.generation.capture;
      c.routing = k.value("routing", c.routing);
      c.ops = k.value("ops", c.ops);
      c.attention = k.value("attention", c.attention);
      c.attention_layers = k.value("attention_layers", c.attention_layers);
      c.attention_heads = k.value("attention_heads", c.attention_heads);
      c.attention_budget_mb = k.value("attention_budget_mb", c.attention_budget_mb);
      c.attention_prompt_max_cells =
          k.value("attention_prompt_max_cells", c.attention_prompt_max_cells);
      c.prompt_logprobs = k.value("prompt_logprobs", c.prompt_logprobs);
    }
  } catch (const std::exception& e) {
    *warning = "ignoring " + path + ": " + e.what();
    return Settings{};
  }
  return s;
}

bool save_settings(const std::string& path, const Settings& s) {
  nlohmann::json j;
  j["font_scale"] = s.font_scale;
  j["active_tab"] = s.active_tab;
  j["prompt"] = s.prompt;
  for (const auto& [id, p] : s.panels)
    j["panels"][id] = {{"open", p.open}, {"detached", p.detached}};
  const auto& o = s.generation.sampling;
  j["sampling"] = {{"max_tokens", o.max_tokens},
                   {"temperature", o.temperature},
                   {"top_k", o.top_k},
                   {"top_p", o.top_p},
                   {"seed", o.seed},
                   {"stop_at_eos", o.stop_at_eos}};
  const auto& c = s.generation.capture;
  j["capture"] = {{"routing", c.routing},
                  {"ops", c.ops},
                  {"attention", c.attention},
                  {"attention_layers", c.attention_layers},
                  {"attention_heads", c.attention_heads},
                  {"attention_budget_mb", c.attention_budget_mb},
                  {"attention_prompt_max_cells", c.attention_prompt_max_cells},
                  {"prompt_logprobs", c.prompt_logprobs}};
  std::error_code ec;
  std::filesystem::create_directories(std::filesystem::path(path).parent_path(), ec);
  // Written beside and renamed over, so a crash never leaves half a file.
  const std::string tmp = path + ".tmp";
  {
    std::ofstream out(tmp);
    out << j.dump(2) << "\n";
    if (!out) return false;
  }
  std::filesystem::rename(tmp, path, ec);
  return !ec;
}

}  // namespace moescope::gui
