#!/usr/bin/env bash
# Fuzz the library with cargo-fuzz (libFuzzer) on the stable toolchain: seeds each target's
# corpus (fuzz/corpus/, not committed) from testdata/, ../shared/corpus/ and profiles/, then
# runs every target named (default: all three) for a time or a number of executions.
# Crashes land in fuzz/artifacts/TARGET/; keep each as a regression test under tests/.
#
# Usage: scripts/fuzz.sh [--seconds S | --runs N] [TARGET...]     (default --seconds 30)
set -euo pipefail
cd "$(dirname "$0")/.."

limit=(-max_total_time=30)
case "${1:-}" in
  --seconds) limit=(-max_total_time="$2"); shift 2 ;;
  --runs) limit=(-runs="$2"); shift 2 ;;
esac
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(process_bytes profile_yaml values codecs)

if ! cargo fuzz --version >/dev/null 2>&1; then
  cargo install cargo-fuzz --locked
fi
if ! command -v c++ >/dev/null; then
  # libFuzzer itself is C++.
  apt-get update -qq && apt-get install -y -qq g++ >/dev/null
fi
# libFuzzer needs nightly-only compiler flags; the stable compiler accepts them this way.
export RUSTC_BOOTSTRAP=1
target_dir=()
if [ -n "${CARGO_TARGET_DIR:-}" ]; then
  target_dir=(--target-dir "$CARGO_TARGET_DIR/fuzz")
fi

seed() {
  local dir=fuzz/corpus/$1
  mkdir -p "$dir"
  case $1 in
    process_bytes)
      local i=0
      while IFS= read -r -d '' f; do
        cp "$f" "$dir/seed-$i"
        i=$((i + 1))
      done < <(find testdata/pacs-export ../shared/corpus -type f -size -65k -print0 2>/dev/null | sort -z)
      ;;
    profile_yaml)
      cp profiles/*.yaml "$dir/"
      printf 'extends: basic\nattributes:\n  "(0019,xx10)@GEMS_ACQU_01": keep\n  "(60xx,4000)": remove\n' >"$dir/seed-attrs"
      printf 'dates: {shift: fixed, days: -7}\nuids: {root: "1.2.826.0.1"}\npatient: {id: empty}\n' >"$dir/seed-dates"
      ;;
    codecs)
      # Each JPEG and JPEG-LS stream of the corpus files, behind the byte that picks its
      # decoder (0 JPEG-LS, 2 the JPEG masker), and one RLE frame (selector 4: one row of five 8-bit samples).
      python3 - "$dir" testdata/pacs-export ../shared/corpus <<'PY'
import os, sys
out, roots, n = sys.argv[1], sys.argv[2:], 0
for root in roots:
    for base, _, names in sorted(os.walk(root)):
        for name in sorted(names):
            data = open(os.path.join(base, name), 'rb').read()
            at = data.find(b'\xff\xd8\xff')
            while at >= 0 and n < 400:
                end = data.find(b'\xff\xd9', at)
                stream = data[at:end + 2 if end >= 0 else len(data)]
                if len(stream) <= 65535:
                    selector = b'\x00' if b'\xff\xf7' in stream[:64] else b'\x02'
                    open(os.path.join(out, 'seed-%d' % n), 'wb').write(selector + stream)
                    n += 1
                at = data.find(b'\xff\xd8\xff', at + 3)
PY
      printf '\x04\x01\x00\x00\x00\x40\x00\x00\x00' >"$dir/seed-rle"
      head -c 56 /dev/zero >>"$dir/seed-rle"
      printf '\x04\x01\x02\x03\x04\x05' >>"$dir/seed-rle"
      ;;
    values)
      local i=0
      for v in 20190312 '2019.03.12' 2019 201903 '20190312-20200101' '-20200101' \
        '20200101120000.123456+0100' '2020010112-0500' '20200101\19991231' 120000.5 '12:30:15' \
        089Y 090Y 1200M 0005W 1.2.840.10008.1.2 2.25.1234567890 '1.2.3.4 ' ''; do
        printf '\x10\x00\x00\x00\x00\x00\x00\x00\xff\xff\xff\xff\xff\xff\xff\x7f%s' "$v" >"$dir/seed-$i"
        i=$((i + 1))
      done
      ;;
  esac
}

for t in "${targets[@]}"; do
  seed "$t"
  echo "fuzzing $t (${limit[*]})"
  nice -n 10 cargo fuzz run -s none "${target_dir[@]}" "$t" "fuzz/corpus/$t" -- \
    "${limit[@]}" -max_len=65536 -timeout=10 -rss_limit_mb=2048 -print_final_stats=1
done
