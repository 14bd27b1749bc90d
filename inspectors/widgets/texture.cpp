#include "inspectors/widgets/texture.h"

namespace moescope::widgets {

namespace {
TextureSource* g_source = nullptr;
}

void set_texture_source(TextureSource* source) {
  g_source = source;
}

TextureSource* texture_source() {
  return g_source;
}

}  // namespace moescope::widgets
