#!/usr/bin/env bash
# Times `run` with the text detector against `cp -r` on a mixed tree, in one run.
#
#   [BIN=dicom-deid] benches/detect-run.sh [--files N] [--repeat R] [--work DIR] [--realistic]
#
# - Tree: the `image` tree of examples/generate-bench-tree.rs (N files, default 2000), of which
#   every ultrasound (640×480 RGB; 640×480 × 4-frame grey cines) and secondary capture
#   (640×480 grey) file is kept, plus CT and MR files up to 3/7 of the tree: US/SC is 57 %.
#   Their pixels are pseudo-random, every frame different from the last: the detector's worst
#   case (nothing static on a cine to skip, texture everywhere), not a typical one.
#   With --realistic, the `image-realistic` tree instead: the same files, ultrasound and
#   secondary captures drawn as such images look (speckle in a sector or rectangle on black,
#   burned-in text lines, on cines only the speckle changes); CT and MR stay pseudo-random.
# - Rows, each the median of R rounds (default 3) of wall time, ending with `sync`: `cp -r`;
#   `basic` (US/SC quarantined: no rule); `basic` + `burned_in_without_rule: keep`; `basic` +
#   `burned_in_without_rule: detect`; `basic` + `pixel.detect: true` (every image examined).
# - The load average is printed before and after: figures from a busy machine say so.
set -euo pipefail
cd "$(dirname "$0")/.."
FILES=2000
REPEAT=3
WORK=${TMPDIR:-/tmp}/dicom-deid-detect-run
KIND=image
while [ $# -gt 0 ]; do
  case $1 in
    --files) FILES=$2; shift 2 ;;
    --repeat) REPEAT=$2; shift 2 ;;
    --work) WORK=$2; shift 2 ;;
    --realistic) KIND=image-realistic; shift ;;
    *) echo "unknown argument $1" >&2; exit 2 ;;
  esac
done
cargo build --release --quiet --bin dicom-deid --example generate-bench-tree
# BIN=path times another build (an older one, for before/after figures).
BIN=${BIN:-$PWD/target/release/dicom-deid}
mkdir -p "$WORK"
TREE=$WORK/mixed-$KIND-$FILES
if [ ! -d "$TREE" ]; then
  FULL=$WORK/$KIND-$FILES
  [ -d "$FULL" ] || target/release/examples/generate-bench-tree "$KIND" "$FULL" "$FILES" >/dev/null
  mkdir -p "$TREE"
  (cd "$FULL" && find . -path '*/SER00[345]/*' -name '*.dcm') > "$WORK/us-sc.txt"
  keep=$(( $(wc -l < "$WORK/us-sc.txt") * 3 / 4 ))
  (cd "$FULL" && find . -path '*/SER00[12]/*' -name '*.dcm' | sort | head -n "$keep") > "$WORK/other.txt"
  (cd "$FULL" && cat "$WORK/us-sc.txt" "$WORK/other.txt" | xargs cp --parents -t "$TREE")
fi
KEEP=$WORK/keep.yaml
DETECT=$WORK/detect.yaml
EVERY=$WORK/every.yaml
printf 'extends: basic\npixel:\n  burned_in_without_rule: keep\n' > "$KEEP"
printf 'extends: basic\npixel:\n  burned_in_without_rule: detect\n' > "$DETECT"
printf 'extends: basic\npixel:\n  detect: true\n  burned_in_without_rule: detect\n' > "$EVERY"
KEY=$WORK/key.hex
[ -f "$KEY" ] || { head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n' > "$KEY"; echo >> "$KEY"; chmod 600 "$KEY"; }
echo "tree: $(find "$TREE" -name '*.dcm' | wc -l) files, $(du -sh "$TREE" | cut -f1), US/SC $(wc -l < "$WORK/us-sc.txt")"
echo "load before: $(cut -d' ' -f1-3 /proc/loadavg)"
time_one() { # label, command...
  local label=$1; shift
  rm -rf "$WORK/out"
  local start end
  start=$(date +%s.%N)
  "$@" >/dev/null 2>&1 || true
  sync
  end=$(date +%s.%N)
  echo "$label $(echo "$end - $start" | bc)"
}
: > "$WORK/times.txt"
for _ in $(seq "$REPEAT"); do
  {
    time_one cp cp -r "$TREE" "$WORK/out"
    time_one basic "$BIN" run "$TREE" "$WORK/out" --key-file "$KEY" -q
    time_one keep "$BIN" run "$TREE" "$WORK/out" --key-file "$KEY" --profile "$KEEP" -q
    time_one detect "$BIN" run "$TREE" "$WORK/out" --key-file "$KEY" --profile "$DETECT" -q
    time_one every "$BIN" run "$TREE" "$WORK/out" --key-file "$KEY" --profile "$EVERY" -q
  } >> "$WORK/times.txt"
done
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"
cp_median=$(awk '$1=="cp"{print $2}' "$WORK/times.txt" | sort -n | awk '{a[NR]=$1} END{print a[int((NR+1)/2)]}')
echo "| run | wall (median of $REPEAT) | × cp -r |"
echo "|---|---:|---:|"
for label in cp basic keep detect every; do
  m=$(awk -v l="$label" '$1==l{print $2}' "$WORK/times.txt" | sort -n | awk '{a[NR]=$1} END{print a[int((NR+1)/2)]}')
  printf '| %s | %.2f s | %.1f |\n' "$label" "$m" "$(echo "$m / $cp_median" | bc -l)"
done
rm -rf "$WORK/out"
