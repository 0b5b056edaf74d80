// Package testpeer is how tests find the real peers they check the adapter
// against (the prometheus and promtool binaries, ...). A missing peer skips
// the test on a developer's machine; with OBSADAPTER_REQUIRE_PEERS=1, as
// .ci/run sets it, it fails the test instead, so CI cannot go green by
// silently skipping the checks it installed the peers for.
package testpeer

import (
	"fmt"
	"os"
	"os/exec"
	"testing"
)

// EnvRequire is the variable that turns a missing peer into a failure.
const EnvRequire = "OBSADAPTER_REQUIRE_PEERS"

// Required reports whether missing peers fail tests instead of skipping them.
func Required() bool {
	v := os.Getenv(EnvRequire)
	return v != "" && v != "0" && v != "false"
}

// Missing ends the test because a peer is not available: it skips, or
// fails when Required.
func Missing(t testing.TB, format string, args ...any) {
	t.Helper()
	msg := fmt.Sprintf(format, args...)
	if Required() {
		t.Fatalf("%s (%s=1: a missing peer fails the test)", msg, EnvRequire)
	}
	t.Skip(msg)
}

// LookPath returns the path of the named program on PATH, or ends the test
// through Missing with why (e.g. "install Debian's prometheus package").
func LookPath(t testing.TB, name, why string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		Missing(t, "%s not on PATH (%s)", name, why)
	}
	return p
}
