// Panel 1, the prompt console: a multi-line prompt, sampling controls, Generate / Stop / Clear,
// and the run's text streaming in token by token. Every token can be hovered (position, id,
// log-probability, the top alternatives, its experts in every layer), and the text can be
// coloured by the top-1 expert of a chosen layer or by how surprising each token was.
#pragma once

#include <string>
#include <vector>

#include "inspectors/panels/panel.h"
#include "inspectors/panels/token_flow.h"

namespace moescope::panels {

class PromptConsole : public Panel {
 public:
  PromptConsole();

  const std::string& prompt() const { return prompt_; }
  void set_prompt(std::string p) { prompt_ = std::move(p); }
  // Posts Generate with the prompt and the shared settings (button, Ctrl+Enter, scripts).
  void generate(PanelContext& ctx);
  bool set(const std::string& key, const std::string& value) override;

  // What the output showed in the last frame it was drawn: the run and its tokens' ids, in
  // order (the scripted test compares them with the trace).
  int64_t shown_run() const { return shown_run_; }
  const std::vector<int32_t>& shown_tokens() const { return shown_; }

  enum class Colouring { None, Expert, Surprise };

 protected:
  void draw_content(PanelContext& ctx) override;

 private:
  void draw_controls(PanelContext& ctx);
  void draw_output(PanelContext& ctx, const storage::RunData& run);
  void token_tooltip(const PanelContext& ctx, const storage::RunData& run, int64_t p);

  std::string prompt_;
  Colouring colouring_ = Colouring::Expert;
  int colour_layer_ = 0;
  TokenFlow flow_;
  int64_t flow_run_ = -1;
  int64_t shown_run_ = -1;
  std::vector<int32_t> shown_;
  bool stick_to_bottom_ = true;
};

}  // namespace moescope::panels
