package main

import (
	"archive/tar"
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/layout"

	"github.com/obsadapter/obsadapter/deploy/internal/adapterbin"
	"github.com/obsadapter/obsadapter/deploy/internal/sandbox"
)

// maxImageBytes is the size budget, in decimal megabytes, for both the compressed archive and
// the unpacked filesystem.
const maxImageBytes = 25_000_000

var created = time.Date(2026, 11, 23, 0, 0, 0, 0, time.UTC)

func TestMain(m *testing.M) {
	code := m.Run()
	adapterbin.Cleanup()
	probeCleanup()
	os.Exit(code)
}

var (
	probeOnce sync.Once
	probeDir  string
	probeErr  error
	probeOut  []byte
)

// probe is a small static binary (internal/sandbox/testdata/probe) that stands in for the adapter where
// only the image's layout and permissions are under test, so those tests run before main.go exists.
func probe(t *testing.T, arch string) string {
	t.Helper()
	probeOnce.Do(func() {
		probeDir, probeErr = os.MkdirTemp("", "obsadapter-probe-")
		if probeErr != nil {
			return
		}
		for _, a := range []string{"amd64", "arm64"} {
			cmd := exec.Command("go", "build", "-trimpath", "-o", filepath.Join(probeDir, a), "./internal/sandbox/testdata/probe")
			cmd.Dir = ".."
			cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux", "GOARCH="+a)
			if probeOut, probeErr = cmd.CombinedOutput(); probeErr != nil {
				return
			}
		}
	})
	if probeErr != nil {
		t.Fatalf("building the probe: %v\n%s", probeErr, probeOut)
	}
	return filepath.Join(probeDir, arch)
}

func probeCleanup() {
	if probeDir != "" {
		os.RemoveAll(probeDir)
	}
}

func opts(binary, arch string) options {
	return options{Binary: binary, Arch: arch, Version: "1.2.3", Revision: "abc123", Created: created}
}

func mustBuild(t *testing.T, o options) v1.Image {
	t.Helper()
	img, err := build(o)
	if err != nil {
		t.Fatal(err)
	}
	return img
}

func archive(t *testing.T, img v1.Image) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := writeOCIArchive(&buf, img, "obsadapter", "1.2.3", created); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestImageConfig(t *testing.T) {
	for _, arch := range []string{"amd64", "arm64"} {
		t.Run(arch, func(t *testing.T) {
			img := mustBuild(t, opts(probe(t, arch), arch))
			cf, err := img.ConfigFile()
			if err != nil {
				t.Fatal(err)
			}
			c := cf.Config
			checks := []struct {
				name      string
				got, want any
			}{
				{"os", cf.OS, "linux"},
				{"architecture", cf.Architecture, arch},
				{"created", cf.Created.UTC(), created},
				{"user", c.User, "65532:65532"},
				{"entrypoint", c.Entrypoint, []string{"/obsadapter"}},
				{"cmd", c.Cmd, []string{"run"}},
				{"exposed ports", c.ExposedPorts, map[string]struct{}{"9725/tcp": {}}},
				{"version label", c.Labels["org.opencontainers.image.version"], "1.2.3"},
				{"revision label", c.Labels["org.opencontainers.image.revision"], "abc123"},
				{"no healthcheck", c.Healthcheck, (*v1.HealthConfig)(nil)},
			}
			for _, ck := range checks {
				if fmt.Sprint(ck.got) != fmt.Sprint(ck.want) {
					t.Errorf("%s = %v, want %v", ck.name, ck.got, ck.want)
				}
			}
		})
	}
}

func TestLayerContents(t *testing.T) {
	img := mustBuild(t, opts(probe(t, runtime.GOARCH), runtime.GOARCH))
	layers, err := img.Layers()
	if err != nil || len(layers) != 1 {
		t.Fatalf("layers = %d, %v; want exactly one", len(layers), err)
	}
	rc, err := layers[0].Uncompressed()
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	var got []string
	tr := tar.NewReader(rc)
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if !h.ModTime.Equal(created) {
			t.Errorf("%s: mtime %v, want %v", h.Name, h.ModTime, created)
		}
		got = append(got, fmt.Sprintf("%s %o %d:%d", h.Name, h.Mode, h.Uid, h.Gid))
	}
	want := []string{
		"etc/ 755 0:0",
		"etc/group 644 0:0",
		"etc/passwd 644 0:0",
		"home/ 755 0:0",
		"home/nonroot/ 700 65532:65532",
		"obsadapter 755 0:0", // owned by root: the runtime user cannot replace its own binary
		"tmp/ 1777 0:0",
		"var/ 755 0:0",
		"var/lib/ 755 0:0",
		"var/lib/obsadapter/ 700 65532:65532",
	}
	if !slices.Equal(got, want) {
		t.Errorf("layer entries:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

func TestBuildIsReproducible(t *testing.T) {
	bin := probe(t, runtime.GOARCH)
	a := archive(t, mustBuild(t, opts(bin, runtime.GOARCH)))
	b := archive(t, mustBuild(t, opts(bin, runtime.GOARCH)))
	if !bytes.Equal(a, b) {
		t.Error("two builds from the same binary gave different archives")
	}
	later := opts(bin, runtime.GOARCH)
	later.Created = created.Add(time.Second)
	d1, _ := mustBuild(t, opts(bin, runtime.GOARCH)).Digest()
	d2, _ := mustBuild(t, later).Digest()
	if d1 == d2 {
		t.Error("the creation time does not reach the image digest; it is not actually pinned")
	}
}

func TestBuildRejectsBinariesThatCannotRun(t *testing.T) {
	other := map[string]string{"amd64": "arm64", "arm64": "amd64"}[runtime.GOARCH]
	dynamic, err := exec.LookPath("true")
	if err != nil {
		t.Skip("skipped: no dynamically linked `true` to test with")
	}
	tests := []struct {
		name, binary, arch, want string
	}{
		{"wrong architecture", probe(t, runtime.GOARCH), other, "is built for"},
		{"unknown architecture", probe(t, runtime.GOARCH), "s390x", "want amd64 or arm64"},
		{"dynamically linked", dynamic, runtime.GOARCH, "dynamically linked"},
		{"not ELF", "image.go", runtime.GOARCH, "binary image.go"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := build(opts(tt.binary, tt.arch))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("build error = %v, want one containing %q", err, tt.want)
			}
		})
	}
}

// readArchive reads an archive back the way a loader does: untar, open the OCI layout, take the one image.
func readArchive(t *testing.T, data []byte) (v1.Image, map[string]string) {
	t.Helper()
	dir := t.TempDir()
	tr := tar.NewReader(bytes.NewReader(data))
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		dst := filepath.Join(dir, filepath.FromSlash(h.Name))
		if h.Typeflag == tar.TypeDir {
			if err := os.MkdirAll(dst, 0o755); err != nil {
				t.Fatal(err)
			}
			continue
		}
		b, err := io.ReadAll(tr)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(dst, b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	idx, err := layout.ImageIndexFromPath(dir)
	if err != nil {
		t.Fatal(err)
	}
	im, err := idx.IndexManifest()
	if err != nil {
		t.Fatal(err)
	}
	if len(im.Manifests) != 1 {
		t.Fatalf("index holds %d manifests, want 1", len(im.Manifests))
	}
	img, err := idx.Image(im.Manifests[0].Digest)
	if err != nil {
		t.Fatal(err)
	}
	return img, im.Manifests[0].Annotations
}

func TestArchiveRoundTrip(t *testing.T) {
	img := mustBuild(t, opts(probe(t, runtime.GOARCH), runtime.GOARCH))
	got, ann := readArchive(t, archive(t, img))
	want, _ := img.Digest()
	if d, _ := got.Digest(); d != want {
		t.Errorf("digest after round trip = %v, want %v", d, want)
	}
	if ann["org.opencontainers.image.ref.name"] != "1.2.3" || ann["io.containerd.image.name"] != "obsadapter:1.2.3" {
		t.Errorf("index annotations = %v", ann)
	}
	if mt, _ := got.MediaType(); mt != "application/vnd.oci.image.manifest.v1+json" {
		t.Errorf("manifest media type = %s", mt)
	}
}

// unpackForRun unpacks img and prepares a state dir owned by the runtime user, as an emptyDir with
// fsGroup or a fresh volume would be.
func unpackForRun(t *testing.T, img v1.Image) sandbox.Config {
	t.Helper()
	c := sandbox.Config{Rootfs: t.TempDir(), StateDir: t.TempDir(), StateMount: stateDir, UID: runtimeUID, GID: runtimeUID}
	if err := sandbox.Unpack(img, c.Rootfs); err != nil {
		t.Fatal(err)
	}
	if err := os.Chown(c.StateDir, runtimeUID, runtimeUID); err != nil {
		t.Fatal(err)
	}
	// t.TempDir is 0700 root: the chroot's own paths are checked against the runtime user.
	if err := os.Chmod(c.Rootfs, 0o755); err != nil {
		t.Fatal(err)
	}
	return c
}

func TestRootfsReadOnlyExceptState(t *testing.T) {
	sandbox.Require(t)
	c := unpackForRun(t, mustBuild(t, opts(probe(t, runtime.GOARCH), runtime.GOARCH)))
	var out bytes.Buffer
	cmd := exec.Command(binaryPath, "/", "/tmp", "/etc", "/home/nonroot", stateDir)
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := sandbox.Start(cmd, c); err != nil {
		t.Fatal(err)
	}
	if err := cmd.Wait(); err != nil {
		t.Fatalf("probe: %v\n%s", err, &out)
	}
	want := "uid 65532 gid 65532 groups []\n" +
		"/ open /probe-write: read-only file system\n" +
		"/tmp open /tmp/probe-write: read-only file system\n" +
		"/etc open /etc/probe-write: read-only file system\n" +
		"/home/nonroot open /home/nonroot/probe-write: read-only file system\n" +
		stateDir + " ok\n"
	if out.String() != want {
		t.Errorf("probe output:\n%s\nwant:\n%s", &out, want)
	}
	if _, err := os.Stat(filepath.Join(c.StateDir, "probe-write")); err != nil {
		t.Errorf("the write to the state dir did not land in the mounted directory: %v", err)
	}
}

// TestPodSourcePermissions backs the choice in kubernetes/pod-source.yaml: the kubelet's log files
// are root:root 0640 (containerd) or 0600; UID 65532 with primary group 0 and no capabilities reads
// the first and not the second, and without group 0 it reads neither.
func TestPodSourcePermissions(t *testing.T) {
	sandbox.Require(t)
	c := unpackForRun(t, mustBuild(t, opts(probe(t, runtime.GOARCH), runtime.GOARCH)))
	dir := "/var/log/pods/default_demo-0_0000/app"
	if err := os.MkdirAll(filepath.Join(c.Rootfs, dir), 0o755); err != nil {
		t.Fatal(err)
	}
	for name, mode := range map[string]os.FileMode{"0.log": 0o640, "1.log": 0o600} {
		if err := os.WriteFile(filepath.Join(c.Rootfs, dir, name), []byte("line\n"), mode); err != nil {
			t.Fatal(err)
		}
	}
	tests := []struct {
		name string
		gid  uint32
		want string
	}{
		{"runAsGroup 0", 0, "uid 65532 gid 0 groups []\n" +
			"read " + dir + "/0.log ok\n" +
			"read " + dir + "/1.log open " + dir + "/1.log: permission denied\n"},
		{"runAsGroup 65532", runtimeUID, "uid 65532 gid 65532 groups []\n" +
			"read " + dir + "/0.log open " + dir + "/0.log: permission denied\n" +
			"read " + dir + "/1.log open " + dir + "/1.log: permission denied\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := c
			c.GID = tt.gid
			var out bytes.Buffer
			cmd := exec.Command(binaryPath, "read:"+dir+"/0.log", "read:"+dir+"/1.log")
			cmd.Stdout, cmd.Stderr = &out, &out
			if err := sandbox.Start(cmd, c); err != nil {
				t.Fatal(err)
			}
			if err := cmd.Wait(); err != nil {
				t.Fatalf("probe: %v\n%s", err, &out)
			}
			if out.String() != tt.want {
				t.Errorf("probe output:\n%s\nwant:\n%s", &out, tt.want)
			}
		})
	}
}

func TestDockerfileMatchesImage(t *testing.T) {
	b, err := os.ReadFile("../../Dockerfile")
	if err != nil {
		t.Fatal(err)
	}
	// Join continuation lines, then keep the final stage's instructions.
	text := regexp.MustCompile(`\\\n\s*`).ReplaceAllString(string(b), " ")
	var stages [][]string
	sc := bufio.NewScanner(strings.NewReader(text))
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		if strings.HasPrefix(line, "FROM ") {
			stages = append(stages, nil)
		}
		if len(stages) > 0 {
			stages[len(stages)-1] = append(stages[len(stages)-1], line)
		}
	}
	if len(stages) < 2 {
		t.Fatalf("Dockerfile has %d stages, want a build stage and a final stage", len(stages))
	}
	build, final := strings.Join(stages[0], "\n"), strings.Join(stages[len(stages)-1], "\n")
	for _, want := range []string{"deploy/build-binary.sh", "GOOS=${TARGETOS}", "GOARCH=${TARGETARCH}", "--platform=$BUILDPLATFORM"} {
		if !strings.Contains(build, want) {
			t.Errorf("build stage lacks %q", want)
		}
	}
	ej, _ := json.Marshal(entrypoint)
	cj, _ := json.Marshal(cmd)
	for _, want := range []string{
		"FROM gcr.io/distroless/static-debian12:nonroot",
		"USER " + userSpec,
		"EXPOSE " + strings.TrimSuffix(metricPort, "/tcp"),
		"ENTRYPOINT " + strings.ReplaceAll(string(ej), ",", ", "),
		"CMD " + strings.ReplaceAll(string(cj), ",", ", "),
		"COPY --from=build /out/obsadapter " + binaryPath,
		"--chown=65532:65532 /out/state " + stateDir,
	} {
		if !strings.Contains(final, want) {
			t.Errorf("final stage lacks %q", want)
		}
	}
	if regexp.MustCompile(`(?m)^\s*HEALTHCHECK`).MatchString(text) {
		t.Error("Dockerfile has a HEALTHCHECK; Kubernetes probes do that job")
	}
	var dockerLabels []string
	for _, m := range regexp.MustCompile(`(org\.opencontainers\.image\.[a-z]+)=`).FindAllStringSubmatch(final, -1) {
		dockerLabels = append(dockerLabels, m[1])
	}
	slices.Sort(dockerLabels)
	if goLabels := slices.Sorted(maps.Keys(labels(options{}))); !slices.Equal(dockerLabels, goLabels) {
		t.Errorf("Dockerfile labels %v, image builder labels %v", dockerLabels, goLabels)
	}
}

func TestAdapterImage(t *testing.T) {
	bin := adapterbin.Build(t)
	img := mustBuild(t, options{Binary: bin, Arch: runtime.GOARCH, Version: adapterbin.Version, Revision: "test", Created: created})
	data := archive(t, img)
	layers, err := img.Layers()
	if err != nil {
		t.Fatal(err)
	}
	rc, err := layers[0].Uncompressed()
	if err != nil {
		t.Fatal(err)
	}
	unpacked, err := io.Copy(io.Discard, rc)
	rc.Close()
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("image archive %d bytes, unpacked filesystem %d bytes", len(data), unpacked)
	if len(data) >= maxImageBytes || unpacked >= maxImageBytes {
		t.Errorf("image is %d bytes compressed, %d unpacked; the budget is %d", len(data), unpacked, maxImageBytes)
	}

	sandbox.Require(t)
	c := unpackForRun(t, img)
	// A ConfigMap mount and the app's shared log volume, placed before the tree turns read-only.
	port := freePort(t)
	config := fmt.Sprintf(`state_dir: %s
log: {level: info, format: json}
http: {listen: "127.0.0.1:%d"}
shutdown: {grace_period: 1s, drain_timeout: 5s}
sources:
  - name: app
    type: file
    include: ["/var/log/app/*.log"]
    start_at: beginning
exporters:
  stdout: {enabled: false}
`, stateDir, port)
	for path, body := range map[string]string{
		"etc/obsadapter/config.yaml": config,
		"var/log/app/app.log":        `{"level":"info","msg":"hello from the app"}` + "\n",
	} {
		dst := filepath.Join(c.Rootfs, path)
		if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(dst, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}

	t.Run("version", func(t *testing.T) {
		out := runInImage(t, c, "version")
		if !strings.Contains(out, adapterbin.Version) {
			t.Errorf("version output %q lacks %q", out, adapterbin.Version)
		}
	})
	t.Run("check-config", func(t *testing.T) {
		runInImage(t, c, "check-config", "--config", "/etc/obsadapter/config.yaml")
	})
	t.Run("run until SIGTERM", func(t *testing.T) {
		src, _ := os.ReadFile(filepath.Join(adapterbin.Root(t), "main.go"))
		if !bytes.Contains(src, []byte(`"run"`)) {
			t.Skip("skipped: main.go has no run subcommand yet")
		}
		var out syncBuffer
		cmd := exec.Command(binaryPath, "run", "--config", "/etc/obsadapter/config.yaml")
		cmd.Env = []string{"POD_NAME=demo-0", "POD_NAMESPACE=default", "POD_UID=00000000-0000-0000-0000-000000000000"}
		cmd.Stdout, cmd.Stderr = &out, &out
		if err := sandbox.Start(cmd, c); err != nil {
			t.Fatal(err)
		}
		exited := make(chan error, 1)
		go func() { exited <- cmd.Wait() }()
		url := fmt.Sprintf("http://127.0.0.1:%d/readyz", port)
		if err := waitReady(url, exited, 30*time.Second); err != nil {
			cmd.Process.Kill()
			t.Fatalf("%v\nadapter output:\n%s", err, out.String())
		}
		if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
			t.Fatal(err)
		}
		select {
		case err := <-exited:
			if err != nil {
				t.Fatalf("after SIGTERM: %v (want exit 0)\nadapter output:\n%s", err, out.String())
			}
		case <-time.After(30 * time.Second):
			cmd.Process.Kill()
			t.Fatalf("still running 30s after SIGTERM\nadapter output:\n%s", out.String())
		}
		entries, _ := os.ReadDir(c.StateDir)
		if len(entries) == 0 {
			t.Errorf("no checkpoint in the state dir after a clean shutdown\nadapter output:\n%s", out.String())
		}
	})
}

// runInImage runs the image's binary with args to completion and returns its output.
func runInImage(t *testing.T, c sandbox.Config, args ...string) string {
	t.Helper()
	var out bytes.Buffer
	cmd := exec.Command(binaryPath, args...)
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := sandbox.Start(cmd, c); err != nil {
		t.Fatal(err)
	}
	if err := cmd.Wait(); err != nil {
		t.Fatalf("obsadapter %s: %v\n%s", strings.Join(args, " "), err, &out)
	}
	return out.String()
}

func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// waitReady polls url until it answers 200, the process exits, or the deadline passes.
func waitReady(url string, exited <-chan error, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	last := errors.New("no answer yet")
	for {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		if resp, err := http.DefaultClient.Do(req); err != nil {
			last = err
		} else {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
			last = fmt.Errorf("status %s", resp.Status)
		}
		select {
		case err := <-exited:
			return fmt.Errorf("exited before %s answered 200: %v", url, err)
		case <-ctx.Done():
			return fmt.Errorf("%s not ready after %v: %v", url, timeout, last)
		case <-tick.C:
		}
	}
}

// syncBuffer collects a child's output while the test reads it.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
