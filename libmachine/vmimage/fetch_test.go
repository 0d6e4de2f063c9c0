package vmimage

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io/fs"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/machine-cli/machine/internal/fsutil/fsutiltest"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/")

// server is a loopback HTTP server of images and checksum files that
// counts the requests for each path.
type server struct {
	*httptest.Server
	mu     sync.Mutex
	files  map[string][]byte // path -> content
	cut    map[string]int    // path -> bytes sent before the connection is cut
	gate   map[string]chan struct{}
	status map[string]int // path -> an error status to answer
	stall  map[string]int // path -> bytes sent before the response stalls
	// chunked paths are sent without a Content-Length.
	chunked map[string]bool
	got     map[string]int // path -> requests
	gotReq  chan string    // every request's path, when not nil
}

func newServer(t testing.TB) *server {
	s := &server{files: map[string][]byte{}, cut: map[string]int{}, gate: map[string]chan struct{}{}, status: map[string]int{}, stall: map[string]int{}, chunked: map[string]bool{}, got: map[string]int{}}
	s.Server = httptest.NewServer(http.HandlerFunc(s.serve))
	t.Cleanup(s.Close)
	return s
}

func (s *server) serve(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	s.got[r.URL.Path]++
	data, ok := s.files[r.URL.Path]
	cut, cutOK := s.cut[r.URL.Path]
	gate := s.gate[r.URL.Path]
	status := s.status[r.URL.Path]
	stall, stallOK := s.stall[r.URL.Path]
	chunked := s.chunked[r.URL.Path]
	notify := s.gotReq
	s.mu.Unlock()
	if notify != nil {
		notify <- r.URL.Path
	}
	if gate != nil {
		<-gate
	}
	if status != 0 {
		http.Error(w, "broken", status)
		return
	}
	if !ok {
		http.NotFound(w, r)
		return
	}
	if chunked {
		for len(data) > 0 {
			n := min(len(data), 64<<10)
			if _, err := w.Write(data[:n]); err != nil {
				return
			}
			w.(http.Flusher).Flush()
			data = data[n:]
		}
		return
	}
	w.Header().Set("Content-Length", strconv.Itoa(len(data)))
	if stallOK {
		_, _ = w.Write(data[:stall])
		w.(http.Flusher).Flush()
		<-r.Context().Done() // until the client gives up
		return
	}
	if !cutOK {
		_, _ = w.Write(data)
		return
	}
	_, _ = w.Write(data[:cut])
	w.(http.Flusher).Flush()
	conn, _, err := http.NewResponseController(w).Hijack()
	if err == nil {
		_ = conn.Close()
	}
}

// edit changes the server's settings while no request reads them.
func (s *server) edit(change func()) {
	s.mu.Lock()
	defer s.mu.Unlock()
	change()
}

func (s *server) set(path string, data []byte) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.files[path] = data
}

func (s *server) requests(path string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.got[path]
}

func (s *server) total() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, c := range s.got {
		n += c
	}
	return n
}

// image returns n bytes of a recognisable, not repetitive image.
func image(n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(i*7 + i/251)
	}
	return b
}

func sum256(b []byte) string { s := sha256.Sum256(b); return hex.EncodeToString(s[:]) }
func sum512(b []byte) string { s := sha512.Sum512(b); return hex.EncodeToString(s[:]) }

// assertNothingTrusted fails when the cache holds anything but directories
// and lock files: no image, record or partial transfer.
func assertNothingTrusted(t *testing.T, cache string) {
	t.Helper()
	err := filepath.WalkDir(cache, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return nil
			}
			return err
		}
		if !d.IsDir() && d.Name() != lockFile {
			t.Errorf("the cache keeps %s after a failed fetch", p)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

func TestFetch(t *testing.T) {
	const name = "debian-13-genericcloud-amd64.qcow2"
	img := image(300_000)
	other := image(1000)
	for _, tc := range []struct {
		name     string
		setup    func(s *server)
		checksum string // the explicit checksum, if any
		free     uint64 // the free space the fetcher sees; 0 means plenty
		wantFrom string // the ChecksumFrom, relative to the server's URL
		wantErr  error  // the error the fetch fails with
		fails    bool   // the fetch fails with an error not in wantErr
		errHas   []string
	}{{
		name: "Debian's SHA512SUMS",
		setup: func(s *server) {
			s.set("/d/"+name, img)
			s.set("/d/SHA512SUMS", []byte(sum512(other)+"  debian-13-genericcloud-arm64.qcow2\n"+sum512(img)+"  "+name+"\n"))
		},
		wantFrom: "/d/SHA512SUMS",
	}, {
		name: "Ubuntu's SHA256SUMS",
		setup: func(s *server) {
			s.set("/d/"+name, img)
			s.set("/d/SHA256SUMS", []byte(sum256(other)+" *other.img\n"+sum256(img)+" *"+name+"\n"))
		},
		wantFrom: "/d/SHA256SUMS",
	}, {
		name: "a SHA512SUMS without the image, then a SHA256SUMS with it",
		setup: func(s *server) {
			s.set("/d/"+name, img)
			s.set("/d/SHA512SUMS", []byte(sum512(other)+"  other.img\n"))
			s.set("/d/SHA256SUMS", []byte(sum256(img)+"  "+name+"\n"))
		},
		wantFrom: "/d/SHA256SUMS",
	}, {
		name: "Fedora's BSD-style lines in a per-image file",
		setup: func(s *server) {
			s.set("/d/"+name, img)
			s.set("/d/"+name+".sha256", []byte("# Fedora\nSHA256 ("+name+") = "+sum256(img)+"\n"))
		},
		wantFrom: "/d/" + name + ".sha256",
	}, {
		name: "a per-image file with only the digest",
		setup: func(s *server) {
			s.set("/d/"+name, img)
			s.set("/d/"+name+".sha512", []byte(sum512(img)+"\n"))
		},
		wantFrom: "/d/" + name + ".sha512",
	}, {
		name:     "an explicit sha256 checksum, no checksum file",
		setup:    func(s *server) { s.set("/d/"+name, img) },
		checksum: "sha256:" + sum256(img),
		wantFrom: "given",
	}, {
		name: "an explicit sha512 checksum wins over the published one",
		setup: func(s *server) {
			s.set("/d/"+name, img)
			s.set("/d/SHA512SUMS", []byte(sum512(other)+"  "+name+"\n"))
		},
		checksum: "SHA512:" + strings.ToUpper(sum512(img)),
		wantFrom: "given",
	}, {
		name: "404",
		setup: func(s *server) {
			s.set("/d/SHA512SUMS", []byte(sum512(img)+"  "+name+"\n"))
		},
		wantErr: ErrNotFound,
		errHas:  []string{"404"},
	}, {
		name: "corrupt download",
		setup: func(s *server) {
			bad := bytes.Clone(img)
			bad[len(bad)/2] ^= 0xff
			s.set("/d/"+name, bad)
			s.set("/d/SHA512SUMS", []byte(sum512(img)+"  "+name+"\n"))
		},
		wantErr: ErrChecksumMismatch,
		errHas:  []string{"expected sha512:" + sum512(img), "got sha512:" + sum512(append(append(bytes.Clone(img[:len(img)/2]), img[len(img)/2]^0xff), img[len(img)/2+1:]...)), "nothing was kept"},
	}, {
		name:     "an explicit checksum that differs",
		setup:    func(s *server) { s.set("/d/"+name, img) },
		checksum: "sha256:" + sum256(other),
		wantErr:  ErrChecksumMismatch,
		errHas:   []string{"expected sha256:" + sum256(other) + " (given)", "got sha256:" + sum256(img)},
	}, {
		name: "interrupted download",
		setup: func(s *server) {
			s.set("/d/"+name, img)
			s.set("/d/SHA512SUMS", []byte(sum512(img)+"  "+name+"\n"))
			s.edit(func() { s.cut["/d/"+name] = len(img) / 3 })
		},
		wantErr: ErrInterrupted,
		errHas:  []string{"of 293.0 KiB", "nothing was kept"},
	}, {
		name: "an xz archive",
		setup: func(s *server) {
			xz := append([]byte("\xfd7zXZ\x00"), img...)
			s.set("/d/"+name, xz)
			s.set("/d/SHA256SUMS", []byte(sum256(xz)+"  "+name+"\n"))
		},
		wantErr: ErrCompressed,
		errHas:  []string{"it is xz-compressed; give an uncompressed qcow2 or raw image"},
	}, {
		name: "a chunked response, without a size",
		setup: func(s *server) {
			s.set("/d/"+name, img)
			s.set("/d/SHA512SUMS", []byte(sum512(img)+"  "+name+"\n"))
			s.edit(func() { s.chunked["/d/"+name] = true })
		},
		wantFrom: "/d/SHA512SUMS",
	}, {
		name:    "no checksum file and none given",
		setup:   func(s *server) { s.set("/d/"+name, img) },
		wantErr: ErrNoChecksum,
		errHas:  []string{"tried SHA512SUMS, SHA256SUMS", "pass --qemu-image-checksum sha256:<hex>"},
	}, {
		name: "checksum files that do not list the image",
		setup: func(s *server) {
			s.set("/d/"+name, img)
			s.set("/d/SHA512SUMS", []byte(sum512(other)+"  other.img\n"))
			s.set("/d/SHA256SUMS", []byte(sum256(other)+"  other.img\n"))
		},
		wantErr: ErrNoChecksum,
	}, {
		name: "not enough disk",
		setup: func(s *server) {
			s.set("/d/"+name, img)
			s.set("/d/SHA512SUMS", []byte(sum512(img)+"  "+name+"\n"))
		},
		free:    100 << 10,
		wantErr: ErrNoSpace,
		errHas:  []string{"the image needs 293.0 KiB, 100.0 KiB is free"},
	}, {
		name: "a server error",
		setup: func(s *server) {
			s.set("/d/SHA512SUMS", []byte(sum512(img)+"  "+name+"\n"))
			s.set("/d/"+name, img)
			s.edit(func() { s.status["/d/"+name] = http.StatusInternalServerError })
		},
		fails:  true,
		errHas: []string{"HTTP 500 Internal Server Error"},
	}} {
		t.Run(tc.name, func(t *testing.T) {
			s := newServer(t)
			tc.setup(s)
			cache := filepath.Join(t.TempDir(), "cache", "images")
			f := NewFetcher(cache, Options{ChecksumFlag: "--qemu-image-checksum"})
			if tc.free != 0 {
				f.freeSpace = func(string) (uint64, error) { return tc.free, nil }
			}
			src := Source{URL: s.URL + "/d/" + name}
			if tc.checksum != "" {
				c, err := ParseChecksum(tc.checksum)
				if err != nil {
					t.Fatal(err)
				}
				src.Checksum = c
			}
			got, err := f.Fetch(context.Background(), src)
			if tc.wantErr != nil || tc.fails {
				if err == nil || tc.wantErr != nil && !errors.Is(err, tc.wantErr) {
					t.Fatalf("Fetch = %v, want %v", err, tc.wantErr)
				}
				t.Log(err)
				if strings.Contains(err.Error(), "\n") {
					t.Errorf("the error has several lines: %q", err)
				}
				for _, want := range tc.errHas {
					if !strings.Contains(err.Error(), want) {
						t.Errorf("the error %q lacks %q", err, want)
					}
				}
				assertNothingTrusted(t, cache)
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if data, err := os.ReadFile(got.Path); err != nil || !bytes.Equal(data, img) {
				t.Fatalf("the cached image differs from the served one (%v)", err)
			}
			if filepath.Base(got.Path) != name || filepath.Dir(filepath.Dir(got.Path)) != cache {
				t.Errorf("Path = %s, want %s/<key>/%s", got.Path, cache, name)
			}
			wantFrom := tc.wantFrom
			if strings.HasPrefix(wantFrom, "/") {
				wantFrom = s.URL + wantFrom
			}
			if got.Cached || got.Size != int64(len(img)) || got.ChecksumFrom != wantFrom || got.Checksum.Hex == "" {
				t.Errorf("Fetch = %+v, want a fresh %d-byte image verified from %s", got, len(img), wantFrom)
			}
			before := s.total()
			again, err := f.Fetch(context.Background(), src)
			if err != nil {
				t.Fatal(err)
			}
			if n := s.total() - before; n != 0 {
				t.Errorf("a cache hit made %d requests, want none", n)
			}
			want := got
			want.Cached = true
			if again != want {
				t.Errorf("the cache hit = %+v, want %+v", again, want)
			}
		})
	}
}

func TestFetchUnreachable(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	_ = l.Close() // nothing listens there now
	cache := t.TempDir()
	_, err = NewFetcher(cache, Options{}).Fetch(context.Background(), Source{URL: "http://" + addr + "/img.qcow2"})
	if err == nil || !strings.Contains(err.Error(), "cannot reach "+addr) || strings.Contains(err.Error(), "\n") {
		t.Fatalf("Fetch from a closed port = %v, want one line saying it cannot reach %s", err, addr)
	}
	assertNothingTrusted(t, cache)
}

func TestFetchBadSource(t *testing.T) {
	for _, tc := range []struct{ name, url, errHas string }{
		{"empty", " ", "no URL or path given"},
		{"unsupported scheme", "ftp://example.invalid/x.img", `unsupported scheme "ftp"`},
		{"missing local file", "/nonexistent/x.img", "not found"},
		{"a directory", "/", "not a regular file"},
		{"no host", "http:///x.img", "no host"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := NewFetcher(t.TempDir(), Options{}).Fetch(context.Background(), Source{URL: tc.url})
			if err == nil || !strings.Contains(err.Error(), tc.errHas) {
				t.Fatalf("Fetch(%q) = %v, want an error with %q", tc.url, err, tc.errHas)
			}
		})
	}
}

// TestFetchRecovers: what a killed fetch left (a partial transfer, an image
// without its record, or a record whose image was truncated) is not
// trusted; the next fetch transfers again and succeeds.
func TestFetchRecovers(t *testing.T) {
	img := image(50_000)
	for _, tc := range []struct {
		name   string
		break_ func(t *testing.T, got Image)
	}{
		{"a partial transfer left behind", func(t *testing.T, got Image) {
			if err := os.WriteFile(filepath.Join(filepath.Dir(got.Path), partPrefix+"123"), img[:10], 0o644); err != nil {
				t.Fatal(err)
			}
			if err := os.Remove(filepath.Join(filepath.Dir(got.Path), RecordFile)); err != nil {
				t.Fatal(err)
			}
		}},
		{"the image without its record", func(t *testing.T, got Image) {
			if err := os.Remove(filepath.Join(filepath.Dir(got.Path), RecordFile)); err != nil {
				t.Fatal(err)
			}
		}},
		{"a truncated image", func(t *testing.T, got Image) {
			if err := os.Truncate(got.Path, 100); err != nil {
				t.Fatal(err)
			}
		}},
		{"a broken record", func(t *testing.T, got Image) {
			if err := os.WriteFile(filepath.Join(filepath.Dir(got.Path), RecordFile), []byte(`{"file":"../x"`), 0o644); err != nil {
				t.Fatal(err)
			}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := newServer(t)
			s.set("/x.img", img)
			s.set("/SHA256SUMS", []byte(sum256(img)+"  x.img\n"))
			f := NewFetcher(t.TempDir(), Options{})
			got, err := f.Fetch(context.Background(), Source{URL: s.URL + "/x.img"})
			if err != nil {
				t.Fatal(err)
			}
			tc.break_(t, got)
			again, err := f.Fetch(context.Background(), Source{URL: s.URL + "/x.img"})
			if err != nil {
				t.Fatal(err)
			}
			if again.Cached || s.requests("/x.img") != 2 {
				t.Errorf("the second fetch was served from a broken cache (Cached %v, %d transfers)", again.Cached, s.requests("/x.img"))
			}
			if data, err := os.ReadFile(again.Path); err != nil || !bytes.Equal(data, img) {
				t.Errorf("the image differs after the recovery (%v)", err)
			}
			entries, _ := os.ReadDir(filepath.Dir(again.Path))
			for _, e := range entries {
				if strings.HasPrefix(e.Name(), partPrefix) {
					t.Errorf("the leftover %s was not removed", e.Name())
				}
			}
		})
	}
}

// qemuImg runs qemu-img, which scripts/ensure-deps.sh installs.
func qemuImg(t testing.TB, args ...string) {
	t.Helper()
	out, err := exec.Command("qemu-img", args...).CombinedOutput()
	if err != nil {
		t.Fatalf("qemu-img %s: %v\n%s (scripts/ensure-deps.sh installs qemu-utils)", strings.Join(args, " "), err, out)
	}
}

func TestFetchLocal(t *testing.T) {
	dir := t.TempDir()
	qcow2 := filepath.Join(dir, "small.qcow2")
	raw := filepath.Join(dir, "small.raw")
	qemuImg(t, "create", "-q", "-f", "qcow2", qcow2, "64M")
	qemuImg(t, "create", "-q", "-f", "raw", raw, "1M")
	sums := filepath.Join(dir, "sums")
	if err := os.Mkdir(sums, 0o755); err != nil {
		t.Fatal(err)
	}
	listed := filepath.Join(sums, "listed.img")
	content := image(10_000)
	if err := os.WriteFile(listed, content, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(sums, "SHA256SUMS"), []byte(sum256(content)+"  listed.img\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	bad := filepath.Join(dir, "bad")
	if err := os.Mkdir(bad, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(bad, "x.img"), content, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(bad, "SHA512SUMS"), []byte(sum512(content[1:])+"  x.img\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	fromQcow2, err := ParseChecksum(mustSum(t, qcow2))
	if err != nil {
		t.Fatal(err)
	}

	for _, tc := range []struct {
		name     string
		url      string
		checksum Checksum
		wantFrom string
		wantErr  error
	}{
		{"a qcow2 by path", qcow2, Checksum{}, "computed", nil},
		{"a raw image by file URL", "file://" + raw, Checksum{}, "computed", nil},
		{"a qcow2 with an explicit checksum", qcow2, fromQcow2, "given", nil},
		{"an image with SHA256SUMS beside it", listed, Checksum{}, filepath.Join(sums, "SHA256SUMS"), nil},
		{"an image whose SHA512SUMS differs", filepath.Join(bad, "x.img"), Checksum{}, "", ErrChecksumMismatch},
		{"a wrong explicit checksum", raw, fromQcow2, "", ErrChecksumMismatch},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cache := t.TempDir()
			var progress bytes.Buffer
			f := NewFetcher(cache, Options{Progress: &progress})
			got, err := f.Fetch(context.Background(), Source{URL: tc.url, Checksum: tc.checksum})
			if tc.wantErr != nil {
				if !errors.Is(err, tc.wantErr) {
					t.Fatalf("Fetch = %v, want %v", err, tc.wantErr)
				}
				assertNothingTrusted(t, cache)
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			src := strings.TrimPrefix(tc.url, "file://")
			want, _ := os.ReadFile(src)
			if data, err := os.ReadFile(got.Path); err != nil || !bytes.Equal(data, want) {
				t.Fatalf("the cached copy differs from %s (%v)", src, err)
			}
			if got.ChecksumFrom != tc.wantFrom || got.Checksum.Hex != strings.TrimPrefix(mustSum(t, src), "sha256:") && got.Checksum.Algorithm == SHA256 {
				t.Errorf("Fetch = %+v, want the checksum from %s", got, tc.wantFrom)
			}
			if !strings.HasPrefix(progress.String(), "Copying "+filepath.Base(src)) {
				t.Errorf("progress = %q, want it to start with the copy", progress.String())
			}
			again, err := f.Fetch(context.Background(), Source{URL: tc.url, Checksum: tc.checksum})
			if err != nil || !again.Cached || again.Path != got.Path {
				t.Errorf("the second fetch = %+v, %v; want the cached %s", again, err, got.Path)
			}
		})
	}

	t.Run("a changed local image gets a new entry, the old one stays", func(t *testing.T) {
		cache := t.TempDir()
		src := filepath.Join(t.TempDir(), "img.raw")
		if err := os.WriteFile(src, []byte("one"), 0o644); err != nil {
			t.Fatal(err)
		}
		f := NewFetcher(cache, Options{})
		first, err := f.Fetch(context.Background(), Source{URL: src})
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(src, []byte("two!"), 0o644); err != nil {
			t.Fatal(err)
		}
		later := time.Now().Add(time.Minute)
		if err := os.Chtimes(src, later, later); err != nil {
			t.Fatal(err)
		}
		second, err := f.Fetch(context.Background(), Source{URL: src})
		if err != nil {
			t.Fatal(err)
		}
		if second.Path == first.Path || second.Cached {
			t.Fatalf("the changed image was served from the old entry %s", first.Path)
		}
		if data, _ := os.ReadFile(first.Path); string(data) != "one" {
			t.Errorf("the old entry changed to %q", data)
		}
		if data, _ := os.ReadFile(second.Path); string(data) != "two!" {
			t.Errorf("the new entry holds %q", data)
		}
	})
}

// mustSum returns "sha256:<hex>" of the file at p.
func mustSum(t *testing.T, p string) string {
	t.Helper()
	data, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return "sha256:" + sum256(data)
}

// TestFetchConcurrent: two fetches of one image at once make one download;
// the second waits on the lock and then finds the image in the cache.
func TestFetchConcurrent(t *testing.T) {
	img := image(200_000)
	s := newServer(t)
	s.set("/x.img", img)
	s.set("/SHA256SUMS", []byte(sum256(img)+"  x.img\n"))
	gate := make(chan struct{})
	s.edit(func() { s.gate["/x.img"] = gate })
	s.edit(func() { s.gotReq = make(chan string, 10) })
	cache := t.TempDir()
	src := Source{URL: s.URL + "/x.img"}

	type result struct {
		img Image
		err error
		out string
	}
	fetch := func() <-chan result {
		ch := make(chan result, 1)
		go func() {
			var out bytes.Buffer
			img, err := NewFetcher(cache, Options{Progress: &out}).Fetch(context.Background(), src)
			ch <- result{img, err, out.String()}
		}()
		return ch
	}
	first := fetch()
	for p := range s.gotReq { // the first fetch is downloading
		if p == "/x.img" {
			break
		}
	}
	second := fetch()
	lock := filepath.Join(cache, hashKey("url", src.URL), lockFile)
	deadline := time.Now().Add(10 * time.Second)
	for fsutiltest.BlockedOn(t, lock) < 1 {
		if time.Now().After(deadline) {
			t.Fatal("the second fetch does not wait on the lock")
		}
		time.Sleep(time.Millisecond)
	}
	close(gate)
	r1, r2 := <-first, <-second
	if r1.err != nil || r2.err != nil {
		t.Fatal(r1.err, r2.err)
	}
	if n := s.requests("/x.img"); n != 1 {
		t.Errorf("the image was downloaded %d times, want once", n)
	}
	if r1.img.Cached || !r2.img.Cached || r1.img.Path != r2.img.Path {
		t.Errorf("first %+v, second %+v: want one download and one cache hit of the same file", r1.img, r2.img)
	}
	if r2.out != "Waiting for another fetch of x.img\n" {
		t.Errorf("the waiting fetch printed %q", r2.out)
	}
}

// TestFetchProgress: on a pipe or file the progress is a few plain lines.
func TestFetchProgress(t *testing.T) {
	img := image(1 << 20)
	s := newServer(t)
	s.set("/images/debian.qcow2", img)
	s.set("/images/SHA512SUMS", []byte(sum512(img)+"  debian.qcow2\n"))
	var out bytes.Buffer
	f := NewFetcher(t.TempDir(), Options{Progress: &out})
	if _, err := f.Fetch(context.Background(), Source{URL: s.URL + "/images/debian.qcow2"}); err != nil {
		t.Fatal(err)
	}
	if _, err := f.Fetch(context.Background(), Source{URL: s.URL + "/images/debian.qcow2"}); err != nil {
		t.Fatal(err)
	}
	got := strings.ReplaceAll(out.String(), s.URL, "http://SERVER")
	golden(t, "progress.golden", got)
}

// golden compares got with testdata/name, or rewrites it under -update.
func golden(t *testing.T, name, got string) {
	t.Helper()
	p := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(p, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	if got != string(want) {
		t.Errorf("%s differs (-update rewrites it)\ngot:\n%s\nwant:\n%s", p, got, want)
	}
}

func TestResolveName(t *testing.T) {
	for _, tc := range []struct{ url, want string }{
		{"https://example.invalid/images/debian.qcow2", "debian.qcow2"},
		{"https://example.invalid/images/debian.qcow2?token=x", "debian.qcow2"},
		{"https://example.invalid/", "image"},
		{"https://example.invalid", "image"},
		{"https://example.invalid/.hidden", "image"},
		{"https://example.invalid/" + RecordFile, "image"},
		{"https://example.invalid/a%20b.img", "a b.img"},
	} {
		loc, err := resolve(Source{URL: tc.url})
		if err != nil || loc.name != tc.want {
			t.Errorf("resolve(%s) names the image %q (%v), want %q", tc.url, loc.name, err, tc.want)
		}
	}
}

func TestDefaultImageURL(t *testing.T) {
	for _, tc := range []struct{ arch, want, errHas string }{
		{"amd64", DefaultImageAMD64, ""},
		{"arm64", DefaultImageARM64, ""},
		{"riscv64", "", "no default image for the riscv64 architecture"},
	} {
		got, err := defaultImageURL(tc.arch)
		if got != tc.want || (tc.errHas == "") != (err == nil) || err != nil && !strings.Contains(err.Error(), tc.errHas) {
			t.Errorf("defaultImageURL(%s) = %q, %v; want %q, %q", tc.arch, got, err, tc.want, tc.errHas)
		}
	}
	for _, u := range []string{DefaultImageAMD64, DefaultImageARM64} {
		loc, err := resolve(Source{URL: u})
		if err != nil || !strings.HasPrefix(loc.name, "debian-13-genericcloud-") || !strings.HasSuffix(loc.name, ".qcow2") {
			t.Errorf("resolve(%s) = %+v, %v", u, loc, err)
		}
	}
	for _, tc := range []struct{ arch, want, errHas string }{
		{"amd64", DefaultRawImageAMD64, ""},
		{"arm64", DefaultRawImageARM64, ""},
		{"riscv64", "", "no default image for the riscv64 architecture"},
	} {
		got, err := defaultRawImageURL(tc.arch)
		if got != tc.want || (tc.errHas == "") != (err == nil) || err != nil && !strings.Contains(err.Error(), tc.errHas) {
			t.Errorf("defaultRawImageURL(%s) = %q, %v; want %q, %q", tc.arch, got, err, tc.want, tc.errHas)
		}
		if tc.want == "" {
			continue
		}
		loc, err := resolve(Source{URL: tc.want})
		if err != nil || loc.name != "debian-13-generic-"+tc.arch+".raw" {
			t.Errorf("resolve(%s) = %+v, %v", tc.want, loc, err)
		}
	}
}

// BenchmarkFetch measures a download of a 100 MB image from a loopback
// server into an empty cache, with its SHA-512 check (MB/s).
func BenchmarkFetch(b *testing.B) {
	img := image(100 << 20)
	s := newServer(b)
	s.set("/big.qcow2", img)
	s.set("/SHA512SUMS", []byte(sum512(img)+"  big.qcow2\n"))
	b.SetBytes(int64(len(img)))
	for i := 0; b.Loop(); i++ {
		cache := filepath.Join(b.TempDir(), fmt.Sprint(i))
		if _, err := NewFetcher(cache, Options{}).Fetch(context.Background(), Source{URL: s.URL + "/big.qcow2"}); err != nil {
			b.Fatal(err)
		}
		_ = os.RemoveAll(cache)
	}
}
