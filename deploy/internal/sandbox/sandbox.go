// Package sandbox runs a binary from an unpacked container image the way a locked-down pod runs it:
// chrooted into the image's filesystem, as an unprivileged UID, with the root filesystem read-only and
// only the state directory writable (readOnlyRootFilesystem plus an emptyDir). It needs root, for the
// mount namespace, the bind mounts and the chroot; tests skip without it.
package sandbox

import (
	"archive/tar"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
)

// Require skips the test unless this process can build the sandbox: root, allowed to create a mount
// namespace (a container without CAP_SYS_ADMIN is not).
func Require(t testing.TB) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("skipped: running the image's filesystem read-only as UID 65532 needs root (mount namespace, bind mounts, chroot); CI runs as root")
	}
	errc := make(chan error, 1)
	go func() {
		runtime.LockOSThread() // never unlocked: the thread leaves with its own mount namespace
		errc <- syscall.Unshare(syscall.CLONE_NEWNS)
	}()
	if err := <-errc; err != nil {
		t.Skipf("skipped: cannot create a mount namespace here (%v); the read-only run needs CAP_SYS_ADMIN", err)
	}
}

// Unpack writes the image's flattened filesystem into dir, keeping modes and owners.
func Unpack(img v1.Image, dir string) error {
	rc := mutate.Extract(img)
	defer rc.Close()
	tr := tar.NewReader(rc)
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("unpack: %w", err)
		}
		name := filepath.Clean(h.Name)
		if !filepath.IsLocal(name) {
			return fmt.Errorf("unpack: entry %q escapes the root", h.Name)
		}
		dst := filepath.Join(dir, name)
		mode := h.FileInfo().Mode()
		switch h.Typeflag {
		case tar.TypeDir:
			if err := os.MkdirAll(dst, 0o700); err != nil {
				return fmt.Errorf("unpack: %w", err)
			}
		case tar.TypeReg:
			f, err := os.OpenFile(dst, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
			if err != nil {
				return fmt.Errorf("unpack: %w", err)
			}
			_, err = io.Copy(f, tr)
			if cerr := f.Close(); err == nil {
				err = cerr
			}
			if err != nil {
				return fmt.Errorf("unpack %s: %w", h.Name, err)
			}
		default:
			return fmt.Errorf("unpack: entry %q has type %q; the image holds only directories and regular files", h.Name, h.Typeflag)
		}
		if err := os.Lchown(dst, h.Uid, h.Gid); err != nil {
			return fmt.Errorf("unpack: %w", err)
		}
		// After chown, which clears set-id bits; Chmod also sets the sticky bit MkdirAll cannot.
		if err := os.Chmod(dst, mode); err != nil {
			return fmt.Errorf("unpack: %w", err)
		}
	}
}

// Config says where the image lives and what the process may write.
type Config struct {
	Rootfs     string // the unpacked image
	StateDir   string // a host directory, mounted read-write at StateMount
	StateMount string // absolute path inside the image, e.g. /var/lib/obsadapter
	UID, GID   uint32
}

// Start starts cmd (its Path is a path inside the image) in a private mount namespace where Rootfs
// is bind-mounted read-only, StateDir is mounted over StateMount read-write and /proc is mounted,
// chrooted into Rootfs as UID:GID with no supplementary groups. The mounts vanish with the process.
func Start(cmd *exec.Cmd, c Config) error {
	// The container runtime provides /proc; create its mount point before the tree turns read-only.
	if err := os.MkdirAll(filepath.Join(c.Rootfs, "proc"), 0o555); err != nil {
		return err
	}
	errc := make(chan error, 1)
	go func() {
		// Mount namespaces belong to threads: unshare on a locked thread and fork from it. The thread is
		// never unlocked, so the runtime discards it instead of reusing it with the wrong namespace.
		runtime.LockOSThread()
		errc <- startLocked(cmd, c)
	}()
	return <-errc
}

func startLocked(cmd *exec.Cmd, c Config) error {
	if err := syscall.Unshare(syscall.CLONE_NEWNS); err != nil {
		return fmt.Errorf("unshare mount namespace: %w", err)
	}
	mounts := []struct {
		src, dst, fstype string
		flags            uintptr
	}{
		{"", "/", "", syscall.MS_REC | syscall.MS_PRIVATE}, // nothing below propagates to the host
		{c.Rootfs, c.Rootfs, "", syscall.MS_BIND | syscall.MS_REC},
		{"", c.Rootfs, "", syscall.MS_BIND | syscall.MS_REMOUNT | syscall.MS_RDONLY},
		{c.StateDir, filepath.Join(c.Rootfs, c.StateMount), "", syscall.MS_BIND},
		{"proc", filepath.Join(c.Rootfs, "proc"), "proc", syscall.MS_NOSUID | syscall.MS_NODEV | syscall.MS_NOEXEC},
	}
	for _, m := range mounts {
		if err := syscall.Mount(m.src, m.dst, m.fstype, m.flags, ""); err != nil {
			return fmt.Errorf("mount %s on %s: %w", m.src, m.dst, err)
		}
	}
	if !strings.HasPrefix(cmd.Path, "/") {
		return fmt.Errorf("sandbox: command path %q must be absolute inside the image", cmd.Path)
	}
	cmd.SysProcAttr = &syscall.SysProcAttr{
		Chroot:     c.Rootfs,
		Credential: &syscall.Credential{Uid: c.UID, Gid: c.GID, Groups: []uint32{}},
	}
	if cmd.Dir == "" {
		cmd.Dir = "/"
	}
	return cmd.Start()
}
