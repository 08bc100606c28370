#!/usr/bin/env bash
# Times dicom-deid against `cp -r` and the peers on two generated trees, in one run.
#
#   benches/compare.sh [--files N] [--repeat R] [--work DIR] [--no-peers] [--rss-scale]
#                      [--slow-rounds K]
#   (SETTLE_SECONDS=N: the pause between rounds, default 100; see clear_outputs)
#
# - Trees (made once by examples/generate-bench-tree.rs, reused after): `image`, N files of
#   CT/MR/US/SC images (~420 KB each, ~840 MB at N=2000); `header`, N files of long headers,
#   100-item SRs and enhanced MR with per-frame groups (~40 KB each, ~80 MB at N=2000).
# - Every tool reads a page-cache-warm tree and ends with `sync`, so each row pays for getting
#   its output onto the disk: `cp -r` (the limit), dicom-deid (basic profile, keyed UIDs, date
#   shift; pixel data passes through — `burned_in_without_rule: keep`, since `basic` alone
#   quarantines US and SC images that have no pixel rule), dicom-deid with a native masking
#   rule on every image, dicom-deid --jobs 1 and --fsync each, gdcmanon (Debian libgdcm-tools, basic profile
#   with a throw-away certificate) and dicognito (PyPI) when installed: skipped with a
#   message when not.
# - Each round runs every tool once, in turn (each round starting one tool later), so a load
#   spike from other users of the machine, or a fuller output disk, hits all of them alike
#   (dicognito, minutes per tree, only in the first K rounds, default 1); the table shows the
#   median of R rounds (default 3) of wall time, files/s and MB/s of input, and peak RSS
#   (`/usr/bin/time -v`), and the ratio to cp.
# - `--rss-scale`: also de-identifies 1,000 and 100,000 small CT files (16×16 pixels, from
#   examples/generate-archive.rs: what grows with the number of files is per-file state, and
#   small files make it stand out) and prints the peak RSS of both (~1 GB of disk).
# - The outputs of a round stay on disk until the round ends (~6 GB at N=2000).
#
# Not run in CI (minutes of wall time and ~2 GB of disk). The load average is printed before
# and after: figures taken on a busy machine say so.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD

FILES=2000
REPEAT=3
WORK=${TMPDIR:-/tmp}/dicom-deid-compare
PEERS=1
RSS_SCALE=0
SLOW_ROUNDS=1
while [ $# -gt 0 ]; do
  case $1 in
    --files) FILES=$2; shift 2 ;;
    --repeat) REPEAT=$2; shift 2 ;;
    --work) WORK=$2; shift 2 ;;
    --no-peers) PEERS=0; shift ;;
    --rss-scale) RSS_SCALE=1; shift ;;
    --slow-rounds) SLOW_ROUNDS=$2; shift 2 ;;
    *) echo "usage: $0 [--files N] [--repeat R] [--work DIR] [--no-peers] [--rss-scale] [--slow-rounds K]" >&2; exit 2 ;;
  esac
done

if [ ! -x /usr/bin/time ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    apt-get install -y -qq time >/dev/null
  else
    echo "needs GNU time at /usr/bin/time (apt-get install time)" >&2
    exit 2
  fi
fi

TARGET=${CARGO_TARGET_DIR:-$ROOT/target}
cargo build --release --locked --quiet --bin dicom-deid --example generate-bench-tree \
  --example generate-archive
DEID=$TARGET/release/dicom-deid
GEN=$TARGET/release/examples/generate-bench-tree
mkdir -p "$WORK"

for kind in image header; do
  tree=$WORK/$kind-$FILES
  if [ ! -f "$tree.done" ]; then
    rm -rf "$tree"
    "$GEN" "$kind" "$tree" "$FILES"
    touch "$tree.done"
  fi
done

KEY=$WORK/key
[ -f "$KEY" ] || "$DEID" keygen "$KEY" >/dev/null
cat >"$WORK/passthrough.yaml" <<'EOF'
# basic, with pixel data passed through untouched (no rule, nothing quarantined).
name: bench-passthrough
extends: basic
pixel: {burned_in_without_rule: keep}
EOF
cat >"$WORK/masking.yaml" <<'EOF'
# basic, with a native masking rule on every image: a 40-row band across the top.
name: bench-masking
extends: basic
pixel:
  rules:
    - name: top band
      regions: [[0, 0, 4096, 40]]
  burned_in_without_rule: keep
EOF

# The peers, when they can be found.
GDCMANON=""
DICOGNITO=()
if [ "$PEERS" = 1 ]; then
  if command -v gdcmanon >/dev/null; then
    GDCMANON=$(command -v gdcmanon)
    if [ ! -f "$WORK/gdcm-cert.pem" ]; then
      openssl req -x509 -newkey rsa:2048 -nodes -days 30 -subj /CN=bench \
        -keyout "$WORK/gdcm-key.pem" -out "$WORK/gdcm-cert.pem" 2>/dev/null
    fi
  else
    echo "gdcmanon not found: skipped (Debian package libgdcm-tools)" >&2
  fi
  # The console script of some dicognito releases does not start; the module does.
  if python3 -m dicognito --version >/dev/null 2>&1; then
    DICOGNITO=(python3 -m dicognito)
  else
    echo "dicognito not found: skipped (pip install dicognito)" >&2
  fi
fi

# run LABEL TREE COMMAND...: one timed run into a fresh $OUT (see below); appends
# "tree label wall rss files-out exit-code" to the results.
RESULTS=$WORK/results.txt
: >"$RESULTS"
RUNS=0
run() {
  local label=$1 tree=$2
  shift 2
  # Warm the page cache for the input: every tool starts from the same state.
  find "$tree" -type f -exec cat {} + >/dev/null
  /usr/bin/time -v -o "$WORK/time.txt" \
    sh -c '"$@" >/dev/null 2>"$0.stderr"; rc=$?; sync; echo $rc >"$0.rc"' "$WORK/run" "$@"
  local wall rss written
  wall=$(awk -F': ' '/Elapsed \(wall clock\)/ {print $2}' "$WORK/time.txt" |
    awk -F: '{ if (NF == 3) print $1*3600 + $2*60 + $3; else print $1*60 + $2 }')
  rss=$(awk -F': ' '/Maximum resident set size/ {print $2}' "$WORK/time.txt")
  written=$({ find "$OUT" -type f ! -name '*.json' ! -name '*.jsonl' \
    ! -path '*/.dicom-deid/*' 2>/dev/null || true; } | wc -l)
  echo "$(basename "$tree") $label $wall $rss $written $(cat "$WORK/run.rc")" >>"$RESULTS"
  RUNS=$((RUNS + 1))
  OUT=$WORK/outputs/$RUNS
}

# Outputs are deleted only between rounds, then the script waits: on ext4 without a journal
# (as here) creating files right after deleting others makes the allocator skip every inode
# deleted in the last minute or so, which would tax whichever tool ran next.
clear_outputs() {
  if [ -d "$WORK/outputs" ]; then
    rm -rf "$WORK/outputs"
    # Written out, the freed inodes count as recently deleted for a minute, not five.
    sync
    sleep "${SETTLE_SECONDS:-100}"
  fi
  mkdir -p "$WORK/outputs"
  OUT=$WORK/outputs/$RUNS
}

# One timed run of a tool on a tree.
run_tool() {
  local tool=$1 tree=$2
  case $tool in
    cp) run "cp -r" "$tree" cp -r "$tree" "$OUT" ;;
    deid) run "dicom-deid" "$tree" "$DEID" run "$tree" "$OUT" --key-file "$KEY" \
      --profile "$WORK/passthrough.yaml" --quiet ;;
    deid-jobs1) run "dicom-deid --jobs 1" "$tree" "$DEID" run "$tree" "$OUT" --key-file "$KEY" \
      --profile "$WORK/passthrough.yaml" --quiet --jobs 1 ;;
    deid-fsync) run "dicom-deid --fsync each" "$tree" "$DEID" run "$tree" "$OUT" \
      --key-file "$KEY" --profile "$WORK/passthrough.yaml" --quiet --fsync each ;;
    deid-mask) run "dicom-deid masking" "$tree" "$DEID" run "$tree" "$OUT" --key-file "$KEY" \
      --profile "$WORK/masking.yaml" --quiet ;;
    gdcmanon) run "gdcmanon" "$tree" "$GDCMANON" -e -c "$WORK/gdcm-cert.pem" -r --continue \
      -i "$tree" -o "$OUT" ;;
    dicognito) run "dicognito" "$tree" "${DICOGNITO[@]}" --quiet -o "$OUT" "$tree" ;;
  esac
}

clear_outputs
echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg)  ($(nproc) cores)"
for round in $(seq "$REPEAT"); do
  echo "round $round of $REPEAT" >&2
  tools=(cp deid deid-jobs1 deid-fsync deid-mask)
  [ -n "$GDCMANON" ] && tools+=(gdcmanon)
  # Each round starts one tool later: a tool's place in the round (how full and how
  # fragmented the output disk is by then) must not favour it every time.
  n=${#tools[@]}
  for kind in image header; do
    tree=$WORK/$kind-$FILES
    for k in $(seq 0 $((n - 1))); do
      run_tool "${tools[$(((k + round - 1) % n))]}" "$tree"
    done
    if [ ${#DICOGNITO[@]} -gt 0 ] && [ "$round" -le "$SLOW_ROUNDS" ]; then
      run_tool dicognito "$tree"
    fi
  done
  [ "$round" = "$REPEAT" ] || clear_outputs
done
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
rm -rf "$WORK/outputs"

# The table: medians per tree and tool, in the order the tools ran.
python3 - "$RESULTS" "$WORK" "$FILES" <<'EOF'
import statistics, sys, os
results, work, files = sys.argv[1], sys.argv[2], int(sys.argv[3])
rows = {}
for line in open(results):
    *head, wall, rss, written, rc = line.split()
    tree, label = head[0], " ".join(head[1:])
    rows.setdefault(tree, {}).setdefault(label, []).append((float(wall), int(rss), int(written), rc))
for tree, tools in rows.items():
    path = os.path.join(work, tree)
    size = sum(os.path.getsize(os.path.join(d, f)) for d, _, fs in os.walk(path) for f in fs)
    print(f"\n{tree}: {files} files, {size / 1e6:.0f} MB, median of the rounds")
    print("| tool | rounds | wall s | files/s | MB/s | peak RSS MB | × cp wall | files out | exit |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    cp = statistics.median(w for w, *_ in tools["cp -r"])
    for label, runs in tools.items():
        wall = statistics.median(w for w, *_ in runs)
        rss = statistics.median(r for _, r, *_ in runs) / 1024
        out = statistics.median(n for _, _, n, _ in runs)
        codes = ",".join(sorted({c for *_, c in runs}))
        print(f"| {label} | {len(runs)} | {wall:.2f} | {files / wall:.0f} | {size / 1e6 / wall:.0f} | {rss:.0f} | {wall / cp:.2f} | {out:.0f} | {codes} |")
EOF

if [ "$RSS_SCALE" = 1 ]; then
  echo
  echo "peak RSS against the number of files (small CT files):"
  for n in 1000 100000; do
    tree=$WORK/small-$n
    if [ ! -f "$tree.done" ]; then
      rm -rf "$tree"
      "$TARGET/release/examples/generate-archive" "$tree" "$n" 16 >/dev/null
      touch "$tree.done"
    fi
    clear_outputs
    /usr/bin/time -v -o "$WORK/time.txt" "$DEID" run "$tree" "$OUT" --key-file "$KEY" \
      --profile "$WORK/passthrough.yaml" --quiet >/dev/null || true
    echo "  $n files: $(awk -F': ' '/Maximum resident set size/ {printf "%.0f MB", $2/1024}' "$WORK/time.txt"), $(awk -F': ' '/Elapsed/ {print $2}' "$WORK/time.txt") wall"
  done
  rm -rf "$WORK/outputs"
fi
