#!/usr/bin/env bash
# Checks that two builds of dicom-deid write the same bytes: for a refactoring, which must
# change no output. Both binaries run over the sample export and each further INPUT folder
# under every shipped profile (and the sample's pixel rules), with one key, and their OUTPUT
# trees, linkage tables, dry-run records, verify reports and inspect traces are compared.
# Timings (the summaries' seconds, rates, start and end times and the MAC over them, the
# catalogue that records them, the run line on stderr) are the only figures left out.
#
#   scripts/same-output.sh OLD_BINARY NEW_BINARY [INPUT ...]
#
# To compare with an earlier commit:
#   git worktree add /tmp/old REV && (cd /tmp/old && cargo build --release)
#   cargo build --release
#   scripts/same-output.sh /tmp/old/target/release/dicom-deid target/release/dicom-deid ../shared/corpus
set -euo pipefail
cd "$(dirname "$0")/.."
[ $# -ge 2 ] || { echo "usage: $0 OLD_BINARY NEW_BINARY [INPUT ...]" >&2; exit 2; }
old=$(realpath "$1"); new=$(realpath "$2"); shift 2
inputs=(testdata/pacs-export "$@")
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
"$old" keygen "$work/key" >/dev/null 2>&1
profiles=(basic ml-dataset safe-harbor testdata/pixel-rules.yaml)
differ=0

# Run one binary's share of the checks into $work/$1.
outputs() {
  local tag=$1 bin=$2
  local out=$work/$tag
  mkdir -p "$out"
  local i=0
  for input in "${inputs[@]}"; do
    i=$((i + 1))
    for p in "${profiles[@]}"; do
      local name; name=$(basename "$p" .yaml)
      local dir=$out/$i-$name
      local common=(--profile "$p" --key-file "$work/key")
      "$bin" run "$input" "$dir/tree" "${common[@]}" --jobs 2 --linkage "$dir/linkage" \
        --qa-report "$dir/qa.html" --quiet >"$dir.run-stdout" 2>/dev/null || echo "exit $?" >"$dir.run-exit"
      # The timing fields are the only ones allowed to differ: rates, start and end times, and
      # the summaries' MAC and the catalogue, which hold them.
      find "$dir/tree" -name 'summary*.json' -exec sed -E -i \
        -e 's/"(seconds|files_per_second|mb_per_second)": ?[0-9.e+-]+/"\1": T/g' \
        -e 's/"(started|finished|mac)": ?"[^"]*"/"\1": T/g' {} +
      rm -f "$dir/tree/.dicom-deid/catalogue.sqlite"
      "$bin" run "$input" "$dir.dry" "${common[@]}" --dry-run --jobs 1 >"$dir.dry-stdout" 2>/dev/null || true
      "$bin" verify "$dir/tree" --against "$input" "${common[@]}" --json >"$dir.verify" 2>&1 || true
      find "$input" -type f | sort | while read -r f; do
        echo "== ${f#"$input"}"
        "$bin" inspect "$f" "${common[@]}" --force 2>&1 || true
      done >"$dir.inspect"
    done
  done
}

outputs old "$old"
outputs new "$new"
if diff -r "$work/old" "$work/new" >"$work/diff" 2>&1; then
  echo "same output: $(find "$work/new" -type f | wc -l) files compared"
else
  head -50 "$work/diff"
  echo "outputs differ" >&2
  differ=1
fi
exit $differ
