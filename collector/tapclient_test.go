package collector

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestTapClient(t *testing.T) {
	rec := `{"observed_time":"2026-12-03T12:00:00Z","message":"one"}` + "\n"
	long := `{"observed_time":"2026-12-03T12:00:00Z","message":"` + strings.Repeat("l", 200<<10) + `"}` + "\n"
	tests := []struct {
		name      string
		status    int
		body      string
		opts      TapOptions
		wantQuery string
		wantAuth  string
		wantOut   string
		wantNotes string
		wantErr   string
	}{
		{
			name: "records, a drop note and the end", status: 200,
			body:      rec + `{"tap":"dropped","count":3}` + "\n" + rec + `{"tap":"end","reason":"limit","records":2,"dropped":3}` + "\n",
			wantQuery: "duration=1m0s&stage=parsed", wantOut: rec + rec, wantNotes: "3 records dropped for this tap",
		},
		{
			name: "every option", status: 200, body: `{"tap":"end","reason":"duration","records":0,"dropped":0}` + "\n",
			opts:      TapOptions{Source: "app", Level: "warn", AfterProcessors: true, Duration: 90 * time.Second, Limit: 5, Username: "ops"},
			wantQuery: "duration=1m30s&level=warn&limit=5&source=app&stage=processed", wantAuth: "ops:pw",
		},
		{
			name: "a record longer than the read buffer", status: 200,
			body:      long + `{"tap":"end","reason":"limit","records":1,"dropped":0}` + "\n",
			wantQuery: "duration=1m0s&stage=parsed", wantOut: long,
		},
		{
			name: "cut without an end", status: 200, body: rec,
			wantQuery: "duration=1m0s&stage=parsed", wantOut: rec, wantErr: "stopped after 1 records without its end",
		},
		{
			name: "the adapter shuts down", status: 200, body: rec + `{"tap":"end","reason":"shutdown","records":1,"dropped":0}` + "\n",
			wantQuery: "duration=1m0s&stage=parsed", wantOut: rec, wantErr: "the adapter is shutting down; the tap ended after 1 records",
		},
		{
			name: "refused", status: 403, body: "the tap is off (http.tap: off)\n",
			wantQuery: "duration=1m0s&stage=parsed", wantErr: "refused the tap: 403 Forbidden: the tap is off (http.tap: off)",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var gotQuery, gotAuth string
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				gotQuery = r.URL.RawQuery
				if u, p, ok := r.BasicAuth(); ok {
					gotAuth = u + ":" + p
				}
				w.WriteHeader(tt.status)
				w.Write([]byte(tt.body))
			}))
			defer srv.Close()
			o := tt.opts
			o.Addr = strings.TrimPrefix(srv.URL, "http://")
			if o.Duration == 0 {
				o.Duration = time.Minute
			}
			if o.Username != "" {
				o.PasswordFile = filepath.Join(t.TempDir(), "pw")
				os.WriteFile(o.PasswordFile, []byte("pw\n"), 0o600)
			}
			var out, notes bytes.Buffer
			err := Tap(context.Background(), o, &out, &notes)
			if tt.wantErr == "" && err != nil || tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)) {
				t.Fatalf("err %v, want %q", err, tt.wantErr)
			}
			if gotQuery != tt.wantQuery || gotAuth != tt.wantAuth {
				t.Errorf("request query %q auth %q, want %q %q", gotQuery, gotAuth, tt.wantQuery, tt.wantAuth)
			}
			if out.String() != tt.wantOut {
				t.Errorf("stdout %.200q, want %.200q", out.String(), tt.wantOut)
			}
			if !strings.Contains(notes.String(), tt.wantNotes) || tt.wantNotes == "" && notes.Len() > 0 {
				t.Errorf("notes %q, want %q", notes.String(), tt.wantNotes)
			}
		})
	}
}

func TestTapClientRefusesBadOptions(t *testing.T) {
	tests := []struct {
		name    string
		opts    TapOptions
		wantErr string
	}{
		{"not an address", TapOptions{Addr: "ftp://x", Duration: time.Minute}, "not an address such as http://127.0.0.1:9725"},
		{"too long", TapOptions{Addr: "127.0.0.1:9725", Duration: 11 * time.Minute}, "a tap lasts at most 10m0s"},
		{"negative limit", TapOptions{Addr: "127.0.0.1:9725", Duration: time.Minute, Limit: -1}, "--limit: -1 is negative"},
		{"password without user", TapOptions{Addr: "127.0.0.1:9725", Duration: time.Minute, PasswordFile: "pw"}, "--password-file needs --username"},
		{"missing CA file", TapOptions{Addr: "127.0.0.1:9725", Duration: time.Minute, CAFile: "/nonexistent/ca.pem"}, "--ca-file"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := Tap(context.Background(), tt.opts, &bytes.Buffer{}, &bytes.Buffer{})
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("err %v, want %q", err, tt.wantErr)
			}
		})
	}
}
