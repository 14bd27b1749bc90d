// Images for plots that have more cells than are worth drawing as rectangles (an attention map of
// a long context, a token x layer strip): the widget renders an RGBA image and draws it as one
// textured quad. The application installs the GPU side (app/gui); without one (headless tests)
// widgets fall back to drawing rectangles.
#pragma once

#include <imgui.h>

#include <cstdint>

namespace moescope::widgets {

class TextureSource {
 public:
  virtual ~TextureSource() = default;
  // Creates or replaces the texture for key with w x h RGBA pixels (row-major, top row first;
  // IM_COL32 byte order). Sampled with nearest filtering, so cells stay crisp when enlarged.
  virtual ImTextureID upload(uint64_t key, int w, int h, const ImU32* rgba) = 0;
  // The texture last uploaded for key, or null; marks it as still in use this frame.
  virtual ImTextureID get(uint64_t key) = 0;
};

// The source widgets use (null: none).
void set_texture_source(TextureSource* source);
TextureSource* texture_source();

}  // namespace moescope::widgets
