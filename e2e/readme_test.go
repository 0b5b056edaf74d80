package e2e

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// readmeDemo returns the shell commands of README's "The two commands"
// section (both terminals), without comments, blank lines or the test
// commands.
func readmeDemo(t *testing.T) []string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(root, "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	s := string(b)
	start := strings.Index(s, "\n## The two commands\n")
	if start < 0 {
		t.Fatal(`README has no "## The two commands" section`)
	}
	s = s[start+1:]
	if end := strings.Index(s[3:], "\n## "); end >= 0 {
		s = s[:end+3]
	}
	var cmds []string
	in := false
	for _, line := range strings.Split(s, "\n") {
		switch {
		case strings.HasPrefix(line, "```sh"):
			in = true
		case strings.HasPrefix(line, "```"):
			in = false
		case in:
			if i := strings.Index(line, " #"); i >= 0 {
				line = line[:i]
			}
			line = strings.TrimSpace(line)
			if line == "" || strings.HasPrefix(line, "#") || strings.Contains(line, "go test") {
				continue
			}
			cmds = append(cmds, line)
		}
	}
	if len(cmds) < 5 {
		t.Fatalf("README's demo has %d commands: %q", len(cmds), cmds)
	}
	return cmds
}

// writesUnderTestdata matches a shell redirection, tee, cp or mv whose
// target is under testdata/.
var writesUnderTestdata = regexp.MustCompile(`>>?\s*["']?\S*testdata/|\btee\b[^|]*testdata/|\b(cp|mv)\b.*\s["']?\S*testdata/\S*["']?\s*$`)

// TestReadmeDemoLeavesTestdataAlone checks that README's demo neither writes
// under testdata/ (TestParseGolden reads it) nor points the daemon there (a
// user appends to the files the daemon tails), that it says the appended
// line waits for multiline_timeout, and that scripts/readme-demo.sh, which
// .ci/run runs before go test, runs the very same commands.
func TestReadmeDemoLeavesTestdataAlone(t *testing.T) {
	cmds := readmeDemo(t)
	script, err := os.ReadFile(filepath.Join(root, "scripts", "readme-demo.sh"))
	if err != nil {
		t.Fatal(err)
	}
	sawRun, sawAppend := false, false
	for _, c := range cmds {
		if writesUnderTestdata.MatchString(c) {
			t.Errorf("README's demo writes under testdata/, which the tests read: %s", c)
		}
		if strings.HasPrefix(c, "go run . run") {
			sawRun = true
			if m := regexp.MustCompile(`--include\s+(\S+)`).FindStringSubmatch(c); m == nil || strings.Contains(m[1], "testdata/") {
				t.Errorf("README's demo daemon must tail a scratch copy, not testdata/: %s", c)
			}
		}
		if strings.Contains(c, ">>") {
			sawAppend = true
		}
		if !strings.Contains(string(script), c) {
			t.Errorf("scripts/readme-demo.sh does not run README's command %q verbatim", c)
		}
	}
	if !sawRun || !sawAppend {
		t.Errorf("README's demo lost its daemon (%v) or its appended line (%v): %q", sawRun, sawAppend, cmds)
	}

	readme, _ := os.ReadFile(filepath.Join(root, "README.md"))
	if strings.Contains(string(readme), "appears at once") || !strings.Contains(string(readme), "multiline_timeout` (1s") {
		t.Error("README must say the appended line waits multiline_timeout (1s), not that it appears at once")
	}

	ci, err := os.ReadFile(filepath.Join(root, ".ci", "run"))
	if err != nil {
		t.Fatal(err)
	}
	demo := strings.Index(string(ci), "scripts/readme-demo.sh")
	test := strings.Index(string(ci), "\ngo test")
	if demo < 0 || test < 0 || demo > test {
		t.Errorf(".ci/run must run scripts/readme-demo.sh before go test (at %d, go test at %d)", demo, test)
	}
}

// goTestDir matches a `go test -race` command, optionally run in a
// directory with `(cd DIR && ...)`, and captures DIR.
var goTestDir = regexp.MustCompile(`^\(?(?:cd (\S+) && )?(?:go vet \./\.\.\. && )?(?:[A-Z_]+=\S+ )?go test -race\b`)

// TestReadmeTestCommandsAreCI checks that README's test commands and .ci/run
// test the same modules with -race, and that those are all the modules of
// the repository (every directory with a go.mod).
func TestReadmeTestCommandsAreCI(t *testing.T) {
	modules := func(name, text string) map[string]bool {
		dirs := map[string]bool{}
		for _, line := range strings.Split(text, "\n") {
			if m := goTestDir.FindStringSubmatch(strings.TrimSpace(line)); m != nil {
				dir := m[1]
				if dir == "" {
					dir = "."
				}
				dirs[dir] = true
			}
		}
		if len(dirs) == 0 {
			t.Fatalf("%s has no go test -race command", name)
		}
		return dirs
	}
	readme, err := os.ReadFile(filepath.Join(root, "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	ci, err := os.ReadFile(filepath.Join(root, ".ci", "run"))
	if err != nil {
		t.Fatal(err)
	}
	s := string(readme)
	start := strings.Index(s, "\n## The two commands\n")
	end := strings.Index(s[start+1:], "\n## ")
	if start < 0 || end < 0 {
		t.Fatal(`README has no "## The two commands" section`)
	}
	inReadme, inCI := modules("README", s[start:start+1+end]), modules(".ci/run", string(ci))
	mods, _ := filepath.Glob(filepath.Join(root, "*", "go.mod"))
	all := map[string]bool{".": true}
	for _, m := range mods {
		all[filepath.Base(filepath.Dir(m))] = true
	}
	for dir := range all {
		if !inReadme[dir] || !inCI[dir] {
			t.Errorf("module %s: tested by README's commands %v, by .ci/run %v; want both", dir, inReadme[dir], inCI[dir])
		}
	}
	for dir := range inReadme {
		if !all[dir] {
			t.Errorf("README tests %s, which is not a module", dir)
		}
	}
}
