#!/usr/bin/env bash
# Runs the whole test suite on a fresh machine: installs what the tests need, then every
# unit, integration and doc test, and one pass of each benchmark (criterion's test mode).
set -euo pipefail
cd "$(dirname "$0")/.."
if ! command -v cargo >/dev/null; then
  echo "cargo is required (the Rust toolchain)" >&2
  exit 2
fi
cargo test --locked --all-targets
cargo test --locked --doc
# A sharded run on a real one-node Slurm (root only; installs slurm-wlm, skips otherwise).
./tests/slurm.sh
