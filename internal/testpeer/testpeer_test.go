package testpeer

import (
	"os"
	"os/exec"
	"strings"
	"testing"
)

// TestHelperMissingPeer is run by TestMissingPeer in a child test binary; on
// its own it does nothing.
func TestHelperMissingPeer(t *testing.T) {
	if os.Getenv("TESTPEER_CHILD") != "1" {
		return
	}
	LookPath(t, "obsadapter-no-such-peer", "not installed anywhere")
	t.Log("peer found")
}

// TestMissingPeer checks that a missing peer skips the test, and fails it
// under OBSADAPTER_REQUIRE_PEERS=1 as .ci/run sets it.
func TestMissingPeer(t *testing.T) {
	for _, tt := range []struct {
		require  string
		wantFail bool
		want     string
	}{
		{"", false, "--- SKIP: TestHelperMissingPeer"},
		{"0", false, "--- SKIP: TestHelperMissingPeer"},
		{"1", true, "--- FAIL: TestHelperMissingPeer"},
	} {
		t.Run("require="+tt.require, func(t *testing.T) {
			cmd := exec.Command(os.Args[0], "-test.run=^TestHelperMissingPeer$", "-test.v")
			cmd.Env = append(os.Environ(), "TESTPEER_CHILD=1", EnvRequire+"="+tt.require)
			out, err := cmd.CombinedOutput()
			if failed := err != nil; failed != tt.wantFail {
				t.Errorf("child failed = %v (%v), want %v\n%s", failed, err, tt.wantFail, out)
			}
			if !strings.Contains(string(out), tt.want) || !strings.Contains(string(out), "obsadapter-no-such-peer not on PATH") {
				t.Errorf("child output lacks %q and the reason:\n%s", tt.want, out)
			}
		})
	}
}

// TestCIRequiresPeers checks that .ci/run sets OBSADAPTER_REQUIRE_PEERS=1
// before it runs the tests, and no longer needs ../shared for them.
func TestCIRequiresPeers(t *testing.T) {
	b, err := os.ReadFile("../../.ci/run")
	if err != nil {
		t.Fatal(err)
	}
	ci := string(b)
	set := strings.Index(ci, "\nexport "+EnvRequire+"=1\n")
	test := strings.Index(ci, "\ngo test")
	if set < 0 || test < 0 || set > test {
		t.Errorf(".ci/run must export %s=1 before go test (at %d, go test at %d)", EnvRequire, set, test)
	}
	if strings.Contains(ci, "../shared") {
		t.Error(".ci/run refers to ../shared: the tests it runs must not need it")
	}
}
