#!/usr/bin/env bash
# The long run of the README's Reliability section, measured: 8,192 tokens generated and recorded
# with routing, ops and budgeted attention capture (layer 1, head 0, --attention-budget-mb 4) on
# the default model with a 16,384-position context, first from the CLI (the run's memory
# samples, from `report`), then live in the workbench under Xvfb (frame times per segment of
# tests/bench/long_run.gui). Usage: tests/bench/long_run.sh [WORK_DIR (default /tmp/moescope-long)]
# Needs ./build (bash .ci/setup) and xvfb-run for the GUI half.
set -euo pipefail
cd "$(dirname "$0")/../.."
work=${1:-/tmp/moescope-long}
bin=$PWD/build/moescope
mkdir -p "$work"

# The default model with a longer context: RoPE works at any position (it was trained on 512).
model=$work/tiny-grok1-16k
rm -rf "$model" && mkdir -p "$model"
sed -E 's/"max_position_embeddings": *[0-9]+/"max_position_embeddings": 16384/' \
  assets/tiny-grok1/config.json >"$model/config.json"
grep -q '"max_position_embeddings": 16384' "$model/config.json"
ln -s "$PWD/assets/tiny-grok1/model.safetensors" "$PWD/assets/tiny-grok1/tokenizer.model" "$model/"

rm -f "$work"/cli.db*
"$bin" run --model "$model" --prompt "And God said unto Moses," --max-tokens 8192 \
  --temperature 0.8 --seed 11 --attention --attention-layers 1 --attention-heads 0 \
  --attention-budget-mb 4 --threads 1 --quiet --trace "$work/cli.db"
"$bin" report "$work/cli.db" | grep -E '^(run|memory|dropped)'

if command -v xvfb-run >/dev/null; then
  rm -rf "$work"/gui.db* "$work/cfg"
  xvfb-run -a -s "-screen 0 1920x1200x24" "$bin" gui --threads 1 --model "$model" \
    --trace "$work/gui.db" --config-dir "$work/cfg" --script tests/bench/long_run.gui \
    --frame-stats "$work/frames.json"
  "$bin" report "$work/gui.db" | grep -E '^(run|memory|dropped)'
fi
