#!/usr/bin/env bash
# The README's demo ("The two commands"), run unattended with the commands
# exactly as README writes them: copy the samples to a scratch directory, run
# the daemon on it in the background, query it, append a line, check the line
# comes out (about 1 s later: multiline_timeout), stop the daemon with SIGTERM
# and check it exits 0. It also checks that testdata/ is byte for byte what
# it was, so the tests that read it stay green. .ci/run runs it before
# `go test`. Loopback only (127.0.0.1:9725); about 5 s once the build is cached.
#
# e2e/readme_test.go checks that every command of README's demo is in this
# file verbatim: change both together.
set -euo pipefail
cd "$(dirname "$0")/.."

addr=127.0.0.1:9725
fail() { echo "readme-demo: FAIL: $*" >&2; exit 1; }
say() { echo "readme-demo: $*"; }

if curl -s -o /dev/null "http://$addr/readyz"; then
  fail "something already listens on $addr; stop it first"
fi
testdata_before=$(find testdata -type f -print0 | sort -z | xargs -0 sha256sum)

gorun= daemon= DEMO=
cleanup() {
  # Only the processes this script started, by their PIDs.
  if [ -n "$daemon" ] && kill -0 "$daemon" 2>/dev/null; then kill -KILL "$daemon" 2>/dev/null || true; fi
  if [ -n "$gorun" ] && kill -0 "$gorun" 2>/dev/null; then kill -KILL "$gorun" 2>/dev/null || true; fi
  if [ -n "$DEMO" ]; then rm -rf "$DEMO"; fi
}
trap cleanup EXIT

# --- first terminal, as README writes it ---
export DEMO=$(mktemp -d) && cp testdata/samples/*.log "$DEMO/" && echo "DEMO=$DEMO"
out=$DEMO/stdout.ndjson err=$DEMO/stderr.txt # not *.log: not tailed
go run . run --include "$DEMO/*.log" --start-at beginning --listen 127.0.0.1:9725 </dev/null >"$out" 2>"$err" &
gorun=$!

# `go run` builds, then runs the daemon as its child; SIGTERM goes to the
# daemon itself (go run does not forward it).
for _ in $(seq 1 600); do # up to 60 s, for a cold build cache
  if ! kill -0 "$gorun" 2>/dev/null; then cat "$err" >&2; fail "the daemon exited before it was ready"; fi
  if [ "$(curl -s -o /dev/null -w '%{http_code}' "http://$addr/readyz" || true)" = 200 ]; then break; fi
  sleep 0.1
done
[ "$(curl -s -o /dev/null -w '%{http_code}' "http://$addr/readyz" || true)" = 200 ] || { cat "$err" >&2; fail "not ready after 60 s"; }
daemon=$(pgrep -P "$gorun" || true)
[ -n "$daemon" ] && [ "$(echo "$daemon" | wc -l)" = 1 ] || fail "cannot find the daemon, the child of go run (pid $gorun): '$daemon'"
say "daemon pid $daemon ready on $addr"

# --- second terminal, as README writes it ---
curl -s 127.0.0.1:9725/metrics | grep obsadapter_records_total
curl -s 127.0.0.1:9725/api/v1/sources | grep -q app-json.log || fail "/api/v1/sources does not list app-json.log"
curl -s '127.0.0.1:9725/api/v1/processes?sort=rss&limit=5' | grep -q pid || fail "/api/v1/processes lists no process"
start=$(date +%s%N)
echo '{"level":"warn","msg":"hello"}' >> "$DEMO/app-json.log"

want="\"message\":\"hello\""
for _ in $(seq 1 100); do # up to 10 s; expected about 1 s (multiline_timeout)
  if grep -F "$want" "$out" | grep -Fq "\"path\":\"$DEMO/app-json.log\""; then break; fi
  sleep 0.1
done
grep -F "$want" "$out" | grep -F "\"path\":\"$DEMO/app-json.log\"" | grep -Fq '"level":"warn"' ||
  { tail -n 20 "$out" >&2; cat "$err" >&2; fail "the appended line did not come out within 10 s"; }
say "appended line printed after $(( ($(date +%s%N) - start) / 1000000 )) ms: $(grep -F "$want" "$out")"

# Stop it (README: Ctrl-C; here SIGTERM to the daemon's PID): it drains and exits 0.
kill -TERM "$daemon"
rc=0
wait "$gorun" || rc=$?
daemon= gorun=
[ "$rc" = 0 ] || { cat "$err" >&2; fail "the daemon exited $rc after SIGTERM"; }
say "daemon exited 0 after SIGTERM; $(wc -l <"$out") records printed"

testdata_after=$(find testdata -type f -print0 | sort -z | xargs -0 sha256sum)
[ "$testdata_before" = "$testdata_after" ] || fail "the demo changed testdata/: $(diff <(echo "$testdata_before") <(echo "$testdata_after") || true)"
say "ok: testdata/ unchanged"
