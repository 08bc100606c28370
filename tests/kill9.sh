#!/usr/bin/env bash
# kill -9 trials: start `dicom-deid run`, SIGKILL it at a random moment, `--resume` (every
# third trial the resume is killed too and resumed again), then compare OUTPUT with an
# uninterrupted run byte for byte (summary.json and catalogue.sqlite aside: they hold timings) and count temp files
# left behind. Exits non-zero on any mismatch or leftover.
#
# With MODE `add`, every trial kills a run added with `--add` to a dataset (one earlier run over
# the test data alone), then `--resume`s it, and compares with the uninterrupted `--add` (the
# dataset's own summaries aside). A kill before the added run began leaves the finished dataset,
# which `--resume` refuses (exit 2): the trial then runs the same `--add` again, as a nightly job
# would.
#
# Usage: tests/kill9.sh [TRIALS] [add]   (default 20; DICOM_DEID_BIN names the binary to test,
# default the debug build, built when missing)
set -euo pipefail
cd "$(dirname "$0")/.."
trials=${1:-20}
mode=${2:-run}
bin=${DICOM_DEID_BIN:-${CARGO_TARGET_DIR:-target}/debug/dicom-deid}
if [ ! -x "$bin" ]; then
  cargo build --locked --quiet
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
printf '%s\n' 00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff >"$work/key"
chmod 600 "$work/key"

# A run long enough to be killed in the middle, with duplicates across folders: the test data
# and two copies of the corpus.
mkdir -p "$work/in"
cp -r testdata/pacs-export "$work/in/pacs"
corpus=../shared/corpus/pydicom-3.0.2
if [ -d "$corpus" ]; then
  for i in 1 2; do cp -r "$corpus" "$work/in/corpus$i"; done
fi
chmod -R u+w "$work/in"

args=(--key-file "$work/key" --quiet --jobs 2)
deid() { "$bin" run "$work/in" "$@" "${args[@]}"; }
now_ms() { echo $(($(date +%s%N) / 1000000)); }
# Digest of every file of a tree but the summaries and the catalogue (they hold timings), with
# its path.
digest() { (cd "$1" && find . -type f ! -name summary.json ! -name catalogue.sqlite -print0 | sort -z | xargs -0 sha256sum); }

# In add mode, every trial starts from a copy of this dataset: one run over the test data alone.
add=()
if [ "$mode" = add ]; then
  mkdir -p "$work/night1"
  cp -r testdata/pacs-export "$work/night1/pacs"
  set +e
  "$bin" run "$work/night1" "$work/base" "${args[@]}"
  set -e
  add=(--add)
fi
fresh() {
  if [ "$mode" = add ]; then cp -a "$work/base" "$1"; fi
}

fresh "$work/ref"
start=$(now_ms)
set +e
deid "$work/ref" "${add[@]}"
ref_code=$?
set -e
span=$(($(now_ms) - start))
digest "$work/ref" >"$work/ref.sum"
files=$(grep -c '' "$work/ref.sum")

# Kill `deid OUTPUT ARGS...` after a random delay within the reference run's span; prints
# "killed" when it was still running.
run_and_kill() {
  local out=$1
  shift
  local delay=$(((RANDOM * 32768 + RANDOM) % (span + 1)))
  # The binary itself in the background (not a function's subshell), so the kill reaches it.
  "$bin" run "$work/in" "$out" "$@" "${args[@]}" >/dev/null 2>&1 &
  local pid=$!
  sleep "$(awk "BEGIN { print $delay / 1000 }")"
  if kill -9 "$pid" 2>/dev/null; then
    echo killed
  fi
  wait "$pid" 2>/dev/null || true
}

mismatches=0
leftovers=0
killed=0
resumes_killed=0
bad_codes=0
for trial in $(seq 1 "$trials"); do
  out="$work/out$trial"
  fresh "$out"
  if [ "$(run_and_kill "$out" "${add[@]}")" = killed ]; then
    killed=$((killed + 1))
  fi
  if [ $((trial % 3)) -eq 0 ] && [ "$(run_and_kill "$out" --resume)" = killed ]; then
    resumes_killed=$((resumes_killed + 1))
  fi
  set +e
  deid "$out" --resume 2>/dev/null
  code=$?
  if [ "$mode" = add ] && [ "$code" -eq 2 ]; then
    deid "$out" --add
    code=$?
  fi
  set -e
  if [ "$code" -ne "$ref_code" ]; then
    echo "trial $trial: resume exited $code, the reference run $ref_code" >&2
    bad_codes=$((bad_codes + 1))
  fi
  digest "$out" >"$work/out.sum"
  if ! cmp -s "$work/out.sum" "$work/ref.sum"; then
    echo "trial $trial: OUTPUT differs from the uninterrupted run" >&2
    diff "$work/out.sum" "$work/ref.sum" | head -5 >&2 || true
    mismatches=$((mismatches + 1))
  fi
  left=$(find "$out" -name '.dicom-deid-*.tmp' | wc -l)
  leftovers=$((leftovers + left))
  rm -rf "$out"
done

echo "kill9: $trials trials over $files files (reference run ${span} ms):" \
  "$killed runs and $resumes_killed resumes killed mid-run," \
  "$mismatches mismatches, $leftovers leftover temp files, $bad_codes wrong exit codes"
[ "$mismatches" -eq 0 ] && [ "$leftovers" -eq 0 ] && [ "$bad_codes" -eq 0 ]
