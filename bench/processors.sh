#!/usr/bin/env bash
# What the processors cost (issue #17): the forward job on a copy of the
# corpus where every 100th line holds a secret (as e2e's forward-secrets and
# forward-redact jobs), without processors ("none") and with a keep-all
# filter and the built-in redact ("redact"), in interleaved rounds so that
# a busy machine weighs on both alike. The receiver only counts and acks
# (bench/fsink), so it takes little of the machine. Prints the adapter's
# CPU-seconds (user + system) per run and a summary (medians, the rounds'
# own ratios, the least of each); with CALLGRIND=1, instructions
# counted by valgrind's callgrind instead, the whole program's and the
# processors' own (the functions of processors/ and secrets/ and the
# record's line methods, with what they inline, each without its callees:
# an inclusive count such as Chain.Process's takes in other goroutines'
# work whenever a stack grows), which a busy machine does not change. The
# parsers keep each line on its record, from where its texts start, in
# code inlined in parsers.(*Stream).inner, which this leaves out (about 50
# a record): compare inner's count with and without redact for it.
#   bench/processors.sh                        # corpus from ../shared/bench/gen_corpus.py
#   OBSADAPTER_CORPUS=corpus.log ROUNDS=5 bench/processors.sh
#   CALLGRIND=1 LINES=100000 bench/processors.sh
#   CALLGRIND=1 KEEP=/tmp/cg bench/processors.sh  # keep each run's profile, for
#                                                 # callgrind_annotate per function
#   BINS="/tmp/old /tmp/new" bench/processors.sh   # compare builds, interleaved
#   PROCS=1 bench/processors.sh  # GOMAXPROCS=1: one thread parses, redacts
#                                # and sends, so the two cores' overlap, which
#                                # moves from run to run, moves no figure. A
#                                # setting of the benchmark's: the binary's
#                                # defaults (issue #17's job) run two, as Go
#                                # does in a container under any CPU limit
#   PROCS=1 PIN=1 bench/processors.sh  # and the adapter on the second CPU,
#                                # the receiver on the first (taskset), so
#                                # that neither takes the other's core
set -euo pipefail
cd "$(dirname "$0")/.."
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
lines=${LINES:-1000000}
corpus=${OBSADAPTER_CORPUS:-}
if [ -z "$corpus" ]; then
  corpus=$work/corpus.log
  python3 ../shared/bench/gen_corpus.py --lines "$lines" --seed 1 --format mixed --out "$corpus" >/dev/null
fi
head -n "$lines" "$corpus" | awk '{
  if (NR % 100 == 0) { if ($0 ~ /^\{.*\}$/) { sub(/\}$/, ",\"token\":\"tok_9f8e7d6c5b4a3921\"}") } else { $0 = $0 " password=Tr0ub4dorXy99" } }
  print }' >"$work/secrets.log"
bins=${BINS:-}
if [ -z "$bins" ]; then
  go build -o "$work/obsadapter" .
  bins=$work/obsadapter
fi
go build -o "$work/fsink" ./bench/fsink
first=${bins%% *}
records=$("$first" parse "$work/secrets.log" | wc -l)
echo "corpus: $lines lines with secrets, $records records"

run() { # binary, none|redact
  local bin=$1 kind=$2 port hport pid sink procs=""
  port=$((20000 + RANDOM % 20000)); hport=$((port + 1))
  if [ "$kind" = redact ]; then
    procs='    processors:
      - filter: {keep: {any: [{min_level: trace}, {not: {min_level: trace}}]}}
      - redact: {}'
  fi
  cat >"$work/cfg.yaml" <<EOC
sources:
  - name: bench
    type: file
    include: ["$work/secrets.log"]
    start_at: beginning
$procs
exporters:
  stdout: {enabled: false}
  fluent: {enabled: true, address: "127.0.0.1:$port"}
  prometheus: {enabled: false}
procinfo: {enabled: false}
http: {listen: "127.0.0.1:$hport"}
EOC
  local on_sink=() on_adapter=()
  if [ -n "${PIN:-}" ]; then
    on_sink=(taskset -c 0) on_adapter=(taskset -c 1)
  fi
  "${on_sink[@]}" "$work/fsink" "127.0.0.1:$port" "$records" & sink=$!
  if [ -n "${CALLGRIND:-}" ]; then
    # callgrind cannot take Go's preemption signals, nor decode RDTSCP
    # (valgrind 3.19), which the runtime's lock timing uses since Go 1.26;
    # one P: no spinning.
    GODEBUG=asyncpreemptoff=1,cpu.rdtscp=off GOMAXPROCS=1 valgrind --tool=callgrind --callgrind-out-file="$work/cg.out" \
      "$bin" run --config "$work/cfg.yaml" >/dev/null 2>"$work/err" & pid=$!
  elif [ -n "${PROCS:-}" ]; then
    GOMAXPROCS=$PROCS "${on_adapter[@]}" "$bin" run --config "$work/cfg.yaml" >/dev/null 2>"$work/err" & pid=$!
  else
    "${on_adapter[@]}" "$bin" run --config "$work/cfg.yaml" >/dev/null 2>"$work/err" & pid=$!
  fi
  wait "$sink" || { echo "receiver failed"; tail -5 "$work/err"; exit 1; }
  if [ -n "${CALLGRIND:-}" ]; then
    # A dump now: callgrind does not survive the shutdown's signal either.
    callgrind_control -d "$pid" >/dev/null 2>&1
    sleep 1
    kill -KILL "$pid"; wait "$pid" 2>/dev/null || true
    local out total own
    out=$(ls "$work"/cg.out.* | head -1)
    total=$(awk '/^(summary|totals):/ {print $2; exit}' "$out")
    own=$(callgrind_annotate --auto=no --threshold=100 "$out" 2>/dev/null |
      awk '/:github\.com\/obsadapter\/obsadapter\/((processors|secrets)\.|record\.\(\*Record\)\.(CheckedLine|SetUncheckedLine|SetCleanLine|line)\>)/ {gsub(",", "", $1); n += $1} END {print n + 0}')
    printf '%s %-6s %12d instructions, processors %s (%d a record)\n' "$bin" "$kind" "$total" "$own" "$((own / records))"
    if [ -n "${KEEP:-}" ]; then
      mkdir -p "$KEEP"
      cp "$out" "$KEEP/$(basename "$bin")-$kind-$round.cg"
    fi
    rm -f "$work"/cg.out*
  else
    local ut st
    read -r ut st < <(awk '{print $14, $15}' "/proc/$pid/stat")
    kill -TERM "$pid"; wait "$pid" 2>/dev/null || true
    printf '%s %-6s %s cpu-s\n' "$bin" "$kind" "$(awk -v t=$((ut + st)) -v hz="$(getconf CLK_TCK)" 'BEGIN {printf "%.2f", t / hz}')"
  fi
}

for round in $(seq "${ROUNDS:-3}"); do
  for bin in $bins; do
    run "$bin" none
    run "$bin" redact
  done
done | tee "$work/runs"

# CPU-seconds on a shared machine swing by 15 % from run to run, so one
# figure says little: per binary, the medians, the median of each round's
# own ratio (its two runs sat side by side) and of its difference (what the
# processors cost, whatever the job without them does), and the ratio of
# the least each took (a busy neighbour only adds).
if [ -z "${CALLGRIND:-}" ]; then
  python3 - "$work/runs" <<'EOP'
import statistics, sys
runs = {}
for line in open(sys.argv[1]):
    f = line.split()
    if len(f) == 4 and f[3] == "cpu-s":
        runs.setdefault(f[0], {"none": [], "redact": []})[f[1]].append(float(f[2]))
for b, r in runs.items():
    n, x = r["none"], r["redact"]
    ratios = [c / a - 1 for a, c in zip(n, x)]
    # The mean of the rounds' ratios with its standard error: whether a
    # set of rounds can tell a figure from the 10 % line at all.
    se = statistics.stdev(ratios) / len(ratios) ** 0.5 if len(ratios) > 1 else float("nan")
    # And leaving out the tenth at each end, where a neighbour's burst
    # hit one run of a round and not the other.
    cut = sorted(ratios)[len(ratios) // 10:len(ratios) - len(ratios) // 10]
    tse = statistics.stdev(cut) / len(cut) ** 0.5 if len(cut) > 1 else float("nan")
    print(f"{b}: medians {statistics.median(n):.2f} / {statistics.median(x):.2f} cpu-s ({statistics.median(x) / statistics.median(n) - 1:+.1%}),"
          f" rounds' differences median {statistics.median([c - a for a, c in zip(n, x)]):.3f} cpu-s,"
          f" rounds' ratios median {statistics.median(ratios):+.1%} ({sum(q < 0.10 for q in ratios)} of {len(ratios)} under +10 %),"
          f" mean {statistics.mean(ratios):+.1%} ± {se:.1%}, trimmed {statistics.mean(cut):+.1%} ± {tse:.1%},"
          f" least {min(n):.2f} / {min(x):.2f} ({min(x) / min(n) - 1:+.1%})")
EOP
fi
