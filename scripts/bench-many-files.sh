#!/usr/bin/env bash
# Idle cost of many small files, as in docs/kubernetes.md section 8:
#   go build -o /tmp/obsadapter . && scripts/bench-many-files.sh /tmp/obsadapter 10000
# Prints the CPU-seconds spent reading them all, the CPU-seconds of the
# next idle minute, memory and descriptors. GOMEMLIMIT in the environment is
# passed on (a 64Mi pod limit gives 57.6 MiB).
set -euo pipefail
bin=$1 n=$2
work=$(mktemp -d)
pid=
trap '[ -n "$pid" ] && kill "$pid" 2>/dev/null; rm -rf "$work"' EXIT
mkdir "$work/logs"
python3 - "$work/logs" "$n" <<'PY'
import sys
d, n = sys.argv[1], int(sys.argv[2])
for i in range(n):
    with open(f"{d}/job-{i:05d}.log", "w") as f:
        for j in range(5):
            f.write(f"2026-12-03T10:00:0{j}Z INFO job {i} step {j} done\n")
PY
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
cat > "$work/config.yaml" <<YAML
state_dir: $work/state
sources:
  - {name: jobs, type: file, include: ["$work/logs/*.log"], start_at: beginning}
exporters:
  stdout: {enabled: false}
procinfo: {enabled: false}
http: {listen: "127.0.0.1:$port"}
YAML
"$bin" run --config "$work/config.yaml" >/dev/null 2>"$work/stderr" &
pid=$!
ticks() { awk '{print $14 + $15}' "/proc/$pid/stat"; }
hz=$(getconf CLK_TCK)
sleep 30
t0=$(ticks)
sleep 60
t1=$(ticks)
records=$(curl -s "127.0.0.1:$port/metrics" | awk '/^obsadapter_records_total/ {s += $2} END {print s}')
echo "files=$n records=$records start_cpu_s=$(echo "scale=2; $t0 / $hz" | bc) idle_cpu_s_per_min=$(echo "scale=2; ($t1 - $t0) / $hz" | bc)" \
  "$(grep -E 'VmHWM|VmRSS|RssAnon|RssFile' "/proc/$pid/status" | tr -s ' \t\n' ' ')" \
  "fds=$(ls "/proc/$pid/fd" | wc -l) GOMEMLIMIT=${GOMEMLIMIT:-unset}"
