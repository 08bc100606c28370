#!/usr/bin/env bash
# A sharded run on a real Slurm. Installs Debian's slurm-wlm and munge (and jq), starts a
# one-node cluster bound to loopback with its own munge socket, ports, spool and logs in a temp
# folder, submits deploy/slurm/submit.sh (an array of N = 4 shard tasks, then the merge job
# with --dependency=afterok) over a generated export, waits for the merge, and compares the
# result with a single-process run: every file byte for byte, the merged manifest record for
# record, the merged summary's counts. Every daemon it started is stopped and its folder removed,
# whatever happens. Needs root (packages, slurmd); skipped with a message otherwise.
#
#   tests/slurm.sh [CARGO_BUILD_OPTION...]
# Options go to `cargo build` (scripts/test.sh passes the features the suite was built with,
# so nothing is rebuilt).
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$(pwd)
name="tests/slurm.sh"
shards=4
images=400

skip() {
  echo "$name: skipped: $1"
  echo "slurm: 0 passed, 0 failed, 1 skipped"
  exit 0
}
fail() {
  echo "$name: FAILED: $1" >&2
  echo "slurm: 0 passed, 1 failed"
  exit 1
}

[ "$(id -u)" -eq 0 ] || skip "needs root (it installs Slurm and runs slurmd)"
command -v apt-get >/dev/null || skip "needs Debian's apt-get to install slurm-wlm"

# Install without starting any service: a policy-rc.d of our own, only while apt-get runs.
missing=0
for tool in slurmctld slurmd sbatch munged jq; do
  command -v "$tool" >/dev/null || missing=1
done
if [ "$missing" = 1 ]; then
  echo "$name: installing slurm-wlm, munge and jq"
  policy=/usr/sbin/policy-rc.d
  own_policy=0
  if [ ! -e "$policy" ]; then
    printf '#!/bin/sh\nexit 101\n' > "$policy" && chmod 755 "$policy" && own_policy=1
  fi
  status=0
  { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
      --no-install-recommends slurm-wlm munge jq; } > /tmp/dicom-deid-slurm-apt.log 2>&1 \
    || status=$?
  [ "$own_policy" = 1 ] && rm -f "$policy"
  if [ "$status" != 0 ]; then
    cat /tmp/dicom-deid-slurm-apt.log >&2
    fail "apt-get install slurm-wlm munge jq failed"
  fi
  rm -f /tmp/dicom-deid-slurm-apt.log
fi

cargo build --locked --quiet --bin dicom-deid --example generate-archive "$@"
target=$(cargo metadata --format-version 1 --no-deps | jq -r .target_directory)
export DICOM_DEID="$target/debug/dicom-deid"

work=$(mktemp -d /tmp/dicom-deid-slurm.XXXXXX)
# munged insists that every folder above its socket is searchable by all.
chmod 755 "$work"
mkdir -p "$work"/{run,state,spool,log,jobs,munge-key}
chmod 700 "$work/munge-key"
export SLURM_CONF="$work/slurm.conf"
jobs_submitted=""

cleanup() {
  local status=$? pid f
  set +e
  if [ "$status" != 0 ]; then
    echo "--- logs ---" >&2
    tail -n 30 "$work"/log/*.log "$work"/jobs/*.log >&2 2>/dev/null
  fi
  [ -n "$jobs_submitted" ] && scancel $jobs_submitted 2>/dev/null
  [ -s "$work/run/slurmctld.pid" ] && scontrol shutdown >/dev/null 2>&1
  # Each daemon by the pid it wrote: asked to stop, then killed if it does not.
  for f in slurmctld slurmd munged; do
    [ -s "$work/run/$f.pid" ] || continue
    pid=$(cat "$work/run/$f.pid")
    [ "$f" = munged ] && kill "$pid" 2>/dev/null
    for _ in $(seq 1 30); do kill -0 "$pid" 2>/dev/null || break; sleep 0.5; done
    kill -0 "$pid" 2>/dev/null && kill -9 "$pid"
  done
  rm -rf "$work"
}
trap cleanup EXIT

# Two free loopback ports for slurmctld and slurmd.
port_free() { ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
ctld_port=""
for port in $(seq 16817 2 16899); do
  if port_free "$port" && port_free $((port + 1)); then
    ctld_port=$port
    break
  fi
done
[ -n "$ctld_port" ] || fail "no two free ports between 16817 and 16900"

dd if=/dev/urandom of="$work/munge-key/munge.key" bs=1024 count=1 status=none
chmod 400 "$work/munge-key/munge.key"
munged --socket="$work/run/munge.socket" --key-file="$work/munge-key/munge.key" \
  --pid-file="$work/run/munged.pid" --seed-file="$work/run/munged.seed" \
  --log-file="$work/log/munged.log" || fail "munged did not start"

cat > "$SLURM_CONF" <<EOF
ClusterName=deidtest
SlurmctldHost=$(hostname -s)(127.0.0.1)
SlurmctldPort=$ctld_port
SlurmdPort=$((ctld_port + 1))
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket=$work/run/munge.socket
StateSaveLocation=$work/state
SlurmdSpoolDir=$work/spool
SlurmctldPidFile=$work/run/slurmctld.pid
SlurmdPidFile=$work/run/slurmd.pid
SlurmctldLogFile=$work/log/slurmctld.log
SlurmdLogFile=$work/log/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SchedulerType=sched/builtin
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
MpiDefault=none
MailProg=/bin/true
ReturnToService=2
JobCompType=jobcomp/none
AccountingStorageType=accounting_storage/none
JobAcctGatherType=jobacct_gather/none
NodeName=deidnode NodeHostname=localhost NodeAddr=127.0.0.1 CPUs=$(nproc) State=UNKNOWN
PartitionName=deid Nodes=deidnode Default=YES MaxTime=INFINITE State=UP
EOF
slurmctld -f "$SLURM_CONF" || fail "slurmctld did not start"
slurmd -f "$SLURM_CONF" -N deidnode || fail "slurmd did not start"
for _ in $(seq 1 60); do
  [ "$(sinfo -h -n deidnode -o %t 2>/dev/null)" = idle ] && break
  sleep 0.5
done
[ "$(sinfo -h -n deidnode -o %t 2>/dev/null)" = idle ] || fail "the node did not come up idle"
echo "$name: one-node Slurm $(sinfo -V | cut -d' ' -f2) up on 127.0.0.1:$ctld_port"

"$target/debug/examples/generate-archive" "$work/input" "$images" 64 >/dev/null
"$DICOM_DEID" keygen "$work/deid.key" 2>/dev/null
status=0
"$DICOM_DEID" run "$work/input" "$work/single" --key-file "$work/deid.key" --quiet || status=$?
# The export holds a truncated file, so a complete run exits 1.
[ "$status" = 1 ] || fail "the single-process run exited $status, not 1"

started=$(date +%s)
ids=$(cd "$work/jobs" && "$repo/deploy/slurm/submit.sh" "$work/input" "$work/output" \
  "$work/deid.key" "$shards" --cpus-per-task=1)
read -r array merge <<< "$ids"
jobs_submitted="$array $merge"
echo "$name: submitted array job $array (1-$shards) and merge job $merge"

state=""
for _ in $(seq 1 360); do
  state=$(scontrol show job -o "$merge" 2>/dev/null | grep -o 'JobState=[A-Z_]*' | cut -d= -f2)
  case "$state" in
    COMPLETED | FAILED | CANCELLED | TIMEOUT | NODE_FAIL | OUT_OF_MEMORY) break ;;
  esac
  sleep 0.5
done
exit_code=$(scontrol show job -o "$merge" | grep -o ' ExitCode=[0-9]*' | cut -d= -f2)
elapsed=$(($(date +%s) - started))
jobs_submitted=""
echo "$name: merge job $merge ended $state with exit code $exit_code after ${elapsed} s"
for task in $(seq 1 "$shards"); do
  task_state=$(scontrol show job -o "${array}_$task" | grep -o 'JobState=[A-Z_]*' | cut -d= -f2)
  [ "$task_state" = COMPLETED ] || fail "array task $task ended $task_state"
  [ -s "$work/jobs/dicom-deid-${array}_$task.log" ] \
    && fail "array task $task wrote to its log: $(cat "$work/jobs/dicom-deid-${array}_$task.log")"
  [ -f "$work/output/manifest-$task-of-$shards.jsonl" ] || fail "shard $task wrote no manifest"
done
# Like the single run, the merge exits 1 for the export's truncated file.
[ "$state" = FAILED ] && [ "$exit_code" = 1 ] \
  || fail "the merge job ended $state with exit code $exit_code, not FAILED with 1"
grep -q "the shards make up one whole run" "$work/jobs/dicom-deid-merge-$merge.log" \
  || fail "the merge found problems: $(cat "$work/jobs/dicom-deid-merge-$merge.log")"

# Every de-identified file byte for byte. The state folders differ by design: a single run is
# run 1 of a dataset (its records under runs/, a catalogue), shards keep their own journals.
diff -r -x 'manifest*.jsonl' -x 'summary*.json' -x .dicom-deid "$work/single" "$work/output" \
  || fail "the sharded tree differs from the single run's"
files=$(find "$work/output" -name '*.dcm' | wc -l)
[ "$files" = "$images" ] || fail "$files files written, not $images"
# Record for record; a single run's manifest lines are also chained (seq, chain), the merged
# shard manifest's are not.
records() { jq -cS 'del(.seq, .chain)' "$1" | sort; }
diff <(records "$work/single/manifest.jsonl") <(records "$work/output/manifest.jsonl") \
  || fail "the merged manifest's records differ from the single run's"
counts='{tool, version, profile, key_fingerprint, methods, dry_run, files, status, reasons, resumed, bytes_in, bytes_out}'
diff <(jq -S "$counts" "$work/single/summary.json") <(jq -S "$counts" "$work/output/summary.json") \
  || fail "the merged summary's counts differ from the single run's"
[ "$(jq '.shards | length' "$work/output/summary.json")" = "$shards" ] \
  || fail "the merged summary does not list $shards shards"

echo "$name: passed: $shards array tasks + merge on Slurm gave the single run's $images files byte for byte"
echo "slurm: 1 passed, 0 failed"
