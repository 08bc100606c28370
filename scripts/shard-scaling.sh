#!/usr/bin/env bash
# Throughput of sharded runs on this machine: generates an export of FILES CT images of SIDE x
# SIDE pixels, then for N = 1, 2, 4 runs the N shards at once (each with --jobs cores/N, at
# least 1, so every N uses the same cores), and prints files/s over the wall time of all N,
# the CPU time (user + system, all shards) per file, the time of `summary` merging them, and
# the time one shard spends only walking INPUT. On a machine others use too, wall time moves
# with their load; CPU time per file is the steadier measure of what sharding costs.
#
#   scripts/shard-scaling.sh [FILES [SIDE [WORK_DIR]]]     (defaults: 2000 512 a temp folder)
#
# Release build; the input is read once beforehand so every N finds it in the page cache.
set -euo pipefail
cd "$(dirname "$0")/.."
files=${1:-2000}
side=${2:-512}
work=${3:-$(mktemp -d /tmp/dicom-deid-scaling.XXXXXX)}
cores=$(nproc)

cargo build --locked --release --quiet --bin dicom-deid --example generate-archive
target=$(cargo metadata --format-version 1 --no-deps \
  | sed -n 's/.*"target_directory":"\([^"]*\)".*/\1/p')
bin="$target/release/dicom-deid"
mkdir -p "$work"
if [ ! -d "$work/input" ]; then
  "$target/release/examples/generate-archive" "$work/input" "$files" "$side"
fi
[ -f "$work/key" ] || "$bin" keygen "$work/key" 2>/dev/null
inputs=$(find "$work/input" -type f | wc -l)
megabytes=$(du -sm "$work/input" | cut -f1)
cat $(find "$work/input" -type f) > /dev/null

now() { date +%s.%N; }
echo "$inputs inputs, $megabytes MB, $cores cores"
printf '%-4s %-6s %10s %10s %12s %12s\n' N jobs seconds files/s "CPU ms/file" "summary s"
TIMEFORMAT="%R %U %S"
for n in 1 2 4; do
  jobs=$((cores / n))
  [ "$jobs" -ge 1 ] || jobs=1
  rm -rf "$work/out-$n"
  times=$( { time {
    pids=()
    for k in $(seq 1 "$n"); do
      "$bin" run "$work/input" "$work/out-$n" --key-file "$work/key" --shard "$k/$n" \
        --jobs "$jobs" --quiet --exit-zero-on-file-failures &
      pids+=($!)
    done
    for pid in "${pids[@]}"; do wait "$pid"; done
  } ; } 2>&1 )
  start=$(now)
  status=0
  "$bin" summary "$work/out-$n" --jobs "$cores" 2>/dev/null || status=$?
  merged=$(now)
  [ "$status" -le 1 ] || { echo "summary of N = $n exited $status" >&2; exit 1; }
  read -r wall user sys <<< "$times"
  awk -v n="$n" -v j="$jobs" -v w="$wall" -v u="$user" -v y="$sys" -v s="$start" -v m="$merged" \
    -v f="$inputs" 'BEGIN { printf "%-4s %-6s %10.2f %10.1f %12.2f %12.2f\n",
      n, j, w, f / w, (u + y) / f * 1000, m - s }'
done
# A shard that selects almost nothing: its time is the walk (and keyed path hash) of INPUT,
# which every shard pays in full.
rm -rf "$work/out-walk"
start=$(now)
"$bin" run "$work/input" "$work/out-walk" --key-file "$work/key" --shard 1/100000 --quiet \
  --exit-zero-on-file-failures
end=$(now)
awk -v s="$start" -v e="$end" -v f="$inputs" \
  'BEGIN { printf "walk only (shard 1/100000): %.3f s, %.1f us per input\n", e - s, (e - s) / f * 1e6 }'
echo "work folder: $work (remove it when done)"
