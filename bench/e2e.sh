#!/usr/bin/env bash
# The sidecar jobs of docs (README, "Performance"), measured on the real
# binary with its defaults: CPU-seconds, lines per CPU-second and peak RSS of
# the adapter, median of 3 runs each. The otlp-grpc and otlp-http jobs are the
# forward job with the OTLP exporter and the OpenTelemetry Collector's own
# receiver in place of fluent; they live in the otlpe2e module, which keeps
# the collector's dependencies out of the adapter's. The *-sink jobs
# (forward-sink, otlp-grpc-sink, otlp-http-sink) send to receivers that only
# count and acknowledge: what each exporter costs, without a decoding
# receiver competing for the cores (docs/otlp.md, "Performance").
#   bench/e2e.sh                      # corpus from ../shared/bench/gen_corpus.py
#   OBSADAPTER_CORPUS=corpus.log bench/e2e.sh
#   JOBS='forward|otlp-grpc' bench/e2e.sh   # only these jobs (whole names);
#   JOBS='forward-secrets|forward-redact'    # the processors' cost (redact + keep-all filter)
set -euo pipefail
cd "$(dirname "$0")/.."
jobs=${JOBS:-.*}
go test -run '^$' -bench "Sidecar/^(${jobs})$" -benchtime 1x -count "${COUNT:-3}" -timeout 60m ./e2e/ |
  awk '/^(Benchmark|goos|cpu:|--- FAIL|FAIL|panic)/ || /_test\.go:[0-9]+:/' # awk, not grep: no match is not a failure; a failure shows why
(cd otlpe2e && go test -run '^$' -bench "Sidecar/^(${jobs})$" -benchtime 1x -count "${COUNT:-3}" -timeout 60m . |
  awk '/^(Benchmark|--- FAIL|FAIL|panic)/ || /_test\.go:[0-9]+:/')
