package vmimage

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/creack/pty"
	"golang.org/x/sys/unix"
)

// helperTmpfsEnv, when set, makes the test binary a helper instead of
// running tests (see tmpfsHelper).
const helperTmpfsEnv = "VMIMAGE_TEST_TMPFS_FETCH"

func TestMain(m *testing.M) {
	if arg := os.Getenv(helperTmpfsEnv); arg != "" {
		os.Exit(tmpfsHelper(arg))
	}
	os.Exit(m.Run())
}

// tmpfsHelper runs in a mount namespace of its own (unshare): it mounts a
// 1 MiB tmpfs, fetches "<url> <checksum>" into a cache on it, and prints
// the error and then every file the cache keeps, one per line.
func tmpfsHelper(arg string) int {
	rawURL, checksum, _ := strings.Cut(arg, " ")
	dir, err := os.MkdirTemp("", "vmimage-tmpfs-")
	if err != nil {
		fmt.Println(err)
		return 1
	}
	defer os.RemoveAll(dir)
	if err := unix.Mount("tmpfs", dir, "tmpfs", 0, "size=1m"); err != nil {
		fmt.Println("mount tmpfs:", err)
		return 1
	}
	defer unix.Unmount(dir, 0)
	sum, err := ParseChecksum(checksum)
	if err != nil {
		fmt.Println(err)
		return 1
	}
	cache := filepath.Join(dir, "cache", "images")
	_, err = NewFetcher(cache, Options{}).Fetch(context.Background(), Source{URL: rawURL, Checksum: sum})
	fmt.Printf("error: %v\n", err)
	_ = filepath.WalkDir(cache, func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() && d.Name() != lockFile {
			fmt.Printf("kept: %s\n", p)
		}
		return nil
	})
	return 0
}

// TestFetchNoSpace fetches into a real, full file system: a 1 MiB tmpfs,
// mounted by this test binary re-run in a mount namespace of its own
// (unshare --mount; for a user other than root, in a user namespace too), so
// nothing is mounted on the host.
func TestFetchNoSpace(t *testing.T) {
	unshare, err := exec.LookPath("unshare")
	if err != nil {
		t.Fatalf("unshare (util-linux) is needed to mount a tmpfs of the test's own: %v", err)
	}
	img := image(3 << 20)
	s := newServer(t)
	s.set("/sized.img", img)
	s.set("/chunked.img", img)
	s.edit(func() { s.chunked["/chunked.img"] = true })
	for _, tc := range []struct{ name, path, errHas string }{
		{"the server's size is checked first", "/sized.img", "the image needs 3.0 MiB, 1.0 MiB is free"},
		{"the disk fills up during a download without a size", "/chunked.img", "not enough disk space in "},
	} {
		t.Run(tc.name, func(t *testing.T) {
			args := []string{"--mount", os.Args[0]}
			if os.Geteuid() != 0 {
				args = append([]string{"--user", "--map-root-user"}, args...)
			}
			cmd := exec.Command(unshare, args...)
			cmd.Env = append(os.Environ(), helperTmpfsEnv+"="+s.URL+tc.path+" sha256:"+sum256(img))
			out, err := cmd.CombinedOutput()
			if err != nil {
				t.Fatalf("the tmpfs helper: %v\n%s", err, out)
			}
			t.Logf("%s", out)
			lines := strings.Split(strings.TrimSpace(string(out)), "\n")
			if !strings.HasPrefix(lines[0], "error: ") || !strings.Contains(lines[0], tc.errHas) {
				t.Errorf("the fetch onto a full disk printed %q, want an error with %q", lines[0], tc.errHas)
			}
			if len(lines) > 1 {
				t.Errorf("the cache keeps files after a fetch that did not fit: %q", lines[1:])
			}
		})
	}
}

// TestFetchCancel: a fetch cancelled mid-transfer (Ctrl-C) keeps nothing.
func TestFetchCancel(t *testing.T) {
	img := image(500_000)
	s := newServer(t)
	s.set("/x.img", img)
	s.set("/SHA256SUMS", []byte(sum256(img)+"  x.img\n"))
	s.edit(func() { s.stall["/x.img"] = 100_000 })
	cache := t.TempDir()
	pr, pw := io.Pipe()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() {
		_, err := NewFetcher(cache, Options{Progress: pw}).Fetch(ctx, Source{URL: s.URL + "/x.img"})
		_ = pw.Close()
		done <- err
	}()
	// The first progress line is written once the transfer has begun.
	lines := bufio.NewScanner(pr)
	lines.Scan()
	go func() {
		for lines.Scan() {
		}
	}()
	cancel()
	err := <-done
	if !errors.Is(err, ErrInterrupted) || !errors.Is(err, context.Canceled) {
		t.Fatalf("a cancelled Fetch = %v, want ErrInterrupted and context.Canceled", err)
	}
	assertNothingTrusted(t, cache)
}

// TestFetchTerminal: on a terminal the progress is a bar, redrawn on one
// line, that ends at 100%.
func TestFetchTerminal(t *testing.T) {
	ptmx, tty, err := pty.Open()
	if err != nil {
		t.Fatal(err)
	}
	defer ptmx.Close()
	if err := pty.Setsize(tty, &pty.Winsize{Rows: 24, Cols: 100}); err != nil {
		t.Fatal(err)
	}
	var screen bytes.Buffer
	read := make(chan struct{})
	go func() {
		_, _ = io.Copy(&screen, ptmx)
		close(read)
	}()
	img := image(2 << 20)
	s := newServer(t)
	s.set("/debian.qcow2", img)
	s.set("/SHA256SUMS", []byte(sum256(img)+"  debian.qcow2\n"))
	_, err = NewFetcher(t.TempDir(), Options{Progress: tty}).Fetch(context.Background(), Source{URL: s.URL + "/debian.qcow2"})
	_ = tty.Close()
	if err != nil {
		t.Fatal(err)
	}
	select {
	case <-read:
	case <-time.After(10 * time.Second):
		t.Fatal("the terminal's output did not end")
	}
	out := screen.String()
	t.Logf("%q", out)
	for _, want := range []string{"Downloading debian.qcow2 (2.0 MiB)", "debian.qcow2", "100%", "\r", "Verified debian.qcow2"} {
		if !strings.Contains(out, want) {
			t.Errorf("the terminal shows %q, want %q in it", out, want)
		}
	}
	if strings.Contains(out, "  25% (") {
		t.Errorf("the terminal got the plain progress lines: %q", out)
	}
}

func TestLineWriter(t *testing.T) {
	var got []string
	w := LineWriter(func(line string) { got = append(got, line) })
	for _, chunk := range []string{"Down", "loading x\n  25%", " (1 of 4)\r\n\n", "partial"} {
		if n, err := io.WriteString(w, chunk); n != len(chunk) || err != nil {
			t.Fatalf("Write = %d, %v", n, err)
		}
	}
	want := []string{"Downloading x", "  25% (1 of 4)"}
	if strings.Join(got, "|") != strings.Join(want, "|") {
		t.Errorf("lines %q, want %q (a partial line waits for its end)", got, want)
	}
	// Fetch through a LineWriter: the plain lines, one call each.
	img := image(4000)
	s := newServer(t)
	s.set("/x.img", img)
	s.set("/SHA256SUMS", []byte(sum256(img)+"  x.img\n"))
	got = nil
	w = LineWriter(func(line string) { got = append(got, line) })
	if _, err := NewFetcher(t.TempDir(), Options{Progress: w}).Fetch(context.Background(), Source{URL: s.URL + "/x.img"}); err != nil {
		t.Fatal(err)
	}
	if len(got) != 5 || !strings.HasPrefix(got[0], "Downloading x.img") || got[2] != "  50% (2.0 KiB of 3.9 KiB)" || !strings.HasPrefix(got[4], "Verified x.img") {
		t.Errorf("lines %q, want Downloading, three quarters, Verified", got)
	}
}

// TestFetchStalled: a server that stops sending ends the fetch once
// nothing has arrived for the stall timeout, keeping nothing.
func TestFetchStalled(t *testing.T) {
	img := image(300_000)
	s := newServer(t)
	s.set("/x.img", img)
	s.set("/SHA256SUMS", []byte(sum256(img)+"  x.img\n"))
	s.edit(func() { s.stall["/x.img"] = 100_000 })
	cache := t.TempDir()
	f := NewFetcher(cache, Options{})
	f.stallTimeout = 300 * time.Millisecond
	_, err := f.Fetch(context.Background(), Source{URL: s.URL + "/x.img"})
	if !errors.Is(err, ErrInterrupted) || !strings.Contains(err.Error(), "no data for 300ms; nothing was kept") {
		t.Fatalf("a stalled Fetch = %v, want ErrInterrupted saying no data arrived", err)
	}
	assertNothingTrusted(t, cache)
}

// TestFetchHidesPassword: a password in the URL is sent, never shown in an
// error or kept in the record.
func TestFetchHidesPassword(t *testing.T) {
	img := image(1000)
	s := newServer(t)
	s.set("/x.img", img)
	s.set("/SHA256SUMS", []byte(sum256(img)+"  x.img\n"))
	withPassword := strings.Replace(s.URL, "http://", "http://me:secret@", 1)
	cache := t.TempDir()
	f := NewFetcher(cache, Options{})
	_, err := f.Fetch(context.Background(), Source{URL: withPassword + "/missing.img"})
	if !errors.Is(err, ErrNotFound) || strings.Contains(err.Error(), "secret") || !strings.Contains(err.Error(), "me:xxxxx@") {
		t.Errorf("Fetch = %v, want ErrNotFound with the password redacted", err)
	}
	img2, err := f.Fetch(context.Background(), Source{URL: withPassword + "/x.img"})
	if err != nil {
		t.Fatal(err)
	}
	record, err := os.ReadFile(filepath.Join(filepath.Dir(img2.Path), RecordFile))
	if err != nil || bytes.Contains(record, []byte("secret")) || strings.Contains(img2.ChecksumFrom, "secret") {
		t.Errorf("the record %s (%v) or ChecksumFrom %q keeps the password", record, err, img2.ChecksumFrom)
	}
}
