package otlpe2e

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// binary is the real obsadapter, built once from the repository root with
// the adapter's own go.mod: the collector modules this test module needs
// never enter it.
var binary string

// root is the repository root, relative to otlpe2e/.
const root = ".."

// version is stamped into the binary: the instrumentation scope's version.
const version = "0.0.0-otlpe2e"

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "obsadapter-otlpe2e")
	if err != nil {
		panic(err)
	}
	binary = filepath.Join(dir, "obsadapter")
	build := exec.Command("go", "build", "-ldflags", "-X main.version="+version, "-o", binary, ".")
	build.Dir = root
	if out, err := build.CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "building obsadapter: %v\n%s", err, out)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}
