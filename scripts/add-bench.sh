#!/usr/bin/env bash
# What a run added to a large dataset costs: generates an export of BASE + 3000 CT images of
# SIDE x SIDE pixels (100 a patient), makes a dataset of the first BASE with one run, then for
# three nights of 1000 new images each times a fresh run into an empty OUTPUT and `--add` into
# the dataset, one after the other, and prints both, their ratio (wall and CPU time), and the
# time of `history` and of one catalogue lookup (which run wrote a given file), through the
# sqlite3 module of python3. On a machine others use too, wall time moves with their load; CPU
# time (user + system) is the steadier measure.
#
#   scripts/add-bench.sh [BASE [SIDE [WORK_DIR]]]     (defaults: 100000 16 a temp folder)
set -euo pipefail
cd "$(dirname "$0")/.."
base=${1:-100000}
side=${2:-16}
work=${3:-$(mktemp -d /tmp/dicom-deid-add.XXXXXX)}

cargo build --locked --release --quiet --bin dicom-deid --example generate-archive
target=$(cargo metadata --format-version 1 --no-deps \
  | sed -n 's/.*"target_directory":"\([^"]*\)".*/\1/p')
bin="$target/release/dicom-deid"
mkdir -p "$work"
if [ ! -d "$work/arch" ]; then
  "$target/release/examples/generate-archive" "$work/arch" $((base + 3000)) "$side"
  patients=$((base / 100))
  for i in $(seq $((patients + 1)) $((patients + 30))); do
    k=$(((i - patients - 1) / 10 + 1))
    mkdir -p "$work/n$k"
    mv "$work/arch/$(printf SYNTH_P%04d "$i")" "$work/n$k/"
  done
fi
[ -f "$work/key" ] || "$bin" keygen "$work/key" 2>/dev/null
args=(--key-file "$work/key" --quiet --jobs 2)

# `time` of one command: "wall cpu" in seconds.
timed() {
  /usr/bin/time -o "$work/time" -f '%e %U %S' "$@" >/dev/null 2>&1 || true
  tail -1 "$work/time" | awk '{ printf "%.2f %.2f", $1, $2 + $3 }'
}
if [ ! -d "$work/dataset" ]; then
  echo "base run: $(timed "$bin" run "$work/arch" "$work/dataset" "${args[@]}") (wall, cpu s)"
fi
for k in 1 2 3; do
  cat $(find "$work/n$k" -type f) >/dev/null
  rm -rf "$work/fresh$k"
  fresh=$(timed "$bin" run "$work/n$k" "$work/fresh$k" "${args[@]}")
  add=$(timed "$bin" run "$work/n$k" "$work/dataset" --add "${args[@]}")
  echo "night $k: fresh $fresh, --add $add (wall, cpu s)" \
    "ratio $(echo "$fresh $add" | awk '{ printf "wall %.2f cpu %.2f", $3 / $1, $4 / $2 }')"
done
echo "history: $(timed "$bin" history "$work/dataset" --json) (wall, cpu s)"
output=$(sed -n '1p' "$work/dataset/.dicom-deid/runs/0003/manifest.jsonl" | sed 's/.*"output":"\([^"]*\)".*/\1/')
python3 - "$work/dataset/.dicom-deid/catalogue.sqlite" "$output" <<'PY'
import sqlite3, sys, time
db = sqlite3.connect(sys.argv[1])
n = db.execute("SELECT COUNT(*) FROM records").fetchone()[0]
start = time.perf_counter()
row = db.execute("SELECT run, input_id FROM records WHERE output = ? AND status = 'written'",
                 (sys.argv[2],)).fetchone()
took = time.perf_counter() - start
print(f"catalogue lookup over {n} records: run {row[0]} wrote it, in {took:.4f} s")
PY
