// Command obsadapter is the CLI: it parses flags and subcommands, hands a
// config to the collector and waits. The logic lives in collector/.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime"
	"runtime/debug"
	"strings"
	"syscall"
	"time"
	_ "time/tzdata" // zone names work in a scratch image

	"github.com/obsadapter/obsadapter/clock"
	"github.com/obsadapter/obsadapter/collector"
	"github.com/obsadapter/obsadapter/parsers"
)

// Set at build time with -ldflags "-X main.version=... -X main.revision=...".
var (
	version  = "dev"
	revision = ""
)

const usage = `obsadapter adapts an application's logs and processes to Prometheus, Fluentd and
OpenTelemetry.

Usage:
  obsadapter run [--config FILE] [--include GLOB ...] [--start-at beginning|end] [--fluent ADDR] [--otlp ENDPOINT] [--listen ADDR]
  obsadapter parse [--format NAME] [--now RFC3339] [--explain] [FILE ...]
  obsadapter check-config --config FILE
  obsadapter tap [--addr URL] [--source NAME] [--level LEVEL] [--after-processors] [--duration 60s] [--limit N]
  obsadapter version

Run 'obsadapter COMMAND --help' for a command's flags.
`

func main() {
	os.Exit(realMain(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}

func realMain(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return 2
	}
	switch args[0] {
	case "run":
		return runCmd(args[1:], stdin, stdout, stderr)
	case "parse":
		return parseCmd(args[1:], stdin, stdout, stderr)
	case "check-config":
		return checkConfigCmd(args[1:], stdout, stderr)
	case "tap":
		return tapCmd(args[1:], stdout, stderr)
	case "version", "--version":
		fmt.Fprintf(stdout, "obsadapter %s (revision %s, %s %s/%s)\n", version, buildRevision(), runtime.Version(), runtime.GOOS, runtime.GOARCH)
		return 0
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return 0
	}
	fmt.Fprintf(stderr, "obsadapter: unknown command %q\n\n%s", args[0], usage)
	return 2
}

func buildRevision() string {
	if revision != "" {
		return revision
	}
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, s := range bi.Settings {
			if s.Key == "vcs.revision" {
				return s.Value
			}
		}
	}
	return "unknown"
}

type stringList []string

func (l *stringList) String() string     { return strings.Join(*l, ",") }
func (l *stringList) Set(v string) error { *l = append(*l, v); return nil }

func newFlagSet(name, synopsis string, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintf(stderr, "Usage: obsadapter %s\n\n", synopsis)
		fs.PrintDefaults()
	}
	return fs
}

func runCmd(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	fs := newFlagSet("run", `run [flags]

Runs the adapter. Without --config it runs the embedded default: tail
/var/log/app/*.log (or the --include globs), read stdin when it is a pipe,
print records on stdout, serve /metrics and the API on :9725, and send to
Fluentd only with --fluent or FLUENT_ADDRESS, and OTLP only with --otlp or
OTEL_EXPORTER_OTLP_ENDPOINT. Flags override the config.
SIGTERM/SIGINT stop gracefully, SIGHUP reloads the config file.`, stderr)
	configPath := fs.String("config", "", "configuration `file` (YAML); default: the embedded sidecar default")
	var includes stringList
	fs.Var(&includes, "include", "`glob` of files to tail, repeatable; replaces the first file source's include")
	startAt := fs.String("start-at", "", "where files without a checkpoint start: beginning or end")
	fluentAddr := fs.String("fluent", "", "Fluentd forward `address` (host:port); enables the Fluentd exporter")
	otlpEndpoint := fs.String("otlp", "", "OTLP `endpoint`, e.g. http://collector:4318; enables the OTLP exporter (protocol: the config's, or OTEL_EXPORTER_OTLP_PROTOCOL)")
	listen := fs.String("listen", "", "HTTP listen `address` for /metrics, health and the API (default :9725)")
	if err := fs.Parse(args); err != nil {
		return flagExit(err)
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "obsadapter run: unexpected arguments %q\n", fs.Args())
		return 2
	}
	if *fluentAddr == "" && *configPath == "" {
		*fluentAddr = os.Getenv("FLUENT_ADDRESS")
	}
	override := func(cfg *collector.Config) {
		collector.ApplyFlags(cfg, collector.Flags{Include: includes, StartAt: *startAt, Fluent: *fluentAddr, OTLP: *otlpEndpoint, Listen: *listen})
	}
	var cfg collector.Config
	var err error
	if *configPath != "" {
		cfg, err = collector.LoadConfig(*configPath)
	} else {
		cfg, err = collector.ParseConfig(collector.DefaultYAML)
		if err == nil && isPipe(stdin) {
			collector.AddStdinSource(&cfg)
		}
	}
	if err != nil {
		fmt.Fprintf(stderr, "obsadapter: %v\n", err)
		return 1
	}
	override(&cfg)
	if err := cfg.Validate(); err != nil {
		fmt.Fprintf(stderr, "obsadapter: invalid configuration:\n%v\n", err)
		return 1
	}
	logger := collector.NewLogger(cfg.Log, stderr)
	if limit := collector.ApplyMemoryLimit("/sys/fs/cgroup"); limit > 0 {
		logger.Info("memory limit set from the cgroup", "gomemlimit_bytes", limit)
	}
	c, err := collector.New(cfg, collector.Options{
		Version: version, Revision: buildRevision(), Logger: logger, Stdin: stdin, Stdout: stdout,
		ConfigPath: *configPath, Override: override,
	})
	if err != nil {
		logger.Error("cannot start", "err", err)
		return 1
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	go func() {
		for range hup {
			c.Reload() // logs and counts its own outcome
		}
	}()
	if err := c.Run(ctx); err != nil {
		logger.Error("stopped with an error", "err", err)
		return 1
	}
	return 0
}

// isPipe tells whether stdin is a pipe or a file (not a terminal, not
// /dev/null as in a container).
func isPipe(r io.Reader) bool {
	f, ok := r.(*os.File)
	if !ok {
		return r != nil
	}
	st, err := f.Stat()
	if err != nil {
		return false
	}
	return st.Mode()&os.ModeNamedPipe != 0 || st.Mode().IsRegular() && st.Size() > 0
}

func parseCmd(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	fs := newFlagSet("parse", `parse [flags] [FILE ...]

Reads each FILE (or stdin with - or no file) to its end and prints one
unified record per line as JSON. Shows exactly what the adapter makes of a
log; multiline records are flushed at EOF.`, stderr)
	format := fs.String("format", "auto", "format `name` to force (auto detects per line): "+strings.Join(parsers.Formats(), ", "))
	nowFlag := fs.String("now", "", "pin the clock (`RFC3339`) for observed_time and year inference, for reproducible output")
	explain := fs.Bool("explain", false, "after each file, print the header layout learned for it (on stderr)")
	timezone := fs.String("timezone", "", "IANA `zone` for times without one (default: the process's, TZ honoured)")
	multiline := fs.String("multiline", "auto", "multiline joining: auto or off")
	maxLine := fs.Int("max-line-bytes", 1<<20, "lines longer than this are truncated and marked")
	if err := fs.Parse(args); err != nil {
		return flagExit(err)
	}
	now := clock.Real.Now()
	if *nowFlag != "" {
		t, err := time.Parse(time.RFC3339Nano, *nowFlag)
		if err != nil {
			fmt.Fprintf(stderr, "obsadapter parse: --now: %v\n", err)
			return 2
		}
		now = t
	}
	pcfg, err := collector.ParseOptions(*format, *multiline, *timezone)
	if err != nil {
		fmt.Fprintf(stderr, "obsadapter parse: %v\n", err)
		return 2
	}
	files := fs.Args()
	if len(files) == 0 {
		files = []string{"-"}
	}
	status := 0
	for _, name := range files {
		var r io.Reader = stdin
		if name != "-" {
			f, err := os.Open(name)
			if err != nil {
				fmt.Fprintf(stderr, "obsadapter parse: %v\n", err)
				status = 1
				continue
			}
			defer f.Close()
			r = f
		}
		path := name
		if name == "-" {
			path = ""
		}
		var explainTo io.Writer
		if *explain {
			explainTo = stderr
		}
		if err := collector.Parse(stdout, r, path, pcfg, *maxLine, now, explainTo); err != nil {
			fmt.Fprintf(stderr, "obsadapter parse: %s: %v\n", name, err)
			status = 1
		}
	}
	return status
}

func checkConfigCmd(args []string, stdout, stderr io.Writer) int {
	fs := newFlagSet("check-config", `check-config --config FILE

Validates a configuration file and prints every problem with its key path.
Exits 0 when the file is valid, 1 when it is not.`, stderr)
	configPath := fs.String("config", "", "configuration `file` to check (required)")
	if err := fs.Parse(args); err != nil {
		return flagExit(err)
	}
	if *configPath == "" {
		fmt.Fprintln(stderr, "obsadapter check-config: --config FILE is required")
		return 2
	}
	cfg, err := collector.LoadConfig(*configPath)
	if err == nil {
		err = cfg.Validate()
	}
	if err != nil {
		fmt.Fprintf(stderr, "%s: invalid configuration:\n%v\n", *configPath, err)
		return 1
	}
	fmt.Fprintf(stdout, "%s: configuration is valid\n", *configPath)
	return 0
}

func tapCmd(args []string, stdout, stderr io.Writer) int {
	fs := newFlagSet("tap", `tap [flags]

Attaches to a running adapter and prints the records flowing through it, one
JSON record per line, for --duration or until --limit records. A tap never
slows the adapter: when records flow faster than it reads, some are dropped
for the tap and a note on stderr says how many. Exits 0 when the tap ends as
asked, 1 when the adapter cannot be reached, refuses or goes away.`, stderr)
	var o collector.TapOptions
	fs.StringVar(&o.Addr, "addr", "http://127.0.0.1:9725", "the adapter's HTTP `address` (http.listen): a URL, or host:port for plain HTTP")
	fs.StringVar(&o.Source, "source", "", "only records of the source with this `name`")
	fs.StringVar(&o.Level, "level", "", "only records at or above this `level` (trace, debug, info, warn, error, fatal)")
	fs.BoolVar(&o.AfterProcessors, "after-processors", false, "show records after the processors, as the exporters get them (default: as parsed)")
	fs.DurationVar(&o.Duration, "duration", time.Minute, "how long to tap, at most 10m")
	fs.IntVar(&o.Limit, "limit", 0, "stop after this many records (0: no limit)")
	fs.StringVar(&o.Username, "username", "", "basic-auth `user` when the adapter's web config asks for one")
	fs.StringVar(&o.PasswordFile, "password-file", "", "`file` holding the basic-auth password")
	fs.StringVar(&o.CAFile, "ca-file", "", "PEM `file` of the CA that signed the adapter's TLS certificate")
	fs.BoolVar(&o.InsecureSkipVerify, "insecure-skip-verify", false, "do not verify the adapter's TLS certificate (testing only)")
	if err := fs.Parse(args); err != nil {
		return flagExit(err)
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "obsadapter tap: unexpected arguments %q\n", fs.Args())
		return 2
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	if err := collector.Tap(ctx, o, stdout, stderr); err != nil {
		fmt.Fprintf(stderr, "obsadapter tap: %v\n", err)
		return 1
	}
	return 0
}

func flagExit(err error) int {
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	return 2
}
