// Package adapterbin builds the obsadapter binary of the parent module for the deploy module's tests,
// with deploy/build-binary.sh (the Dockerfile's flags).
package adapterbin

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sync"
	"testing"
)

// RequireEnv names the variable that turns "the adapter is not there yet" skips into failures, for CI
// once main.go exists.
const RequireEnv = "OBSADAPTER_REQUIRE_BINARY"

// Root is the parent module's directory (the repository root).
func Root(t testing.TB) string {
	t.Helper()
	dir, err := filepath.Abs("..")
	if err != nil {
		t.Fatal(err)
	}
	// Tests run in their package directory: deploy/ or deploy/<pkg>/.
	for range 3 {
		if b, err := os.ReadFile(filepath.Join(dir, "go.mod")); err == nil && bytes.Contains(b, []byte("module github.com/obsadapter/obsadapter\n")) {
			return dir
		}
		dir = filepath.Dir(dir)
	}
	t.Fatal("repository root (module github.com/obsadapter/obsadapter) not found above the test directory")
	return ""
}

var (
	once   sync.Once
	path   string
	output []byte
	err    error
	dir    string
)

// Build returns a static binary for GOOS=linux and the host's GOARCH, built once per test process.
// While the adapter's main package is missing or does not build, it skips the test saying why (or fails
// it when $OBSADAPTER_REQUIRE_BINARY is set).
func Build(t testing.TB) string {
	t.Helper()
	root := Root(t)
	if _, statErr := os.Stat(filepath.Join(root, "main.go")); statErr != nil {
		unavailable(t, "the adapter's main.go does not exist yet")
	}
	once.Do(func() {
		dir, err = os.MkdirTemp("", "obsadapter-bin-")
		if err != nil {
			return
		}
		path = filepath.Join(dir, "obsadapter")
		cmd := exec.Command("sh", filepath.Join(root, "deploy", "build-binary.sh"), path)
		cmd.Env = append(os.Environ(), "GOOS=linux", "GOARCH="+runtime.GOARCH, "VERSION="+Version, "REVISION=test")
		output, err = cmd.CombinedOutput()
	})
	if err != nil {
		unavailable(t, "the adapter does not build yet (deploy/build-binary.sh: "+err.Error()+"):\n"+string(output))
	}
	return path
}

// Cleanup removes the binary; call it from TestMain after m.Run.
func Cleanup() {
	if dir != "" {
		os.RemoveAll(dir)
	}
}

// Version is what Build stamps into main.version.
const Version = "0.0.0-test"

func unavailable(t testing.TB, why string) {
	t.Helper()
	if os.Getenv(RequireEnv) != "" {
		t.Fatalf("%s (and $%s is set)", why, RequireEnv)
	}
	t.Skipf("skipped: %s; set $%s to make this a failure", why, RequireEnv)
}
