package main

import (
	"bytes"
	"strings"
	"testing"
)

// The CLI's own dispatch, in process; everything that runs the built
// binary is in e2e/.
func TestRealMainDispatch(t *testing.T) {
	cases := []struct {
		name   string
		args   []string
		code   int
		stdout string
		stderr string
	}{
		{"no command prints usage", nil, 2, "", "Usage:"},
		{"unknown command", []string{"nosuch"}, 2, "", `unknown command "nosuch"`},
		{"version", []string{"version"}, 0, "obsadapter dev", ""},
		{"parse help", []string{"parse", "--help"}, 0, "", "-explain"},
		{"check-config without a file", []string{"check-config"}, 2, "", "--config"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var out, errb bytes.Buffer
			code := realMain(tc.args, strings.NewReader(""), &out, &errb)
			if code != tc.code || !strings.Contains(out.String(), tc.stdout) || !strings.Contains(errb.String(), tc.stderr) {
				t.Fatalf("exit %d, stdout %q, stderr %q; want %d, %q, %q", code, out.String(), errb.String(), tc.code, tc.stdout, tc.stderr)
			}
		})
	}
}
