#!/usr/bin/env bash
# Runs the whole test suite on a fresh machine: installs what the tests need, then every
# unit, integration and doc test, and one pass of each benchmark (criterion's test mode).
set -euo pipefail
cd "$(dirname "$0")/.."
if ! command -v cargo >/dev/null; then
  echo "cargo is required (the Rust toolchain)" >&2
  exit 2
fi
# dciodvfy (Debian's dicom3tools) checks the outputs' IODs in tests/conformance.rs.
if ! command -v dciodvfy >/dev/null; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq dicom3tools >/dev/null
  else
    echo "dciodvfy is absent and cannot be installed here (needs root and apt-get):" \
      "the conformance tests will skip" >&2
  fi
fi
# Debian's chromium renders the QA report headless in tests/qa_report.rs (which skips without
# it, except in CI).
if ! command -v chromium >/dev/null; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
  else
    echo "chromium is absent and cannot be installed here (needs root and apt-get):" \
      "the QA report's browser test will skip" >&2
  fi
fi
cargo test --locked --all-targets
cargo test --locked --doc
# A sharded run on a real one-node Slurm (root only; installs slurm-wlm, skips otherwise).
./tests/slurm.sh
# Hardening beyond the cargo tests: kill -9 at random moments then --resume, compared byte for
# byte with an uninterrupted run (tests/kill9.sh), and a short fuzz run of every target
# (scripts/fuzz.sh, 30 s each; it installs cargo-fuzz when missing).
tests/kill9.sh 20
scripts/fuzz.sh --seconds 30
