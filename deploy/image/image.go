package main

import (
	"archive/tar"
	"bytes"
	"debug/elf"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// The image's fixed facts. The Dockerfile states the same ones; image_test.go checks that they agree.
const (
	binaryPath = "/obsadapter"
	stateDir   = "/var/lib/obsadapter"
	runtimeUID = 65532
	userSpec   = "65532:65532"
	metricPort = "9725/tcp"
)

var (
	entrypoint = []string{binaryPath}
	cmd        = []string{"run"}
)

// options describe one image; main fills them from flags.
type options struct {
	Binary   string    // the static linux binary to ship
	Arch     string    // amd64 | arm64
	Version  string    // org.opencontainers.image.version and main.version of the binary
	Revision string    // org.opencontainers.image.revision
	Created  time.Time // every timestamp in the image, so equal inputs give an equal digest
}

// labels are the OCI annotations of the image config, the same keys as the Dockerfile's LABEL.
func labels(o options) map[string]string {
	return map[string]string{
		"org.opencontainers.image.title":         "obsadapter",
		"org.opencontainers.image.description":   "Log and process adapter sidecar: tails any log format, serves Prometheus metrics, forwards to Fluentd",
		"org.opencontainers.image.source":        "https://github.com/obsadapter/obsadapter",
		"org.opencontainers.image.documentation": "https://github.com/obsadapter/obsadapter/blob/main/docs/kubernetes.md",
		"org.opencontainers.image.version":       o.Version,
		"org.opencontainers.image.revision":      o.Revision,
	}
}

var elfMachine = map[string]elf.Machine{"amd64": elf.EM_X86_64, "arm64": elf.EM_AARCH64}

// checkBinary refuses a binary that would not run in an image with nothing but itself: the wrong
// architecture for the platform the image claims, or a dynamically linked one (it would need a loader
// and libc that the image does not have).
func checkBinary(path, arch string) error {
	want, ok := elfMachine[arch]
	if !ok {
		return fmt.Errorf("arch %q: want amd64 or arm64", arch)
	}
	f, err := elf.Open(path)
	if err != nil {
		return fmt.Errorf("binary %s: %w", path, err)
	}
	defer f.Close()
	if f.Machine != want {
		return fmt.Errorf("binary %s is built for %v, the image is linux/%s", path, f.Machine, arch)
	}
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			return fmt.Errorf("binary %s is dynamically linked; build it with deploy/build-binary.sh (CGO_ENABLED=0)", path)
		}
	}
	return nil
}

// rootfsTar is the image's only layer: the binary, the passwd and group entries that name 65532,
// and the directories the binary may write to. Entries are in a fixed order with fixed times and
// owners so the layer's digest depends only on the binary.
func rootfsTar(binary []byte, mtime time.Time) ([]byte, error) {
	type entry struct {
		name     string
		mode     int64
		uid      int
		typeflag byte
		body     []byte
	}
	const passwd = "root:x:0:0:root:/root:/sbin/nologin\nnonroot:x:65532:65532:nonroot:/home/nonroot:/sbin/nologin\n"
	const group = "root:x:0:\nnonroot:x:65532:\n"
	entries := []entry{
		{name: "etc/", mode: 0o755, typeflag: tar.TypeDir},
		{name: "etc/group", mode: 0o644, typeflag: tar.TypeReg, body: []byte(group)},
		{name: "etc/passwd", mode: 0o644, typeflag: tar.TypeReg, body: []byte(passwd)},
		{name: "home/", mode: 0o755, typeflag: tar.TypeDir},
		{name: "home/nonroot/", mode: 0o700, uid: runtimeUID, typeflag: tar.TypeDir},
		{name: "obsadapter", mode: 0o755, typeflag: tar.TypeReg, body: binary},
		{name: "tmp/", mode: 0o1777, typeflag: tar.TypeDir},
		{name: "var/", mode: 0o755, typeflag: tar.TypeDir},
		{name: "var/lib/", mode: 0o755, typeflag: tar.TypeDir},
		{name: "var/lib/obsadapter/", mode: 0o700, uid: runtimeUID, typeflag: tar.TypeDir},
	}
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, e := range entries {
		name := map[int]string{0: "root", runtimeUID: "nonroot"}[e.uid]
		h := &tar.Header{
			Typeflag: e.typeflag, Name: e.name, Mode: e.mode, Size: int64(len(e.body)),
			Uid: e.uid, Gid: e.uid, Uname: name, Gname: name,
			ModTime: mtime, Format: tar.FormatPAX,
		}
		if err := tw.WriteHeader(h); err != nil {
			return nil, fmt.Errorf("layer entry %s: %w", e.name, err)
		}
		if _, err := tw.Write(e.body); err != nil {
			return nil, fmt.Errorf("layer entry %s: %w", e.name, err)
		}
	}
	if err := tw.Close(); err != nil {
		return nil, fmt.Errorf("layer: %w", err)
	}
	return buf.Bytes(), nil
}

// build assembles the image from scratch.
func build(o options) (v1.Image, error) {
	if err := checkBinary(o.Binary, o.Arch); err != nil {
		return nil, err
	}
	bin, err := os.ReadFile(o.Binary)
	if err != nil {
		return nil, fmt.Errorf("binary: %w", err)
	}
	created := o.Created.UTC()
	layerTar, err := rootfsTar(bin, created)
	if err != nil {
		return nil, err
	}
	layer, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) {
		return io.NopCloser(bytes.NewReader(layerTar)), nil
	}, tarball.WithMediaType(types.OCILayer))
	if err != nil {
		return nil, fmt.Errorf("layer: %w", err)
	}

	img := mutate.ConfigMediaType(mutate.MediaType(empty.Image, types.OCIManifestSchema1), types.OCIConfigJSON)
	img, err = mutate.Append(img, mutate.Addendum{
		Layer:     layer,
		MediaType: types.OCILayer,
		History:   v1.History{Created: v1.Time{Time: created}, CreatedBy: "deploy/image", Comment: "obsadapter " + o.Version},
	})
	if err != nil {
		return nil, fmt.Errorf("append layer: %w", err)
	}
	cf, err := img.ConfigFile()
	if err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	cf = cf.DeepCopy()
	cf.OS = "linux"
	cf.Architecture = o.Arch
	cf.Created = v1.Time{Time: created}
	cf.Config = v1.Config{
		User:         userSpec,
		Entrypoint:   entrypoint,
		Cmd:          cmd,
		ExposedPorts: map[string]struct{}{metricPort: {}},
		Env:          []string{"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"},
		WorkingDir:   "/",
		Labels:       labels(o),
		StopSignal:   "SIGTERM",
	}
	img, err = mutate.ConfigFile(img, cf)
	if err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	return img, nil
}

// writeOCIArchive writes img as a tar of an OCI image layout (what `skopeo copy oci-archive:…`,
// `podman load` and `docker load` read). The index annotations carry the name and tag those tools
// give the loaded image.
func writeOCIArchive(w io.Writer, img v1.Image, name, tag string, mtime time.Time) error {
	dir, err := os.MkdirTemp("", "obsadapter-image-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	p, err := layout.Write(dir, empty.Index)
	if err != nil {
		return fmt.Errorf("oci layout: %w", err)
	}
	err = p.AppendImage(img, layout.WithAnnotations(map[string]string{
		"org.opencontainers.image.ref.name": tag,
		"io.containerd.image.name":          name + ":" + tag,
	}))
	if err != nil {
		return fmt.Errorf("oci layout: %w", err)
	}
	return tarDir(w, dir, mtime)
}

// tarDir writes the files under dir in lexical order with fixed metadata, so the archive's bytes depend
// only on the layout's contents.
func tarDir(w io.Writer, dir string, mtime time.Time) error {
	tw := tar.NewWriter(w)
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || path == dir {
			return err
		}
		rel, err := filepath.Rel(dir, path)
		if err != nil {
			return err
		}
		h := &tar.Header{Name: filepath.ToSlash(rel), ModTime: mtime, Mode: 0o644, Format: tar.FormatPAX}
		if d.IsDir() {
			h.Typeflag, h.Name, h.Mode = tar.TypeDir, h.Name+"/", 0o755
			return tw.WriteHeader(h)
		}
		if !d.Type().IsRegular() {
			return fmt.Errorf("%s: not a regular file", rel)
		}
		f, err := os.Open(path)
		if err != nil {
			return err
		}
		defer f.Close()
		st, err := f.Stat()
		if err != nil {
			return err
		}
		h.Typeflag, h.Size = tar.TypeReg, st.Size()
		if err := tw.WriteHeader(h); err != nil {
			return err
		}
		_, err = io.Copy(tw, f)
		return err
	})
	if err != nil {
		return fmt.Errorf("archive: %w", err)
	}
	if err := tw.Close(); err != nil {
		return fmt.Errorf("archive: %w", err)
	}
	return nil
}
