package fluent

import (
	"context"
	"encoding/binary"
	"errors"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/obsadapter/obsadapter/exporters"
	"github.com/obsadapter/obsadapter/exporters/buffer"
	"github.com/obsadapter/obsadapter/exporters/fluent/forwardtest"
	"github.com/obsadapter/obsadapter/exporters/fluent/internal/wire"
	"github.com/obsadapter/obsadapter/record"
)

func TestConfigValidate(t *testing.T) {
	tests := []struct {
		name string
		mod  func(*Config)
		want string
	}{
		{"default", func(*Config) {}, ""},
		{"bad address", func(c *Config) { c.Address = "nohost" }, `address: "nohost" is not host:port`},
		{"bad failover", func(c *Config) { c.Failover = []string{"a:1", "b"} }, `failover[1]: "b" is not host:port`},
		{"unknown tag ref", func(c *Config) { c.Tag = "x.{pod}" }, "tag: unknown reference {pod}"},
		{"unclosed tag", func(c *Config) { c.Tag = "x.{source" }, `tag: unclosed "{"`},
		{"compress", func(c *Config) { c.Compress = "zstd" }, `compress: "zstd" is not none or gzip`},
		{"ack timeout", func(c *Config) { c.AckTimeout = 0 }, "ack_timeout: must be positive"},
		{"retry order", func(c *Config) { c.Retry.Initial = time.Hour }, "retry.initial: 1h0m0s is more than retry.max"},
		{"buffer type", func(c *Config) { c.Buffer.Type = "disk" }, `buffer.type: "disk" is not memory or file`},
		{"buffer smaller than batch", func(c *Config) { c.Buffer.MaxBytes = 1024 }, "buffer.max_bytes: 1024 is less than batch.max_bytes"},
		{"on_full", func(c *Config) { c.Buffer.OnFull = "drop" }, `buffer.on_full: "drop" is not block or drop_oldest`},
		{"tls half", func(c *Config) { c.TLS = TLSConfig{Enabled: true, CertFile: "c.pem"} }, "tls: cert_file and key_file go together"},
		{"tls off", func(c *Config) { c.TLS.CAFile = "ca.pem" }, "tls.enabled: TLS options are set"},
		{"user without key", func(c *Config) { c.Username = "u" }, "shared_key: self_hostname, username and password need shared_key"},
		{"field tag", func(c *Config) { c.Tag = "app.{field.http.status}.{level}" }, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := DefaultConfig()
			tt.mod(&c)
			err := c.Validate()
			if tt.want == "" {
				if err != nil {
					t.Fatalf("unexpected error: %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("got %v, want %q", err, tt.want)
			}
		})
	}
}

func TestFileBufferNeedsStateDir(t *testing.T) {
	c := DefaultConfig()
	c.Buffer.Type = "file"
	if _, err := New(c, Deps{}); err == nil || !strings.HasPrefix(err.Error(), "buffer.type:") {
		t.Fatalf("got %v", err)
	}
}

func TestTag(t *testing.T) {
	r := record.Record{Source: "app", Format: "json", Severity: record.SeverityWarn, Stream: "stderr",
		Fields: []record.Field{{Key: "http", Value: record.ObjectValue([]record.Field{{Key: "status", Value: record.IntValue(500)}})},
			{Key: "svc", Value: record.StringValue("a b/c")}}}
	tests := []struct{ tmpl, want string }{
		{"obsadapter.{source}", "obsadapter.app"},
		{"fixed.tag", "fixed.tag"},
		{"{source}.{format}.{level}.{stream}", "app.json.warn.stderr"},
		{"app.{field.http.status}", "app.500"},
		{"app.{field.svc}", "app.a_b_c"},
		{"app.{field.missing}", "app.unknown"},
	}
	for _, tt := range tests {
		t.Run(tt.tmpl, func(t *testing.T) {
			tg, err := newTagger(tt.tmpl)
			if err != nil {
				t.Fatal(err)
			}
			if got := string(tg.appendTag(nil, &r)); got != tt.want {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
}

// TestRecordMapIsTheJSONForm: the map sent to Fluentd decodes to exactly the
// record's JSON form, keys in the same order.
func TestRecordMapIsTheJSONForm(t *testing.T) {
	tests := []struct {
		name string
		r    record.Record
	}{
		{"minimal", record.Record{ObservedTime: baseTime, Message: "plain"}},
		{"full", record.Record{Time: baseTime, ObservedTime: baseTime.Add(time.Second), Severity: record.SeverityError + 1,
			Message: "db down\n\tat x", Format: "json", Source: "app", Path: "/var/log/app.log", Stream: "stdout",
			Kubernetes: &record.Kubernetes{Namespace: "ns", Pod: "p"}, Truncated: true,
			Fields: []record.Field{
				{Key: "user", Value: record.StringValue("bob")},
				{Key: "http", Value: record.ObjectValue([]record.Field{{Key: "status", Value: record.IntValue(500)}, {Key: "ok", Value: record.BoolValue(false)}})},
				{Key: "lat", Value: record.FloatValue(0.25)}, {Key: "nan", Value: record.FloatValue(math.NaN())},
				{Key: "big", Value: record.FloatValue(1e300)}, {Key: "neg", Value: record.IntValue(-7)},
				{Key: "nil", Value: record.NullValue()},
				{Key: "tags", Value: record.ArrayValue([]record.Value{record.StringValue("a"), record.IntValue(1)})},
			}}},
		{"invalid utf8", record.Record{ObservedTime: baseTime, Message: "bad \xff byte", Fields: []record.Field{{Key: "k\xfe", Value: record.StringValue("\xc3")}}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := new(recordEncoder).appendRecord(nil, &tt.r)
			v, rest, err := wire.ReadValue(b)
			if err != nil || len(rest) != 0 {
				t.Fatalf("decode: %v, %d bytes left", err, len(rest))
			}
			if got, want := string(v.AppendJSON(nil)), string(tt.r.AppendJSON(nil)); got != want {
				t.Errorf("map differs from the JSON form\n got %s\nwant %s", got, want)
			}
		})
	}
}

// fluentdCapture returns the bytes Fluentd 1.17's out_forward sent to
// Fluentd's in_forward (testdata/forward, described in its README). The
// captures are in the repository: a missing one fails, it never skips.
func fluentdCapture(t *testing.T) []byte {
	t.Helper()
	ref, err := os.ReadFile(filepath.Join("testdata", "forward", "fluentd-out-forward-to-fluentd.client.bin"))
	if err != nil {
		t.Fatalf("fixture: %v", err)
	}
	return ref
}

// TestWireShapeLikeFluentd checks that what the exporter writes has the
// structure Fluentd's own out_forward sends and Fluentd accepted in the
// captures: [tag, packed entries, {chunk, size(, compressed)}], entries of
// fixarray(2) [EventTime ext 0, map], gzip members for compression.
func TestWireShapeLikeFluentd(t *testing.T) {
	ref := fluentdCapture(t)
	refMsgs, err := forwardtest.DecodeStream(ref)
	if err != nil {
		t.Fatal(err)
	}
	for _, compress := range []string{"none", "gzip"} {
		t.Run(compress, func(t *testing.T) {
			s := forwardtest.Start(t, forwardtest.Options{})
			cfg := testConfig(s.Addr())
			cfg.Compress = compress
			e := newTestExporter(t, cfg, "")
			if err := e.Export(context.Background(), numbered(0, 4)); err != nil {
				t.Fatal(err)
			}
			ms := s.Messages()
			if len(ms) != 1 {
				t.Fatalf("%d messages", len(ms))
			}
			m, r := ms[0], refMsgs[0]
			wantMode := forwardtest.ModePackedForward
			if compress == "gzip" {
				wantMode = forwardtest.ModeCompressedPackedForward
			}
			if m.Mode != wantMode || m.Tag != "obsadapter.app" || m.Size != 4 || len(m.Entries) != 4 || len(m.Chunk) != 24 {
				t.Fatalf("message %+v", m)
			}
			if (r.Mode == forwardtest.ModePackedForward) != (m.Mode == forwardtest.ModePackedForward || m.Mode == forwardtest.ModeCompressedPackedForward) {
				t.Errorf("reference mode %s", r.Mode)
			}
			for i, en := range m.Entries {
				if en.IntegerTime || en.MetadataTime || !en.Time.Equal(baseTime.Add(time.Duration(i)*time.Millisecond)) {
					t.Errorf("entry %d time %v (integer %v, metadata %v)", i, en.Time, en.IntegerTime, en.MetadataTime)
				}
				// Same entry header bytes as Fluentd's: fixarray(2), fixext8 type 0.
				if en.Raw[0]&0xf0 != 0x80 && en.Raw[0] != 0xde {
					t.Errorf("entry %d record is not a map", i)
				}
			}
			keys := optionKeys(m)
			if compress == "gzip" && keys != "chunk,size,compressed" || compress == "none" && keys != "chunk,size" {
				t.Errorf("option keys %s", keys)
			}
		})
	}
}

// TestWireBytesLikeFluentd compares the bytes of an uncompressed chunk with
// Fluentd's out_forward capture: fixarray(3), the tag, a 32-bit-length blob
// (Fluentd str32, ours bin32: Fluentd accepts both), entries that start
// fixarray(2) + fixext8 type 0, and a fixmap option.
func TestWireBytesLikeFluentd(t *testing.T) {
	ref := fluentdCapture(t)
	tg, _ := newTagger("app.log")
	msg := newBuilder(tg, false, 100, 1<<20).build(numbered(0, 4))[0].Data
	if msg[0] != ref[0] || string(msg[1:9]) != string(ref[1:9]) {
		t.Errorf("head % x, Fluentd's % x", msg[:9], ref[:9])
	}
	if msg[9] != 0xc6 || ref[9] != 0xdb {
		t.Errorf("blob type %#x (Fluentd %#x)", msg[9], ref[9])
	}
	if string(msg[14:17]) != string(ref[14:17]) {
		t.Errorf("first entry starts % x, Fluentd's % x", msg[14:17], ref[14:17])
	}
	n := int(binary.BigEndian.Uint32(msg[10:14]))
	if msg[14+n]&0xf0 != 0x80 || ref[182]&0xf0 != 0x80 {
		t.Errorf("option header %#x, Fluentd's %#x", msg[14+n], ref[182])
	}
	m, err := forwardtest.DecodeMessage(msg)
	if err != nil || m.Mode != forwardtest.ModePackedForward || len(m.Entries) != 4 {
		t.Fatalf("decode: %v %+v", err, m)
	}
}

func optionKeys(m forwardtest.Message) string {
	var ks []string
	for _, f := range m.Options.Object() {
		ks = append(ks, f.Key)
	}
	return strings.Join(ks, ",")
}

func TestExportAcked(t *testing.T) {
	s := forwardtest.Start(t, forwardtest.Options{})
	cfg := testConfig(s.Addr())
	cfg.Batch.MaxRecords = 100
	e := newTestExporter(t, cfg, "")
	b := numbered(0, 250)
	if err := e.Export(context.Background(), b); err != nil {
		t.Fatal(err)
	}
	got := s.Records()
	if len(got) != 250 || s.Stats().Acks != 3 {
		t.Fatalf("%d records, %+v", len(got), s.Stats())
	}
	for i := range got {
		if string(got[i].AppendJSON(nil)) != string(b[i].AppendJSON(nil)) {
			t.Fatalf("record %d:\n got %s\nwant %s", i, got[i].AppendJSON(nil), b[i].AppendJSON(nil))
		}
	}
	if e.count("acked") != 250 || e.count("sent") != 250 {
		t.Errorf("acked %d sent %d", e.count("acked"), e.count("sent"))
	}
}

// TestAtLeastOnce delivers numbered records while the receiver is restarted,
// withholds acks, drops connections mid-message and refuses connections.
// Every Export that returned nil must have arrived.
func TestAtLeastOnce(t *testing.T) {
	s := forwardtest.Start(t, forwardtest.Options{})
	cfg := testConfig(s.Addr())
	cfg.AckTimeout = 50 * time.Millisecond
	e := newTestExporter(t, cfg, "")
	const per = 50
	n := 0
	send := func(what string) {
		wait(t, exportAsync(e.Exporter, numbered(n, per)), what)
		n += per
	}
	send("normal")
	if err := s.Restart(); err != nil {
		t.Fatal(err)
	}
	send("after restart")
	s.WithholdAcks(true)
	ch := exportAsync(e.Exporter, numbered(n, per))
	waitFor(t, "a retry after the ack timeout", s.Changed, func() bool { return e.count("retried") > 0 })
	s.WithholdAcks(false)
	wait(t, ch, "withheld acks")
	n += per
	s.DropNext(2)
	send("dropped mid-chunk")
	s.Refuse(true)
	ch = exportAsync(e.Exporter, numbered(n, per))
	waitFor(t, "refused connections", s.Changed, func() bool { return s.Stats().Connections >= 4 })
	s.Refuse(false)
	wait(t, ch, "refused")
	n += per
	s.Stop()
	ch = exportAsync(e.Exporter, numbered(n, per))
	select {
	case err := <-ch:
		t.Fatalf("Export returned %v while the aggregator was down", err)
	default:
	}
	if err := s.Restart(); err != nil {
		t.Fatal(err)
	}
	wait(t, ch, "down aggregator")
	n += per
	requireAll(t, s, n)
	if e.count("retried") == 0 {
		t.Error("no retries counted")
	}
}

func TestFailover(t *testing.T) {
	primary := forwardtest.Start(t, forwardtest.Options{})
	backup := forwardtest.Start(t, forwardtest.Options{})
	cfg := testConfig(primary.Addr())
	cfg.Failover = []string{backup.Addr()}
	e := newTestExporter(t, cfg, "")
	primary.Stop()
	wait(t, exportAsync(e.Exporter, numbered(0, 10)), "to the failover")
	if backup.Stats().Entries != 10 {
		t.Fatalf("backup got %d", backup.Stats().Entries)
	}
	if err := primary.Restart(); err != nil {
		t.Fatal(err)
	}
	// Back to the primary once its backoff has passed (at most retry.max).
	for i := 1; primary.Stats().Entries == 0; i++ {
		wait(t, exportAsync(e.Exporter, numbered(10*i, 10)), "after the primary returned")
		if i > 10000 {
			t.Fatal("never went back to the primary")
		}
	}
}

func TestSharedKey(t *testing.T) {
	tests := []struct {
		name       string
		serverKey  string
		users      map[string]string
		user, pass string
		ok         bool
	}{
		{name: "match", serverKey: "s3cr3t-key", ok: true},
		{name: "mismatch", serverKey: "other"},
		{name: "user auth", serverKey: "s3cr3t-key", users: map[string]string{"bob": "pw"}, user: "bob", pass: "pw", ok: true},
		{name: "bad password", serverKey: "s3cr3t-key", users: map[string]string{"bob": "pw"}, user: "bob", pass: "no"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := forwardtest.Start(t, forwardtest.Options{SharedKey: tt.serverKey, Users: tt.users})
			cfg := testConfig(s.Addr())
			cfg.SharedKey, cfg.SelfHostname, cfg.Username, cfg.Password = "s3cr3t-key", "sender", tt.user, tt.pass
			cfg.ShutdownTimeout = 10 * time.Millisecond
			e := newTestExporter(t, cfg, "")
			timeout := 10 * time.Second
			if !tt.ok {
				timeout = 300 * time.Millisecond
			}
			ctx, cancel := context.WithTimeout(context.Background(), timeout)
			defer cancel()
			err := e.Export(ctx, numbered(0, 3))
			if tt.ok && err != nil || !tt.ok && err == nil {
				t.Fatalf("Export: %v", err)
			}
			if !tt.ok && s.Stats().AuthFailures == 0 {
				t.Error("server saw no auth failure")
			}
		})
	}
}

func TestSpoolSurvivesRestart(t *testing.T) {
	dir := t.TempDir()
	s := forwardtest.Start(t, forwardtest.Options{})
	s.Stop()
	cfg := testConfig(s.Addr())
	cfg.Buffer.Type = "file"
	cfg.ShutdownTimeout = 10 * time.Millisecond
	e := newTestExporter(t, cfg, dir)
	for i := range 5 {
		if err := e.Export(context.Background(), numbered(i*20, 20)); err != nil {
			t.Fatal(err)
		}
	}
	if e.count("spooled") != 100 {
		t.Fatalf("spooled %d", e.count("spooled"))
	}
	if err := e.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	if err := s.Restart(); err != nil {
		t.Fatal(err)
	}
	e2 := newTestExporter(t, cfg, dir)
	if !s.WaitEntries(100, 20*time.Second) {
		t.Fatalf("got %d entries after restart", s.Stats().Entries)
	}
	requireAll(t, s, 100)
	waitFor(t, "the spool to empty", e2.spool().Changes, func() bool { r, _ := e2.spool().Depth(); return r == 0 })
	if err := e2.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	left, _ := filepath.Glob(filepath.Join(dir, "fluent", "*.seg"))
	if len(left) != 0 {
		t.Errorf("segments left after everything was acked: %v", left)
	}
}

// TestSpoolTornTail: a crash in the middle of a write leaves a partial
// frame; it and a corrupted frame are skipped, the rest is delivered.
func TestSpoolTornTail(t *testing.T) {
	dir := t.TempDir()
	s := forwardtest.Start(t, forwardtest.Options{})
	s.Stop()
	cfg := testConfig(s.Addr())
	cfg.Buffer.Type = "file"
	cfg.ShutdownTimeout = 10 * time.Millisecond
	e := newTestExporter(t, cfg, dir)
	for i := range 3 {
		if err := e.Export(context.Background(), numbered(i*10, 10)); err != nil {
			t.Fatal(err)
		}
	}
	e.Close(context.Background())
	segs, _ := filepath.Glob(filepath.Join(dir, "fluent", "*.seg"))
	var path string
	for _, p := range segs {
		if fi, _ := os.Stat(p); fi.Size() > 0 {
			path = p
		}
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	frame := len(data) / 3
	data[frame+buffer.FrameHeader+40] ^= 0xff // corrupt the second frame's payload
	data = append(data, data[:frame/2]...)    // a torn fourth frame
	if err := os.WriteFile(path, data, 0o640); err != nil {
		t.Fatal(err)
	}
	if err := s.Restart(); err != nil {
		t.Fatal(err)
	}
	e2 := newTestExporter(t, cfg, dir)
	waitFor(t, "the spool to empty", e2.spool().Changes, func() bool { r, _ := e2.spool().Depth(); return r == 0 })
	got := seqs(t, s)
	for i := range 30 {
		want := 1
		if i >= 10 && i < 20 {
			want = 0
		}
		if got[int64(i)] != want {
			t.Fatalf("seq %d arrived %d times, want %d (all: %v)", i, got[int64(i)], want, got)
		}
	}
	if c := testutil.ToFloat64(e2.metrics.corrupt); c != 2 {
		t.Errorf("corrupt frames counted: %v, want 2 (one bad checksum, one torn tail)", c)
	}
}

func TestMemoryBounded(t *testing.T) {
	t.Run("block", func(t *testing.T) {
		s := forwardtest.Start(t, forwardtest.Options{})
		s.WithholdAcks(true)
		cfg := testConfig(s.Addr())
		cfg.AckTimeout = time.Hour
		cfg.Batch = BatchConfig{MaxRecords: 10, MaxBytes: 1 << 20}
		cfg.Buffer.MaxRecords, cfg.Buffer.MaxBytes = 20, 1<<20
		e := newTestExporter(t, cfg, "")
		var chs []<-chan error
		for i := range 3 {
			chs = append(chs, exportAsync(e.Exporter, numbered(i*10, 10)))
		}
		waitFor(t, "the queue to fill", e.mem().Changes, func() bool { r, _ := e.mem().Depth(); return r == 20 })
		s.WithholdAcks(false)
		// The in-flight chunk's ack never comes (it was withheld): the
		// connection is reset so the chunk is resent.
		if err := s.Restart(); err != nil {
			t.Fatal(err)
		}
		for _, ch := range chs {
			wait(t, ch, "blocked export")
		}
		requireAll(t, s, 30)
	})
	t.Run("drop_oldest", func(t *testing.T) {
		s := forwardtest.Start(t, forwardtest.Options{})
		s.Stop()
		cfg := testConfig(s.Addr())
		cfg.Batch = BatchConfig{MaxRecords: 10, MaxBytes: 1 << 20}
		cfg.Buffer.MaxRecords, cfg.Buffer.MaxBytes, cfg.Buffer.OnFull = 20, 1<<20, "drop_oldest"
		e := newTestExporter(t, cfg, "")
		first := exportAsync(e.Exporter, numbered(0, 10))
		waitFor(t, "the first chunk in flight", e.mem().Changes, e.mem().Sending)
		second := exportAsync(e.Exporter, numbered(10, 10))
		waitFor(t, "the second chunk queued", e.mem().Changes, func() bool { r, _ := e.mem().Depth(); return r == 20 })
		third := exportAsync(e.Exporter, numbered(20, 10))
		err := <-second
		if !exporters.IsPermanent(err) || !errors.Is(err, buffer.ErrDropped) {
			t.Fatalf("second export: %v", err)
		}
		if e.count("dropped") != 10 {
			t.Errorf("dropped %d", e.count("dropped"))
		}
		if err := s.Restart(); err != nil {
			t.Fatal(err)
		}
		wait(t, first, "first")
		wait(t, third, "third")
	})
}

func TestPermanentTooLarge(t *testing.T) {
	s := forwardtest.Start(t, forwardtest.Options{})
	cfg := testConfig(s.Addr())
	cfg.Batch = BatchConfig{MaxRecords: 10, MaxBytes: 1024}
	cfg.Buffer.MaxBytes = 2048
	e := newTestExporter(t, cfg, "")
	b := numbered(0, 1)
	b[0].Message = strings.Repeat("x", 4096)
	err := e.Export(context.Background(), b)
	if !exporters.IsPermanent(err) {
		t.Fatalf("got %v, want a permanent error", err)
	}
	if e.count("failed") != 1 {
		t.Errorf("failed %d", e.count("failed"))
	}
}

func TestShutdownReportsUndelivered(t *testing.T) {
	s := forwardtest.Start(t, forwardtest.Options{})
	s.Stop()
	cfg := testConfig(s.Addr())
	cfg.ShutdownTimeout = 20 * time.Millisecond
	e := newTestExporter(t, cfg, "")
	ch := exportAsync(e.Exporter, numbered(0, 7))
	waitFor(t, "queued", e.mem().Changes, func() bool { r, _ := e.mem().Depth(); return r == 7 })
	err := e.Close(context.Background())
	if err == nil || !strings.Contains(err.Error(), "7 records not delivered") {
		t.Fatalf("Close: %v", err)
	}
	if err := <-ch; err == nil {
		t.Fatal("Export succeeded without an ack")
	}
	if e.count("failed") != 7 {
		t.Errorf("failed %d", e.count("failed"))
	}
}

func TestSpoolBounded(t *testing.T) {
	setup := func(t *testing.T, onFull string) (*testExporter, *forwardtest.Server, Config) {
		s := forwardtest.Start(t, forwardtest.Options{})
		s.Stop()
		cfg := testConfig(s.Addr())
		cfg.Batch.MaxBytes = 16 << 10
		cfg.Buffer = BufferConfig{Type: "file", MaxRecords: 100_000, MaxBytes: 256 << 10, OnFull: onFull}
		cfg.ShutdownTimeout = 10 * time.Millisecond
		return newTestExporter(t, cfg, t.TempDir()), s, cfg
	}
	t.Run("drop_oldest", func(t *testing.T) {
		e, s, _ := setup(t, "drop_oldest")
		for i := range 60 {
			if err := e.Export(context.Background(), numbered(i*50, 50)); err != nil {
				t.Fatal(err)
			}
			if _, b := e.spool().Depth(); b > 256<<10 {
				t.Fatalf("spool holds %d bytes, bound %d", b, 256<<10)
			}
		}
		dropped := e.count("dropped")
		if dropped == 0 {
			t.Fatal("nothing dropped")
		}
		if err := s.Restart(); err != nil {
			t.Fatal(err)
		}
		waitFor(t, "the spool to empty", e.spool().Changes, func() bool { r, _ := e.spool().Depth(); return r == 0 })
		// The newest records are the ones kept; the chunk being sent when
		// its segment was dropped may arrive as well.
		got := seqs(t, s)
		if len(got) < 3000-dropped || got[2999] != 1 {
			t.Errorf("%d distinct records arrived (want at least %d), newest %d times", len(got), 3000-dropped, got[2999])
		}
		// The counters add up exactly: every record spooled was acknowledged
		// or dropped, never both (a chunk in flight when its segment was
		// dropped and then acknowledged counts as acked only).
		spooled, acked, dropped := e.count("spooled"), e.count("acked"), e.count("dropped")
		if spooled != 3000 || acked+dropped != spooled || acked != len(got) {
			t.Errorf("spooled %d, acked %d, dropped %d, arrived %d: want spooled 3000 = acked + dropped and acked = arrived", spooled, acked, dropped, len(got))
		}
	})
	t.Run("block", func(t *testing.T) {
		e, s, _ := setup(t, "block")
		var err error
		for i := 0; err == nil && i < 100; i++ {
			ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
			err = e.Export(ctx, numbered(i*50, 50))
			cancel()
		}
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("a full spool did not block: %v", err)
		}
		if e.count("dropped") != 0 {
			t.Error("block dropped records")
		}
		spooled := e.count("spooled")
		if err := s.Restart(); err != nil {
			t.Fatal(err)
		}
		if !s.WaitEntries(spooled, 20*time.Second) {
			t.Fatalf("got %d of %d", s.Stats().Entries, spooled)
		}
		requireAll(t, s, spooled)
	})
}
