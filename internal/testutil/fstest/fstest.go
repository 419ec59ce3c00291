//go:build linux

// Package fstest gives tests real filesystems in the states users meet: a
// small one that fills up (a tmpfs with a size limit) and a read-only one
// (a read-only bind mount, or permission bits when not root). These are the
// kernel's own ENOSPC and EROFS/EACCES, not an injected error.
//
// Mounting needs CAP_SYS_ADMIN: root, or passwordless sudo (as .ci/run
// uses for apt). Without either a test that needs a mount skips, unless
// FITBENCH_REQUIRE_MOUNT=1 (set by `make test`), where it fails instead.
package fstest

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
)

// SmallFS mounts a tmpfs of size bytes on a fresh directory and returns it;
// the mount is removed when the test ends.
func SmallFS(t testing.TB, size int64) string {
	t.Helper()
	dir := t.TempDir()
	if os.Geteuid() == 0 {
		if err := syscall.Mount("tmpfs", dir, "tmpfs", 0, fmt.Sprintf("size=%d,mode=0755", size)); err != nil {
			unavailable(t, fmt.Errorf("mount a %d-byte tmpfs on %s: %w", size, dir, err))
		}
		t.Cleanup(func() { unmount(t, dir) })
		return dir
	}
	// not root: sudo mounts it, owned by this user
	opts := fmt.Sprintf("size=%d,mode=0755,uid=%d,gid=%d", size, os.Geteuid(), os.Getegid())
	if out, err := exec.Command("sudo", "-n", "mount", "-t", "tmpfs", "-o", opts, "tmpfs", dir).CombinedOutput(); err != nil {
		unavailable(t, fmt.Errorf("sudo mount a %d-byte tmpfs on %s: %v: %s", size, dir, err, out))
	}
	t.Cleanup(func() {
		if out, err := exec.Command("sudo", "-n", "umount", "-l", dir).CombinedOutput(); err != nil {
			t.Errorf("sudo umount %s: %v: %s", dir, err, out)
		}
	})
	return dir
}

// ReadOnly makes dir (and everything under it) read-only until the test ends:
// as root, a read-only bind mount of dir onto itself, which even root cannot
// write through (EROFS); otherwise the write bits are removed (EACCES).
func ReadOnly(t testing.TB, dir string) {
	t.Helper()
	if os.Geteuid() != 0 {
		var dirs []string
		filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
			if err == nil && d.IsDir() {
				dirs = append(dirs, p)
			}
			return nil
		})
		for _, d := range dirs {
			if err := os.Chmod(d, 0o555); err != nil {
				t.Fatal(err)
			}
		}
		t.Cleanup(func() {
			for _, d := range dirs {
				os.Chmod(d, 0o755)
			}
		})
		return
	}
	if err := syscall.Mount(dir, dir, "", syscall.MS_BIND, ""); err != nil {
		unavailable(t, fmt.Errorf("bind-mount %s: %w", dir, err))
	}
	t.Cleanup(func() { unmount(t, dir) })
	if err := syscall.Mount("", dir, "", syscall.MS_BIND|syscall.MS_REMOUNT|syscall.MS_RDONLY, ""); err != nil {
		unavailable(t, fmt.Errorf("remount %s read-only: %w", dir, err))
	}
	probe := filepath.Join(dir, ".fstest-probe")
	if f, err := os.Create(probe); err == nil {
		f.Close()
		os.Remove(probe)
		t.Fatalf("%s is still writable after the read-only remount", dir)
	}
}

// Fill writes a file in dir until the filesystem is full (ENOSPC) and returns
// its path; removing it frees the space again.
func Fill(t testing.TB, dir string) string {
	t.Helper()
	p := filepath.Join(dir, "fstest-filler")
	f, err := os.OpenFile(p, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	buf := make([]byte, 1<<20)
	for {
		if _, err := f.Write(buf); err != nil {
			if errors.Is(err, syscall.ENOSPC) {
				break
			}
			t.Fatalf("filling %s: %v", dir, err)
		}
	}
	// the last partial block: write byte-sized pieces until none fits
	for n := 4096; n > 0; n /= 2 {
		for {
			if _, err := f.Write(buf[:n]); err != nil {
				break
			}
		}
	}
	return p
}

func unmount(t testing.TB, dir string) {
	if err := syscall.Unmount(dir, 0); err != nil {
		// a process still inside (a killed child's cwd) releases it shortly
		if err2 := syscall.Unmount(dir, syscall.MNT_DETACH); err2 != nil {
			t.Errorf("unmount %s: %v", dir, err)
		}
	}
}

func unavailable(t testing.TB, err error) {
	t.Helper()
	if os.Getenv("FITBENCH_REQUIRE_MOUNT") == "1" {
		t.Fatalf("FITBENCH_REQUIRE_MOUNT=1 but the test filesystem is unavailable: %v", err)
	}
	t.Skipf("test filesystem unavailable (needs CAP_SYS_ADMIN; FITBENCH_REQUIRE_MOUNT=1 makes this fail): %v", err)
}
