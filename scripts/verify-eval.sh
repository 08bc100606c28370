#!/usr/bin/env bash
# The README's figures for `verify --against`: precision and recall (examples/verify-eval.rs,
# clean runs and planted leaks over testdata and ../shared/corpus under basic, ml-dataset and
# safe-harbor), then wall time and peak RSS of `run` and of `verify --against` over the same
# files (median of 3 runs), on the shared corpus and on a generated 2,000-file tree.
#
#   scripts/verify-eval.sh [FILES]      # FILES: size of the generated tree (default 2000)
set -euo pipefail
cd "$(dirname "$0")/.."
files=${1:-2000}
cargo build --release --quiet --bin dicom-deid --example verify-eval --example generate-archive
bin=target/release/dicom-deid
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

echo "## precision and recall"
target/release/examples/verify-eval 2>"$work/eval.log"
grep -c "FALSE LEAK\|MISSED" "$work/eval.log" | sed 's/^/findings to look at (stderr of verify-eval): /' || true

echo
echo "## time (wall s, peak RSS KB)"
"$bin" keygen "$work/key" >/dev/null
target/release/examples/generate-archive "$work/gen" "$files" >/dev/null
inputs=("$work/gen")
[ -d ../shared/corpus ] && inputs+=(../shared/corpus)
echo "| input | run s | run KB | verify --against s | verify KB | ratio |"
echo "|---|---|---|---|---|---|"
# The median of 3 runs of each (the machine is often shared).
median() { sort -n | sed -n 2p; }
for input in "${inputs[@]}"; do
    out="$work/out-$(basename "$input")"
    : >"$work/run.t"; : >"$work/ver.t"
    for _ in 1 2 3; do
        rm -rf "$out"
        /usr/bin/time -f "%e %M" -a -o "$work/run.t" "$bin" run -q --key-file "$work/key" "$input" "$out" >/dev/null 2>&1 || true
        /usr/bin/time -f "%e %M" -a -o "$work/ver.t" "$bin" verify -q --key-file "$work/key" --against "$input" "$out" >/dev/null 2>&1 || true
    done
    rs=$(grep -v Command "$work/run.t" | cut -d' ' -f1 | median); rk=$(grep -v Command "$work/run.t" | cut -d' ' -f2 | median)
    vs=$(grep -v Command "$work/ver.t" | cut -d' ' -f1 | median); vk=$(grep -v Command "$work/ver.t" | cut -d' ' -f2 | median)
    echo "| $(basename "$input") | $rs | $rk | $vs | $vk | $(echo "scale=2; $vs / $rs" | bc) |"
done
echo "load average: $(cut -d' ' -f1-3 /proc/loadavg)"
