#!/usr/bin/env bash
# Checks that every external symbol an instruction-set variant of the kernels defines lies in its
# own namespace (kernels/cpu/matmul_variants.h), and that the variants below AVX-512 use no wider
# registers than theirs (their flags are what keeps them runnable on older CPUs). An inline function or template instantiation
# defined under a shared name (std::vector<float>::resize, a header's inline helper) is merged by
# the linker with the other objects' copies, so code compiled for AVX-512 could end up called on
# a CPU without it. Usage: check_kernel_variants.sh OBJECT...
#   <kernel>_<variant>.cpp.o (matmul_avx512.cpp.o, attention_avx2.cpp.o, ...) may define only
#   moescope::kernels::isa_<variant>:: and moescope::kernels::simd::isa_<variant>:: names.
set -euo pipefail
status=0
checked=0
for object in "$@"; do
  name=$(basename "$object")
  [[ $name =~ ^[a-z]+_(portable|avx2|avx512|avx512bf16|amx)\.cpp\.o$ ]] || continue
  variant=${BASH_REMATCH[1]}
  checked=$((checked + 1))
  # Defined symbols other than local ones (nm prints those in lower case, but for weak ones,
  # which 'w'/'v' are not here: --defined-only leaves only defined weak symbols, W/V/u).
  while read -r _ type symbol; do
    case $type in
      [a-z]) [[ $type == [vwu] ]] || continue ;;
    esac
    case $symbol in
      "moescope::kernels::isa_${variant}::"* | "moescope::kernels::simd::isa_${variant}::"*) ;;
      DW.ref.__gxx_personality_v0) ;;  # the C++ runtime's, the same in every object
      *)
        echo "$name: '$symbol' ($type) is defined outside moescope::kernels::isa_${variant}"
        status=1
        ;;
    esac
  done < <(nm -C --defined-only "$object")
  # Registers of instruction sets the variant must not use: any ymm/zmm (VEX/EVEX code) in the
  # portable one, zmm or mask registers in the AVX2 one.
  case $variant in
    portable) wide='%[yz]mm[0-9]' ;;
    avx2) wide='%zmm[0-9]|%k[0-7]' ;;
    *) wide='' ;;
  esac
  if [[ -n $wide ]]; then
    found=$(objdump -d --no-show-raw-insn "$object" | grep -cE "$wide" || true)
    if ((found > 0)); then
      echo "$name: $found instructions use registers wider than $variant's ($wide)"
      status=1
    fi
  fi
done
if ((checked == 0)); then
  echo "no variant objects (<kernel>_<variant>.cpp.o) among the arguments"
  exit 1
fi
((status == 0)) && echo "$checked variant objects: every external symbol in its own namespace, no registers wider than the variant's"
exit $status
