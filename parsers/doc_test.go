package parsers

import (
	"bytes"
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/obsadapter/obsadapter/record"
)

// formatNotes describes each format in docs/formats.md.
var formatNotes = map[string]string{
	"cri":           "Container runtime (containerd, CRI-O) envelope of kubelet's `/var/log/pods`: `<RFC3339Nano> <stdout|stderr> <P|F> <line>`. Unwrapped first; `P` fragments are rejoined per stream; `stream` is set and the runtime's time is used when the inner line has none. `format` is the inner line's format.",
	"docker":        "Docker json-file envelope `{\"log\":…,\"stream\":…,\"time\":…}`. A `log` without a trailing newline is a fragment, rejoined with the next ones of its stream. `format` is the inner line's format.",
	"json":          "One JSON object per line from any logger. Level from `level`, `log.level`, `lvl`, `severity`, `levelname`, `@l` … (words, bunyan/pino numbers 10–60, syslog numbers 0–7); message from `msg`, `message`, `@m`, then `@mt`, `event`, `log`, `text`; time from `time`, `ts`, `timestamp`, `@timestamp`, `@t`, then `datetime`, `date`, `timeMillis`, log4j2's `instant`, Google's `{seconds,nanos}` (RFC 3339 strings, or epoch seconds/ms/µs/ns by magnitude). Other keys stay fields with their nesting and types. A key repeated in one object (at any depth) is kept once, with its last value, in the place of its first occurrence, as jq, JavaScript and Python read such objects: `{\"a\":1,\"b\":2,\"a\":3}` gives `{\"a\":3,\"b\":2}`; a repeated level, message or time key gives its last value too.",
	"logfmt":        "`key=value` pairs (slog TextHandler, logrus, go-kit, Heroku). Every token must be a pair. Values are strings; `level`/`lvl`/`severity`, `msg`/`message` and `time`/`ts`/`t`/`timestamp` fill the record.",
	"klog":          "klog/glog (Kubernetes): `Lmmdd hh:mm:ss.uuuuuu threadid file:line] msg`, letter I W E F. The year follows the year-less rule above. Structured klog (`\"msg\" k=v …`) has its pairs split into fields.",
	"rails":         "Ruby's `Logger` (Rails, Sidekiq, Puma): `L, [time #pid]  LEVEL -- progname: msg`. Zone-less time: the configured timezone.",
	"dotnet":        ".NET console logger: `info: Category[EventId]` with the message on the indented next line(s), joined by multiline (trce dbug info warn fail crit).",
	"clf":           "nginx/Apache access logs, Common and Combined Log Format, plus nginx's usual trailing `\"$http_x_forwarded_for\"` and `$request_time` (or `rt=`). Fields `remote_addr`, `user`, `method`, `path`, `protocol`, `status` (int), `bytes` (int), `referer`, `user_agent`, `forwarded_for`, `duration_seconds` (float). The message is the request line. Access logs get **no level** by default: a status code is not a severity, and inventing one would skew level-based alerting; use the `status` field, or set `access_log_levels: true` (5xx error, 4xx warn, else info).",
	"spring":        "Spring Boot 2 and 3 default layout: `time LEVEL pid --- [app] [thread] logger : msg`.",
	"java":          "logback/log4j/log4j2 pattern layouts: a time (date optional; a bare time of day takes the nearest day), then `[thread]`, `LEVEL` and a logger name in any order, then ` - ` or `: `.",
	"python":        "Python `logging`: basicConfig's `LEVEL:logger:msg` (no time), the asctime styles `time - logger - LEVEL - msg`, `time - LEVEL - msg`, `time:LEVEL:logger:msg`, and Flask's `[time] LEVEL in module: msg`. WARNING is warn, CRITICAL is fatal.",
	"zap":           "Uber zap's console encoder: tab-separated time, level, optional logger and caller, message, and a JSON object of context fields. Error-level records take the unindented stack trace that follows.",
	"postgres":      "PostgreSQL with the default `log_line_prefix` (`%m [%p] `) and `user@db`: LOG is info; DETAIL/HINT/STATEMENT/CONTEXT lines have no level and carry `detail`.",
	"mysql":         "MySQL 8 (`[System] [MY-xxxxxx] [Server]`), 5.7 and MariaDB error logs. System and Note are info.",
	"redis":         "Redis/Valkey: `pid:role dd Mon yyyy hh:mm:ss.mmm <mark> msg`, marks `.` debug, `-` verbose (debug), `*` notice (info), `#` warning.",
	"nginx_error":   "nginx's error log: `yyyy/mm/dd hh:mm:ss [level] pid#tid: *conn msg, client: …, server: …`; the trailing context becomes fields (`remote_addr`, `server`, `request`, `upstream`, `host`).",
	"golog":         "Go's standard `log`: `yyyy/mm/dd hh:mm:ss[.µs] [file.go:line: ]msg`. No level unless the message opens with one (`ERROR:`, `[WARN]`).",
	"syslog":        "RFC 3164 (`<PRI>` optional, hostname optional), rsyslog's high-precision file format, and RFC 5424 (structured data as one nested field per SD-ID). The priority gives `level` (notice → info, crit/alert/emerg → fatal) and `facility`; year-less stamps follow the year-less rule above.",
	"kafka":         "Apache Kafka/ZooKeeper log4j layout `[yyyy-mm-dd hh:mm:ss,mmm] LEVEL msg (logger)`.",
	"elasticsearch": "Elasticsearch/OpenSearch plain-text logs `[time][LEVEL][logger] [node] msg` (their ECS JSON is the json format).",
	"envoy":         "Envoy/Istio application log `[time][thread][level][component] [file:line] msg` and the default access log (`status`, `method`, `path`, `protocol`, `response_flags`, `bytes_received`, `bytes`, `duration_seconds`, …; no level, as for clf).",
	"apache_error":  "Apache httpd error log (2.4 `[time] [module:level] [pid N:tid M] [client …] AHnnnnn: msg`, and 2.2). `traceN` levels are trace.",
	"coredns":       "CoreDNS: `[LEVEL] plugin/name: msg` and the log plugin's query lines (`remote_addr`, `type`, `name`, `rcode`, `duration_seconds` …). No time in the line.",
	"learned":       "The header learner, for timestamped lines no named format claims. Per stream it learns the header's layout from a line (where the timestamp is and how it is written, where the level word is, which tokens are logger, pid, thread or host) and applies it to the following lines at fixed cost; a line that does not fit is read on its own, and two in a row with a new layout replace the old one. Timestamps may sit anywhere among the first tokens, bracketed or not: ISO/RFC 3339 with `T` or space and `.` `,` or `:SSS` fractions, `yyMMdd HHmmss`, `yyyyMMdd HHmmss`, `yy/MM/dd`, `yyyy/MM/dd`, `yyyy.MM.dd`, `dd.MM.yyyy`, `dd/MM/yyyy` and `MM/dd/yyyy` (the order decided per stream: values over 12, then the reading nearest to the clock), `yyyy-MM-dd-HH.mm.ss.ffffff`, `yyyyMMdd-HH:mm:ss:SSS`, month names with or without weekday and year, `MM-dd` without a year, AM/PM, zones, and whole-token epochs in s, ms, µs or ns between 2000 and 2100. Where a header carries two times, the one with a zone (or the epoch) wins. The level is a whole level word in the header (any case, bracketed or followed by `:`), or one letter (I W E F D V N C) where the layout puts a level; never a word of the message. Header fields: `logger`, `thread`, `pid`, `host`, `file`, `component`, `context`. Once the layout has held for a few records (or under a time-only line), lines without a header join the record before them, and an exception or traceback joins its header with the header's level. `obsadapter parse --explain` prints each stream's layout; `/api/v1/sources` shows it with the share of lines it fits.",
	"generic":       "The rest of the long tail: a level word (`[WARN]`, `ERROR:`, `INFO`, `<error>`) opening a line with no timestamp, logcat's brief layout (`D/Tag( 1234): msg`), and timestamped lines the learner could not read. Up to three tokens between time and level go to `context`; a logcat tag is `logger`. Never sticky.",
	"plain":         "Anything else: the whole line is the message, with no time or level.",
}

// renderFormatsDoc builds docs/formats.md from the golden inputs: each
// format's first example line and the record the code makes of it.
func renderFormatsDoc(t *testing.T) []byte {
	var b bytes.Buffer
	b.WriteString(`# Log formats

Generated by ` + "`go test ./parsers -run TestFormatsDoc -update`" + ` from ` + "`parsers/testdata/<format>/`" + `; do not edit by hand.

Every source line becomes one unified record (or joins a multiline record). Set ` + "`format: auto`" + ` (the default) to
detect the format per line, ` + "`format: NAME`" + ` to force one of the names below (lines that do not match are kept as
` + "`plain`" + ` records and counted as parse failures), or ` + "`format: regex`" + ` with a ` + "`regex`" + ` of named groups.

## Detection

Container envelopes (` + "`cri`, `docker`" + `) are unwrapped first and their fragments rejoined per stream. The inner line
is then tried against the formats in the order of this page, but only those whose first byte can start a line of
the format (a table lookup), and each parser rejects on fixed anchors before doing any work; no regular expression
runs during detection. Once a format has matched 3 lines in a row it is tried first on the next line of the
stream (sticky); when it stops matching, detection runs again. ` + "`generic`" + ` and ` + "`plain`" + ` are never sticky.
Lines no named format claims go to the header learner (` + "`learned`" + `), which learns each stream's header layout.

## Levels, times, messages

- ` + "`level`" + ` is one of ` + "`trace debug info warn error fatal`" + ` with ` + "`severity`" + ` the OpenTelemetry SeverityNumber:
  trace/finest/silly/vrb 1, finer 2, debug/fine 5 and the word verbose 5 (winston's and Java's verbose sit just
  above debug), config 8, info/success 9, notice 10, warn/warning 13, error/err/severe/fail 17, dpanic 19,
  fatal/crit/critical/panic/pnc 21, alert 22, emerg 23; klog and logcat letters: V (verbose, below debug) is trace
  1, then D I W E F; syslog priorities
  by severity; bunyan/pino 10…60. Lines that state no level get none (access logs included).
- ` + "`time`" + ` is the line's own timestamp as an instant. Zone-less times use ` + "`timezone`" + ` (default: the process's,
  ` + "`TZ`" + ` honoured); year-less times (syslog, klog, logcat, month-day headers) take the reading clock's year
  unless that puts them more than a day after the clock, and then the year before: logs never come from the
  future. (The day of slack absorbs clock skew, so a line stamped minutes after New Year and read minutes before
  it keeps the new year.) Times of day alone take the nearest day. A time that does not parse is left out; the line is never dropped.
- ` + "`message`" + ` is the text without the header; ANSI colour codes are removed and invalid UTF-8 becomes U+FFFD.
- A record's JSON form is at most 4 KiB longer than the larger of ` + "`max_record_bytes`" + ` and its line (itself at most
  ` + "`max_line_bytes`" + `): with the defaults, 1 MiB + 4 KiB. Escaping can make text up to six times longer (a NUL byte is
  ` + "`\\u0000`" + ` in JSON), so a record whose escaped form would exceed that has its longest strings (message or field
  values, at any depth) cut at a character boundary to a common length, short ones kept whole, and is marked
  ` + "`truncated`" + ` and counted like any other cut record.

## Multiline

With ` + "`multiline: auto`" + ` (the default) a record waits for continuation lines: indented lines; Java/Kotlin/Scala
` + "`Caused by:`, `Suppressed:`, `... N more`" + ` and an exception line after a warn-or-worse record; Python tracebacks
(chained ones, with their blank lines); Go panics and goroutine dumps (blank lines included); .NET exceptions. It
is emitted when the next record starts, after ` + "`multiline_timeout`" + ` without new lines, or at EOF, bounded by
` + "`max_record_bytes`" + ` (the rest is cut and the record marked ` + "`truncated`" + `). A joined stack trace carries
` + "`fields.exception.type`" + ` (` + "`java.lang.IllegalStateException`, `ValueError`, `panic`, `System.InvalidOperationException`" + `) and,
when the line stated no level, ` + "`error`" + ` (` + "`fatal`" + ` for Go panics). ` + "`multiline: off`" + ` makes every line a record;
` + "`multiline: {start: REGEX}`" + ` starts a record at each matching line.

## Formats

`)
	for _, name := range Formats() {
		lines, recs := exampleRecords(t, name)
		fmt.Fprintf(&b, "### `%s`\n\n%s\n\n```\n%s\n```\n\n```json\n", name, formatNotes[name], strings.Join(lines, "\n"))
		for _, r := range recs {
			b.Write(r.AppendJSON(nil))
			b.WriteByte('\n')
		}
		b.WriteString("```\n\n")
	}
	lines, recs := exampleFile(t, "testdata/multiline/multiline.log", 10)
	fmt.Fprintf(&b, "### Multiline example\n\n```\n%s\n```\n\n```json\n", strings.Join(lines, "\n"))
	for _, r := range recs {
		b.Write(r.AppendJSON(nil))
		b.WriteByte('\n')
	}
	b.WriteString("```\n")
	return b.Bytes()
}

// exampleRecords takes the first record's lines of the format's golden input.
func exampleRecords(t *testing.T, name string) ([]string, []record.Record) {
	n := 1
	if name == "dotnet" {
		n = 2
	}
	return exampleFile(t, "testdata/"+name+"/"+name+".log", n)
}

func exampleFile(t *testing.T, path string, n int) ([]string, []record.Record) {
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.SplitN(string(data), "\n", n+1)[:n]
	tmp := t.TempDir() + "/x.log"
	if err := os.WriteFile(tmp, []byte(strings.Join(lines, "\n")+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	return lines, parseFile(t, tmp, nil)
}

// TestFormatsDoc keeps docs/formats.md in step with the code.
func TestFormatsDoc(t *testing.T) {
	for _, name := range Formats() {
		if formatNotes[name] == "" {
			t.Errorf("format %s has no note in formatNotes", name)
		}
	}
	got := renderFormatsDoc(t)
	const path = "../docs/formats.md"
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run with -update)", err)
	}
	if !bytes.Equal(got, want) {
		t.Fatal("docs/formats.md is stale: run go test ./parsers -run TestFormatsDoc -update")
	}
}
