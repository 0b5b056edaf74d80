package forwardtest

import (
	"bytes"
	"encoding/hex"
	"io"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/obsadapter/obsadapter/exporters/fluent/internal/wire"
	"github.com/obsadapter/obsadapter/record"
)

// fixtureDir holds real Fluent Bit 5.1 / Fluentd 1.17 captures (see its
// README). They are part of the repository, so a missing one is a failure,
// never a skip.
const fixtureDir = "../testdata/forward"

func fixture(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(fixtureDir, name))
	if err != nil {
		t.Fatalf("fixture %s: %v (the captures live in exporters/fluent/testdata/forward)", name, err)
	}
	return b
}

// TestFixturesInRepository checks that the captures are in the repository
// (README and every client/server pair, none empty but the one Fluentd
// answered with nothing), and that no test, script or doc still looks for
// them outside it, where a clone does not have them.
func TestFixturesInRepository(t *testing.T) {
	entries, err := os.ReadDir(fixtureDir)
	if err != nil {
		t.Fatal(err)
	}
	clients := 0
	have := map[string]bool{}
	for _, e := range entries {
		have[e.Name()] = true
	}
	if !have["README.md"] {
		t.Error("README.md missing: the captures need their description")
	}
	for _, e := range entries {
		name := e.Name()
		if !strings.HasSuffix(name, ".client.bin") {
			continue
		}
		clients++
		server := strings.TrimSuffix(name, ".client.bin") + ".server.bin"
		if !have[server] {
			t.Errorf("%s has no %s", name, server)
		}
		if info, err := e.Info(); err != nil || info.Size() == 0 {
			t.Errorf("%s is empty or unreadable (%v)", name, err)
		}
	}
	if clients < 10 {
		t.Errorf("%d client captures in %s, want the 10 of its README", clients, fixtureDir)
	}

	// The old location, spelled so this file does not match itself.
	old := "shared/" + "fixtures"
	root := filepath.Join("..", "..", "..")
	err = filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if n := d.Name(); n == ".git" || n == "testdata" {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(path, ".go") && !strings.HasSuffix(path, ".md") && !strings.HasSuffix(path, ".sh") && d.Name() != "run" {
			return nil
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		if bytes.Contains(b, []byte(old)) {
			t.Errorf("%s refers to %s, outside the repository; use exporters/fluent/testdata/forward", path, old)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

func unhex(t *testing.T, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestDecodeFixtures(t *testing.T) {
	tests := []struct {
		file       string
		mode       Mode
		chunk      string
		compressed string
		packedAs   string
		members    int
		firstSeq   int64
		entries    int
		intTime    bool
		metaTime   bool
	}{
		{file: "fluentbit-forward-ack.client.bin", mode: ModeForward, chunk: "y5gfABPAFei1RXOMprvxmg==", firstSeq: 1, entries: 4},
		{file: "fluentbit-compressed.client.bin", mode: ModeCompressedPackedForward, chunk: "o8gX2Un6eQW6UeLoiOeoJQ==", compressed: "gzip", packedAs: "bin", members: 1, firstSeq: 1, entries: 4},
		{file: "fluentbit-sharedkey.client.bin", mode: ModeForward, chunk: "f3z8M1bNo4A/tpTfDY61bg==", firstSeq: 1, entries: 4},
		{file: "fluentbit-retain-metadata.client.bin", mode: ModeForward, chunk: "KsSBfQfydGzXEI2lsZn9eg==", firstSeq: 1, entries: 4, metaTime: true},
		{file: "fluentbit-time-as-integer.client.bin", mode: ModeForward, chunk: "aYQdcXInlqvtW9uGXj/5Sg==", firstSeq: 1, entries: 4, intTime: true},
		{file: "fluentd-out-forward.client.bin", mode: ModePackedForward, chunk: "Zg+BhqT1a3jufyGV0zXA6g==\n", compressed: "text", packedAs: "str", entries: 4},
		{file: "fluentd-out-forward-to-fluentd.client.bin", mode: ModePackedForward, chunk: "Zg+Bnn6XJM62LOusys7y/A==\n", compressed: "text", packedAs: "str", entries: 4},
		{file: "fluentd-out-forward-gzip.client.bin", mode: ModeCompressedPackedForward, chunk: "Zg+Bziv9gin48+oAz0wEvQ==\n", compressed: "gzip", packedAs: "str", members: 6, entries: 6},
		{file: "fluentd-sharedkey.client.bin", mode: ModePackedForward, chunk: "Zg+B8IVc9rMKCUXH/KUk2Q==\n", compressed: "text", packedAs: "str", entries: 4},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			msgs, err := DecodeStream(fixture(t, tt.file))
			if err != nil {
				t.Fatal(err)
			}
			if len(msgs) != 1 {
				t.Fatalf("got %d messages, want 1", len(msgs))
			}
			m := msgs[0]
			if m.Tag != "app.log" || m.Mode != tt.mode || string(m.Chunk) != tt.chunk || m.Compressed != tt.compressed ||
				m.PackedAs != tt.packedAs || m.Members != tt.members {
				t.Errorf("got tag %q mode %s chunk %q compressed %q packed %q members %d", m.Tag, m.Mode, m.Chunk, m.Compressed, m.PackedAs, m.Members)
			}
			if len(m.Entries) != tt.entries || m.Size != int64(tt.entries) {
				t.Fatalf("got %d entries, size option %d, want %d", len(m.Entries), m.Size, tt.entries)
			}
			for i, e := range m.Entries {
				if e.IntegerTime != tt.intTime || e.MetadataTime != tt.metaTime {
					t.Errorf("entry %d: integer time %v, metadata time %v", i, e.IntegerTime, e.MetadataTime)
				}
				if sec := e.Time.Unix(); sec < 1795468000 || sec > 1795469000 {
					t.Errorf("entry %d: time %v is not from the capture", i, e.Time)
				}
				if tt.intTime && e.Time.Nanosecond() != 0 {
					t.Errorf("entry %d: integer time has nanoseconds", i)
				}
				v, err := e.Map()
				if err != nil {
					t.Fatal(err)
				}
				want := record.ObjectValue([]record.Field{
					{Key: "level", Value: record.StringValue("info")},
					{Key: "message", Value: record.StringValue("hello")},
					{Key: "seq", Value: record.IntValue(tt.firstSeq + int64(i))},
				})
				if !v.Equal(want) {
					t.Errorf("entry %d: %s", i, v.AppendJSON(nil))
				}
			}
		})
	}
}

// TestServerAnswersLikeFluentd replays each captured client stream into the
// receiver and compares its answer byte for byte with what Fluentd (or Fluent
// Bit, for Fluentd's own out_forward) answered. The HELO salts are pinned to
// the captured ones so the digests match.
func TestServerAnswersLikeFluentd(t *testing.T) {
	tests := []struct {
		name        string
		key         string
		nonce, auth string
		closes      bool
	}{
		{name: "fluentbit-forward-ack"},
		{name: "fluentbit-compressed"},
		{name: "fluentbit-time-as-integer"},
		{name: "fluentbit-retain-metadata", closes: true},
		{name: "fluentd-out-forward"},
		{name: "fluentd-out-forward-to-fluentd"},
		{name: "fluentd-out-forward-gzip"},
		{name: "fluentbit-sharedkey", key: "s3cr3t-key", nonce: "8e32a14a8c1875875159bd271fcdb29e", auth: "afbc7135edcc59d698bcc7a346b0837e"},
		{name: "fluentbit-sharedkey-mismatch", key: "s3cr3t-key", nonce: "7986d70fc3254602cfc6451dbe7ea2b8", auth: "04885ef75c0db6daedd3cda07a9a95d5", closes: true},
		{name: "fluentd-sharedkey", key: "s3cr3t-key", nonce: "fa82e72d394c63251a8ddd7eb7c42adf", auth: "d0ae05b1ed08588fbc43b0698da35579"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			client := fixture(t, tt.name+".client.bin")
			want := fixture(t, tt.name+".server.bin")
			opts := Options{SharedKey: tt.key}
			if tt.key != "" {
				nonce, auth := unhex(t, tt.nonce), unhex(t, tt.auth)
				opts.Nonce = func() []byte { return nonce }
				opts.Auth = func() []byte { return auth }
			}
			s := Start(t, opts)
			c, err := net.Dial("tcp", s.Addr())
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			// Fluentd writes in pieces; so does this replay (1 byte, then the rest).
			if _, err := c.Write(client[:1]); err != nil {
				t.Fatal(err)
			}
			if _, err := c.Write(client[1:]); err != nil {
				t.Fatal(err)
			}
			c.SetReadDeadline(time.Now().Add(5 * time.Second))
			got := make([]byte, len(want))
			if _, err := io.ReadFull(c, got); err != nil {
				t.Fatalf("reading %d answer bytes: %v", len(want), err)
			}
			if !bytes.Equal(got, want) {
				t.Errorf("answer differs from the capture:\n got %x\nwant %x", got, want)
			}
			if tt.closes {
				c.SetReadDeadline(time.Now().Add(5 * time.Second))
				if n, err := c.Read(make([]byte, 1)); err == nil {
					t.Errorf("connection still open after the refusal (read %d bytes)", n)
				}
			}
		})
	}
}

func TestServerCollectsFixtureRecords(t *testing.T) {
	s := Start(t, Options{})
	c, err := net.Dial("tcp", s.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	var all []byte
	for _, f := range []string{"fluentbit-forward-ack", "fluentbit-compressed", "fluentd-out-forward-gzip", "fluentbit-time-as-integer"} {
		all = append(all, fixture(t, f+".client.bin")...)
	}
	if _, err := c.Write(all); err != nil {
		t.Fatal(err)
	}
	if !s.WaitEntries(18, 5*time.Second) {
		t.Fatalf("got %+v", s.Stats())
	}
	st := s.Stats()
	if st.Messages != 4 || len(st.Errors) != 0 {
		t.Fatalf("stats %+v", st)
	}
	// A Message-mode event: [tag, time, record, option].
	msg := []byte{0x94, 0xa3, 'a', '.', 'b', 0xd7, 0x00, 0x6b, 0x04, 0x2c, 0x95, 0, 0, 0, 1,
		0x81, 0xa1, 'k', 0xa1, 'v', 0x81, 0xa5, 'c', 'h', 'u', 'n', 'k', 0xa2, 'i', 'd'}
	if _, err := c.Write(msg); err != nil {
		t.Fatal(err)
	}
	if !s.WaitEntries(19, 5*time.Second) {
		t.Fatal("message mode event not received")
	}
	ms := s.Messages()
	if m := ms[len(ms)-1]; m.Mode != ModeMessage || string(m.Chunk) != "id" || m.Entries[0].Time.Nanosecond() != 1 {
		t.Errorf("message mode decoded as %+v", m)
	}
}

func TestHandshakeVectors(t *testing.T) {
	nonce := unhex(t, "8e32a14a8c1875875159bd271fcdb29e")
	auth := unhex(t, "afbc7135edcc59d698bcc7a346b0837e")
	salt := unhex(t, "dc907ee89b1f4655854a460ceea6db62")
	key := []byte("s3cr3t-key")
	tests := []struct {
		name string
		got  string
		want string
	}{
		{"ping", wire.Digest(salt, []byte("fluentbit-sender"), nonce, key), "88cd643ec4811ad02a74a19c1fafeead1699cf6deb5a04431b2beedb3af6ca0292408dd7dca93c59b1a87bb8a2e669edbc8cc47a10b195cfc9a6adf045a07c96"},
		{"pong", wire.Digest(salt, []byte("fluentd-receiver"), nonce, key), "6b494893e134ef386c158b82b2216d1b891e827ff93f686fdda2d47069591a713109a02240841c51891d79cbc7850affd37f0a5b09ce778a068a1ad0f5b09a40"},
		{"password", wire.Digest(auth, nil, nil), "97aed7d3eefb7495a4f580f015cd7c2051967baa3eb8186e5444249f4ce615d207aa6715183c5db4fc54aeb600f3d4933fcc54399b117922494c11d6d20041d0"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.got != tt.want {
				t.Errorf("got %s\nwant %s", tt.got, tt.want)
			}
		})
	}
	// The captured PINGs decode, and the Fluentd one's 32-char hex salt is
	// hashed as the ASCII bytes it is.
	b := fixture(t, "fluentd-sharedkey.client.bin")
	ping, _, err := wire.ReadPing(b)
	if err != nil {
		t.Fatal(err)
	}
	fn := unhex(t, "fa82e72d394c63251a8ddd7eb7c42adf")
	if got := wire.Digest(ping.Salt, ping.Hostname, fn, key); got != string(ping.Digest) || string(ping.Salt) != "7d3bbfb717e93a1458a343b1fa2c3355" {
		t.Errorf("fluentd PING digest %s, salt %q", got, ping.Salt)
	}
}
