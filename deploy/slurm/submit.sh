#!/bin/bash
# Submit a sharded dicom-deid run to Slurm: an array of N shard tasks, then the merge job,
# which starts only when every task succeeded (afterok) and is cancelled if one did not.
#
#   deploy/slurm/submit.sh INPUT OUTPUT KEY_FILE N [SBATCH_OPTION...]
#
# Options after N go to both sbatch calls (e.g. --partition=long). Prints the two job ids:
# "ARRAY_JOB_ID MERGE_JOB_ID". Logs land in the current folder.
set -euo pipefail

if [ $# -lt 4 ]; then
  echo "usage: $0 INPUT OUTPUT KEY_FILE N [SBATCH_OPTION...]" >&2
  exit 2
fi
input=$1 output=$2 key_file=$3 shards=$4
shift 4
if ! [ "$shards" -ge 1 ] 2>/dev/null; then
  echo "N must be a positive number of shards, not '$shards'" >&2
  exit 2
fi
here=$(cd "$(dirname "$0")" && pwd)
array=$(sbatch --parsable --array="1-$shards" "$@" \
  "$here/deid-array.sbatch" "$input" "$output" "$key_file" "$shards")
array=${array%%;*}
merge=$(sbatch --parsable --dependency="afterok:$array" --kill-on-invalid-dep=yes "$@" \
  "$here/deid-merge.sbatch" "$output")
echo "$array ${merge%%;*}"
