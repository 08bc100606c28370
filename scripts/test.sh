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
# Hardening beyond the cargo tests: kill -9 at random moments then --resume, compared byte for
# byte with an uninterrupted run (tests/kill9.sh), and a short fuzz run of every target
# (scripts/fuzz.sh, 30 s each; it installs cargo-fuzz when missing).
tests/kill9.sh 20
scripts/fuzz.sh --seconds 30
