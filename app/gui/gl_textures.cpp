#include "app/gui/gl_textures.h"

#include <GL/gl.h>

#include <cstdint>

namespace moescope::gui {

GlTextures::~GlTextures() {
  for (auto& [key, e] : textures_) glDeleteTextures(1, &e.id);
}

ImTextureID GlTextures::upload(uint64_t key, int w, int h, const ImU32* rgba) {
  Entry& e = textures_[key];
  if (!e.id) {
    glGenTextures(1, &e.id);
    glBindTexture(GL_TEXTURE_2D, e.id);
    // Nearest: a zoomed-in cell must stay one flat colour, not a blend of its neighbours.
    glTexParameteri(GL_TEXTURE_2D, GL_TEXTURE_MIN_FILTER, GL_NEAREST);
    glTexParameteri(GL_TEXTURE_2D, GL_TEXTURE_MAG_FILTER, GL_NEAREST);
    glTexParameteri(GL_TEXTURE_2D, GL_TEXTURE_WRAP_S, GL_CLAMP_TO_EDGE);
    glTexParameteri(GL_TEXTURE_2D, GL_TEXTURE_WRAP_T, GL_CLAMP_TO_EDGE);
  }
  glBindTexture(GL_TEXTURE_2D, e.id);
  glPixelStorei(GL_UNPACK_ALIGNMENT, 4);
  glPixelStorei(GL_UNPACK_ROW_LENGTH, 0);
  if (e.w == w && e.h == h)
    glTexSubImage2D(GL_TEXTURE_2D, 0, 0, 0, w, h, GL_RGBA, GL_UNSIGNED_BYTE, rgba);
  else
    glTexImage2D(GL_TEXTURE_2D, 0, GL_RGBA, w, h, 0, GL_RGBA, GL_UNSIGNED_BYTE, rgba);
  e.w = w;
  e.h = h;
  e.last_used = frame_;
  return reinterpret_cast<ImTextureID>(static_cast<intptr_t>(e.id));
}

ImTextureID GlTextures::get(uint64_t key) {
  auto it = textures_.find(key);
  if (it == textures_.end()) return nullptr;
  it->second.last_used = frame_;
  return reinterpret_cast<ImTextureID>(static_cast<intptr_t>(it->second.id));
}

void GlTextures::collect(int max_idle_frames) {
  ++frame_;
  for (auto it = textures_.begin(); it != textures_.end();) {
    if (frame_ - it->second.last_used > max_idle_frames) {
      glDeleteTextures(1, &it->second.id);
      it = textures_.erase(it);
    } else {
      ++it;
    }
  }
}

}  // namespace moescope::gui
