package collector

import (
	"os"
	"path/filepath"
	"slices"
	"testing"
)

// The kubelet's /var/log/containers/<pod>_<ns>_<ctr>-<id>.log is a symlink to
// /var/log/pods/.../<ctr>/<restart>.log; a container restart retargets it.
// The old target is drained, the new one read from its beginning.
func TestTailSymlinkRetargeted(t *testing.T) {
	dir := t.TempDir()
	pods, containers := filepath.Join(dir, "pods"), filepath.Join(dir, "containers")
	os.MkdirAll(pods, 0o755)
	os.MkdirAll(containers, 0o755)
	link := filepath.Join(containers, "web_shop_app-abc.log")
	appendLines(t, filepath.Join(pods, "0.log"), "run0 line1")
	if err := os.Symlink(filepath.Join(pods, "0.log"), link); err != nil {
		t.Fatal(err)
	}
	h := newTailHarness(t, dir, func(c *SourceConfig) { c.Include = []string{filepath.Join(containers, "*.log")} })
	expectLines(t, h.step(), []string{"run0 line1"})

	appendLines(t, filepath.Join(pods, "0.log"), "run0 last words")
	appendLines(t, filepath.Join(pods, "1.log"), "run1 line1")
	os.Remove(link)
	os.Symlink(filepath.Join(pods, "1.log"), link)
	got := h.step()
	slices.Sort(got)
	expectLines(t, got, []string{"run0 last words", "run1 line1"})
	for _, st := range h.status.tracks {
		if snap := st.snapshot(); snap.Path != link {
			t.Errorf("records name the path that matched (%s), not the link target: got %s", link, snap.Path)
		}
	}
}
