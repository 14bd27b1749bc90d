// The GPU side of widgets::TextureSource: OpenGL textures keyed by widget, re-uploaded when a
// plot's image changes and deleted when no widget has used them for a while.
#pragma once

#include <cstdint>
#include <unordered_map>

#include "inspectors/widgets/texture.h"

namespace moescope::gui {

class GlTextures : public widgets::TextureSource {
 public:
  ~GlTextures() override;
  ImTextureID upload(uint64_t key, int w, int h, const ImU32* rgba) override;
  ImTextureID get(uint64_t key) override;
  // Call once per frame: textures unused for max_idle_frames are deleted.
  void collect(int max_idle_frames = 120);
  size_t size() const { return textures_.size(); }

 private:
  struct Entry {
    unsigned int id = 0;
    int w = 0, h = 0;
    int64_t last_used = 0;
  };
  std::unordered_map<uint64_t, Entry> textures_;
  int64_t frame_ = 0;
};

}  // namespace moescope::gui
