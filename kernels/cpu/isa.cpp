// Run-time choice of the kernels' instruction set: CPUID and XGETBV for what the CPU has and the
// OS saves, arch_prctl for AMX's tile state, MOESCOPE_ISA for a lower choice.
#include "kernels/cpu/isa.h"

#include <atomic>
#include <cstdlib>
#include <string>

#if defined(__x86_64__)
#include <cpuid.h>
#include <sys/syscall.h>
#include <unistd.h>
#endif

namespace moescope::kernels {

namespace {

struct Features {
  bool avx2 = false, fma = false, f16c = false;  // with the OS saving ymm
  bool avx512f = false, avx512bw = false, avx512vl = false, avx512dq = false;  // and zmm
  bool avx512_vnni = false;
  bool avx512_bf16 = false, amx_tile = false, amx_bf16 = false;
  bool amx_granted = false;  // the OS gave this process the tile data state
};

#if defined(__x86_64__)
uint64_t xgetbv0() {
  uint32_t lo, hi;
  __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
  return (uint64_t(hi) << 32) | lo;
}

// Linux: a process must ask before it may use AMX's tile data (XFEATURE_XTILEDATA = 18), so
// that the kernel sizes its signal frames for it (Documentation/arch/x86/xstate.rst).
bool request_amx_permission() {
#if defined(__linux__) && defined(SYS_arch_prctl)
  constexpr int kArchReqXcompPerm = 0x1023, kXfeatureXtiledata = 18;
  return syscall(SYS_arch_prctl, kArchReqXcompPerm, kXfeatureXtiledata) == 0;
#else
  return false;
#endif
}

Features detect() {
  Features f;
  unsigned a, b, c, d;
  if (!__get_cpuid(1, &a, &b, &c, &d)) return f;
  const bool osxsave = (c >> 27) & 1, avx = (c >> 28) & 1;
  f.fma = (c >> 12) & 1;
  f.f16c = (c >> 29) & 1;
  if (!osxsave || !avx) return f;
  const uint64_t xcr0 = xgetbv0();
  const bool ymm_saved = (xcr0 & 0x6) == 0x6;           // SSE and AVX state
  const bool zmm_saved = (xcr0 & 0xe6) == 0xe6;         // + opmask, ZMM_Hi256, Hi16_ZMM
  const bool tile_saved = (xcr0 & 0x60000) == 0x60000;  // XTILECFG, XTILEDATA
  if (!ymm_saved) {
    f.fma = f.f16c = false;
    return f;
  }
  if (__get_cpuid_max(0, nullptr) < 7) return f;
  __cpuid_count(7, 0, a, b, c, d);
  f.avx2 = (b >> 5) & 1;
  if (zmm_saved) {
    f.avx512f = (b >> 16) & 1;
    f.avx512dq = (b >> 17) & 1;
    f.avx512bw = (b >> 30) & 1;
    f.avx512vl = (b >> 31) & 1;
    f.avx512_vnni = (c >> 11) & 1;
  }
  if (tile_saved) {
    f.amx_bf16 = (d >> 22) & 1;
    f.amx_tile = (d >> 24) & 1;
  }
  unsigned a1, b1, c1, d1;
  __cpuid_count(7, 1, a1, b1, c1, d1);
  f.avx512_bf16 = zmm_saved && ((a1 >> 5) & 1);
  if (f.amx_tile && f.amx_bf16) f.amx_granted = request_amx_permission();
  return f;
}
#else
Features detect() {
  return {};
}
#endif

const Features& features() {
  static const Features f = detect();
  return f;
}

Isa detect_isa() {
  const Features& f = features();
  if (!(f.avx2 && f.fma && f.f16c)) return Isa::Portable;
  if (!(f.avx512f && f.avx512bw && f.avx512vl && f.avx512dq && f.avx512_vnni)) return Isa::Avx2;
  if (!(f.avx512_bf16 && f.amx_tile && f.amx_bf16 && f.amx_granted)) return Isa::Avx512;
  return Isa::Amx;
}

Isa initial_isa() {
  const Isa best = detected_isa();
  const char* env = std::getenv("MOESCOPE_ISA");
  if (env == nullptr || *env == '\0') return best;
  const std::optional<Isa> asked = parse_isa(env);
  return asked && *asked < best ? *asked : best;
}

std::atomic<Isa>& active() {
  static std::atomic<Isa> isa{initial_isa()};
  return isa;
}

}  // namespace

const char* isa_name(Isa isa) {
  switch (isa) {
    case Isa::Portable:
      return "portable";
    case Isa::Avx2:
      return "avx2";
    case Isa::Avx512:
      return "avx512";
    case Isa::Amx:
      return "amx";
  }
  return "?";
}

std::optional<Isa> parse_isa(std::string_view name) {
  for (Isa isa : {Isa::Portable, Isa::Avx2, Isa::Avx512, Isa::Amx})
    if (name == isa_name(isa)) return isa;
  return std::nullopt;
}

const char* isa_choices() {
  return "portable, avx2, avx512 or amx";
}

Isa detected_isa() {
  static const Isa isa = detect_isa();
  return isa;
}

Isa active_isa() {
  return active().load(std::memory_order_relaxed);
}

Isa set_active_isa(Isa isa) {
  const Isa capped = isa < detected_isa() ? isa : detected_isa();
  active().store(capped, std::memory_order_relaxed);
  return capped;
}

std::string isa_env_error() {
  const char* env = std::getenv("MOESCOPE_ISA");
  if (env == nullptr || *env == '\0' || parse_isa(env)) return "";
  return std::string("MOESCOPE_ISA=") + env + ": expected " + isa_choices();
}

bool cpu_has_avx512_bf16() {
  const Features& f = features();
  return f.avx512f && f.avx512bw && f.avx512vl && f.avx512dq && f.avx512_bf16;
}

std::string cpu_feature_list() {
  const Features& f = features();
  std::string out;
  auto add = [&](bool has, const char* name) {
    if (!has) return;
    if (!out.empty()) out += ' ';
    out += name;
  };
  add(f.avx2, "avx2");
  add(f.fma, "fma");
  add(f.f16c, "f16c");
  add(f.avx512f, "avx512f");
  add(f.avx512bw, "avx512bw");
  add(f.avx512vl, "avx512vl");
  add(f.avx512dq, "avx512dq");
  add(f.avx512_vnni, "avx512vnni");
  add(f.avx512_bf16, "avx512bf16");
  add(f.amx_tile, "amx-tile");
  add(f.amx_bf16, "amx-bf16");
  if (f.amx_tile && f.amx_bf16 && !f.amx_granted) add(true, "(amx not granted by the OS)");
  return out.empty() ? "none of avx2/avx512/amx" : out;
}

}  // namespace moescope::kernels
