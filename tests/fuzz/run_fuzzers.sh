#!/usr/bin/env bash
# Builds the libFuzzer targets (clang, ASan + UBSan, build dir build-fuzz) and runs each for a
# bounded time on a working copy of its seed corpus. Usage:
#   tests/fuzz/run_fuzzers.sh [SECONDS_PER_TARGET (default 60)] [TARGET...]
# Crashes land in build-fuzz/artifacts/<target>/; each one found must become a regression input
# in tests/fuzz/regressions/<target>/ (test_fuzz feeds them all) and be fixed.
set -uo pipefail
cd "$(dirname "$0")/../.."
seconds=${1:-60}
shift || true
targets=("$@")
[[ ${#targets[@]} -gt 0 ]] || targets=(safetensors_header config_json pickle tokenizer_file trace_file)
dir=build-fuzz
flags="-fsanitize=fuzzer-no-link,address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer"

cmake -S . -B $dir -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DCMAKE_C_COMPILER=clang -DCMAKE_CXX_COMPILER=clang++ -DMOESCOPE_FUZZ=ON \
  -DMOESCOPE_NATIVE=OFF -DMOESCOPE_ENABLE_CUDA=OFF \
  "-DCMAKE_C_FLAGS=$flags" "-DCMAKE_CXX_FLAGS=$flags" \
  "-DCMAKE_EXE_LINKER_FLAGS=-fsanitize=address,undefined" >/dev/null || exit 1
nice -n 10 ninja -C $dir -j"${JOBS:-2}" "${targets[@]/#/fuzz_}" || exit 1

failed=()
for t in "${targets[@]}"; do
  work=$dir/corpus/$t
  artifacts=$dir/artifacts/$t
  mkdir -p "$work" "$artifacts"
  # New inputs go to the working copy; the committed seeds stay as they are.
  log=$dir/fuzz_$t.log
  ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1} UBSAN_OPTIONS=print_stacktrace=1 \
    nice -n 10 "$dir/tests/fuzz/fuzz_$t" -max_total_time="$seconds" -timeout=10 \
    -rss_limit_mb=2048 -malloc_limit_mb=1024 -print_final_stats=1 \
    -artifact_prefix="$artifacts/" "$work" "tests/fuzz/corpus/$t" >"$log" 2>&1
  rc=$?
  runs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$')
  echo "fuzz_$t: exit $rc, ${runs:-?} executions in ${seconds} s, corpus $(ls "$work" | wc -l) inputs"
  if [[ $rc -ne 0 ]]; then
    failed+=("$t")
    grep -m3 -E 'ERROR|SUMMARY|Test unit written' "$log" | sed 's/^/  /'
  fi
done
[[ ${#failed[@]} -eq 0 ]] || { echo "crashes in: ${failed[*]} (see $dir/fuzz_<target>.log)"; exit 1; }
echo "fuzzers: no crashes"
