#!/usr/bin/env bash
# The sidecar jobs of docs (README, "Performance"), measured on the real
# binary with its defaults: CPU-seconds, lines per CPU-second and peak RSS of
# the adapter, median of 3 runs each.
#   bench/e2e.sh                      # corpus from ../shared/bench/gen_corpus.py
#   OBSADAPTER_CORPUS=corpus.log bench/e2e.sh
#   JOBS='forward-secrets|forward-redact' bench/e2e.sh   # some jobs only: the
#                                     # processors' cost (redact + keep-all filter)
set -euo pipefail
cd "$(dirname "$0")/.."
go test -run '^$' -bench "Sidecar/^(${JOBS:-.*})$" -benchtime 1x -count "${COUNT:-3}" -timeout 60m ./e2e/ |
  grep -E '^(Benchmark|goos|cpu:)'
