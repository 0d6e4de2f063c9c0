// Package vmimage fetches the disk images that local VM drivers (qemu,
// virtualbox) boot, into the store's image cache:
//
//	<store>/cache/images/
//	    <key>/                 one directory per image source
//	        .lock              held while the image is fetched (flock)
//	        <file>             the image, named as at its source
//	        image.json         the record: written only after <file> was
//	                           verified and renamed into place
//	        .part-*            a transfer under way (removed when it fails,
//	                           and by the next fetch after a crash)
//
// The key is the SHA-256 of the source: of the explicit checksum when one is
// given (the content decides; any mirror hits), else of the URL, else for a
// local file of its absolute path, size and modification time. An entry is
// never rewritten once recorded, so the copy-on-write disks that use it as
// their backing file stay valid; a changed local file gets a new key.
//
// A cache hit trusts the record, checking only that the image has the
// recorded size: the record is written only after the digest matched, the
// image is renamed into place only after an fsync, and re-hashing hundreds of
// megabytes on every create would cost seconds for nothing another process
// could have changed without also breaking the VMs whose disks use it.
package vmimage

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"net/http"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/machine-cli/machine/internal/fsutil"
	"github.com/machine-cli/machine/internal/progress"
	"golang.org/x/sys/unix"
)

// Names in the image cache.
const (
	// CacheDir is the image cache under the store root.
	CacheDir = "cache/images"
	// RecordFile is the record of a verified image in its key directory.
	RecordFile = "image.json"
	// lockFile serialises fetches of one key.
	lockFile = ".lock"
	// partPrefix starts the name of a transfer's temporary file.
	partPrefix = ".part-"
)

// Errors a caller may tell apart with errors.Is.
var (
	// ErrNotFound: the server answered 404 for the image, or a local image
	// does not exist.
	ErrNotFound = errors.New("not found")
	// ErrChecksumMismatch: the image's digest differs from the expected one.
	ErrChecksumMismatch = errors.New("checksum mismatch")
	// ErrNoChecksum: no checksum was given and none is published beside the
	// image.
	ErrNoChecksum = errors.New("no checksum")
	// ErrNoSpace: the cache's file system cannot hold the image.
	ErrNoSpace = errors.New("not enough disk space")
	// ErrInterrupted: the transfer ended before the whole image arrived.
	ErrInterrupted = errors.New("download interrupted")
	// ErrCompressed: the image is an archive (xz, gzip, ...), not a disk.
	ErrCompressed = errors.New("not a disk image")
)

// CachePath returns the image cache of the store at root.
func CachePath(root string) string { return filepath.Join(root, filepath.FromSlash(CacheDir)) }

// Source names an image to fetch.
type Source struct {
	// URL is an http(s) URL, a file:// URL or a local path of a qcow2 or raw
	// image.
	URL string
	// Checksum, when not zero, is the image's expected digest. When zero,
	// the checksum file its publisher serves beside a URL is used
	// (SHA512SUMS, SHA256SUMS, <file>.sha512, <file>.sha256, ...); a local
	// image is verified against such a file beside it when there is one and
	// trusted otherwise.
	Checksum Checksum
}

// Image is an image in the cache.
type Image struct {
	// Path is the cached image, to be used read-only (as a backing file).
	Path string
	// Size is its size in bytes.
	Size int64
	// Checksum is its digest: verified against ChecksumFrom, or computed
	// for a local image that had none.
	Checksum Checksum
	// ChecksumFrom says where the expected digest came from: the checksum
	// file's URL or path, "given", "computed" (a local image, nothing to
	// verify against) or "unverified" (Options.ChecksumOptional).
	ChecksumFrom string
	// Cached is true when the image was already in the cache and nothing
	// was transferred.
	Cached bool
}

// Options configure a Fetcher.
type Options struct {
	// Client makes the HTTP requests; nil means a client with connect and
	// response-header timeouts that honours the proxy environment.
	Client *http.Client
	// Progress gets the transfer's progress: a bar when it is a terminal,
	// a few plain lines otherwise. Nil reports nothing.
	Progress io.Writer
	// ChecksumFlag is the flag that gives a checksum (for example
	// "--qemu-image-checksum"), named in the error when none is found.
	ChecksumFlag string
	// ChecksumOptional lets a remote image without a given or published
	// checksum be fetched unverified (its digest is computed, ChecksumFrom
	// is "unverified"), saying so on Progress, instead of failing with
	// ErrNoChecksum: for images whose publisher never published one, such
	// as boot2docker's ISOs.
	ChecksumOptional bool
}

// Fetcher fetches images into one cache directory. Fetches of the same
// source, by goroutines or processes, run one at a time: the first
// transfers, the others wait and then find the image in the cache.
type Fetcher struct {
	dir          string
	client       *http.Client
	progress     io.Writer
	checksumFlag string
	optional     bool
	// freeSpace returns the bytes available to an unprivileged user in
	// dir's file system; tests replace it.
	freeSpace func(dir string) (uint64, error)
	// stallTimeout ends a transfer that receives nothing for that long.
	stallTimeout time.Duration
}

// NewFetcher returns a Fetcher for the cache directory dir (usually
// CachePath(storeRoot)), created when needed.
func NewFetcher(dir string, opts Options) *Fetcher {
	client := opts.Client
	if client == nil {
		client = defaultClient()
	}
	return &Fetcher{dir: dir, client: client, progress: opts.Progress, checksumFlag: opts.ChecksumFlag, optional: opts.ChecksumOptional, freeSpace: freeSpace, stallTimeout: defaultStallTimeout}
}

// defaultClient times out connecting and waiting for headers, never a
// body that is still arriving (a large image on a slow line).
func defaultClient() *http.Client {
	return &http.Client{Transport: &http.Transport{
		Proxy:                 http.ProxyFromEnvironment,
		DialContext:           (&net.Dialer{Timeout: 30 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		TLSHandshakeTimeout:   30 * time.Second,
		ResponseHeaderTimeout: 60 * time.Second,
		ForceAttemptHTTP2:     true,
	}}
}

// freeSpace returns the bytes available to an unprivileged user in dir's
// file system.
func freeSpace(dir string) (uint64, error) {
	var st unix.Statfs_t
	if err := unix.Statfs(dir, &st); err != nil {
		return 0, err
	}
	return st.Bavail * uint64(st.Bsize), nil
}

// record is RecordFile: what was verified.
type record struct {
	Source       string `json:"source"`
	File         string `json:"file"`
	Size         int64  `json:"size"`
	Checksum     string `json:"checksum"`
	ChecksumFrom string `json:"checksumFrom"`
}

// location is a Source resolved: remote or local, and the image's name.
type location struct {
	display string   // as shown to the user: the URL without a password, or the absolute path
	remote  *url.URL // nil for a local file
	local   string   // the absolute path of a local file
	name    string   // the image's file name
	key     string   // the cache key
}

// Fetch returns the image of src from the cache, transferring and verifying
// it first when it is not there. A transfer that fails leaves nothing in
// the cache that a later Fetch would use.
func (f *Fetcher) Fetch(ctx context.Context, src Source) (Image, error) {
	loc, err := resolve(src)
	if err != nil {
		return Image{}, err
	}
	dir := filepath.Join(f.dir, loc.key)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return Image{}, fmt.Errorf("image cache: %w", err)
	}
	lockPath := filepath.Join(dir, lockFile)
	lock, err := fsutil.TryLockFile(lockPath)
	if err != nil {
		return Image{}, fmt.Errorf("image cache: %w", err)
	}
	if lock == nil {
		if f.progress != nil {
			fmt.Fprintf(f.progress, "Waiting for another fetch of %s\n", loc.name)
		}
		if lock, err = fsutil.LockFile(lockPath); err != nil {
			return Image{}, fmt.Errorf("image cache: %w", err)
		}
	}
	defer func() { _ = lock.Unlock() }()

	if img, ok := cached(dir); ok {
		return img, nil
	}
	if err := removeParts(dir); err != nil {
		return Image{}, fmt.Errorf("image cache: %w", err)
	}
	return f.transfer(ctx, src, loc, dir)
}

// resolve reads src's URL and computes its cache key.
func resolve(src Source) (location, error) {
	raw := strings.TrimSpace(src.URL)
	if raw == "" {
		return location{}, errors.New("image: no URL or path given")
	}
	var loc location
	u, err := url.Parse(raw)
	switch {
	case err == nil && (u.Scheme == "http" || u.Scheme == "https"):
		if u.Host == "" {
			return location{}, fmt.Errorf("image %s: the URL has no host", raw)
		}
		loc.remote, loc.display = u, u.Redacted() // no password in messages or the record
		loc.name = path.Base(u.Path)
	case err == nil && u.Scheme == "file":
		loc.local = filepath.FromSlash(u.Path)
	case err == nil && len(u.Scheme) > 1:
		return location{}, fmt.Errorf("image %s: unsupported scheme %q, want http, https, file or a local path", raw, u.Scheme)
	default:
		loc.local = raw
	}
	if loc.remote == nil {
		abs, err := filepath.Abs(loc.local)
		if err != nil {
			return location{}, fmt.Errorf("image %s: %w", raw, err)
		}
		fi, err := os.Stat(abs)
		if errors.Is(err, fs.ErrNotExist) {
			return location{}, fmt.Errorf("image %s: %w", abs, ErrNotFound)
		}
		if err != nil {
			return location{}, fmt.Errorf("image %s: %w", abs, err)
		}
		if !fi.Mode().IsRegular() {
			return location{}, fmt.Errorf("image %s: not a regular file", abs)
		}
		loc.local, loc.display, loc.name = abs, abs, filepath.Base(abs)
		loc.key = hashKey("file", abs, strconv.FormatInt(fi.Size(), 10), strconv.FormatInt(fi.ModTime().UnixNano(), 10))
	} else {
		loc.key = hashKey("url", u.String())
	}
	if !src.Checksum.IsZero() {
		if err := src.Checksum.validHex(); err != nil {
			return location{}, fmt.Errorf("image %s: checksum %s: %w", loc.display, src.Checksum, err)
		}
		loc.key = hashKey("checksum", src.Checksum.String())
	}
	if loc.name == "" || loc.name == "/" || strings.HasPrefix(loc.name, ".") || loc.name == RecordFile {
		loc.name = "image"
	}
	return loc, nil
}

// hashKey is the hex SHA-256 of parts joined by newlines.
func hashKey(parts ...string) string {
	sum := sha256.Sum256([]byte(strings.Join(parts, "\n")))
	return hex.EncodeToString(sum[:])
}

// cached returns the image recorded in dir, when its record is whole and
// the image has the recorded size.
func cached(dir string) (Image, bool) {
	data, err := os.ReadFile(filepath.Join(dir, RecordFile))
	if err != nil {
		return Image{}, false
	}
	var r record
	if err := json.Unmarshal(data, &r); err != nil || r.File == "" || r.File != filepath.Base(r.File) || strings.HasPrefix(r.File, ".") {
		return Image{}, false
	}
	sum, err := ParseChecksum(r.Checksum)
	if err != nil {
		return Image{}, false
	}
	p := filepath.Join(dir, r.File)
	fi, err := os.Stat(p)
	if err != nil || !fi.Mode().IsRegular() || fi.Size() != r.Size {
		return Image{}, false
	}
	return Image{Path: p, Size: r.Size, Checksum: sum, ChecksumFrom: r.ChecksumFrom, Cached: true}, true
}

// removeParts removes what transfers killed before their cleanup left in
// dir, and a record that cached found wanting. The caller holds dir's lock.
func removeParts(dir string) error {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return err
	}
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), partPrefix) || e.Name() == RecordFile {
			if err := os.Remove(filepath.Join(dir, e.Name())); err != nil && !errors.Is(err, fs.ErrNotExist) {
				return err
			}
		}
	}
	return nil
}

// transfer copies the image into dir through a temporary file, verifies it
// and renames it into place, then writes the record.
func (f *Fetcher) transfer(parent context.Context, src Source, loc location, dir string) (img Image, err error) {
	// The transfer's context also ends when no byte has arrived for
	// stallTimeout: a server that stops sending must not hang a create.
	ctx, cancel := context.WithCancelCause(parent)
	defer cancel(nil)
	body, size, err := f.open(ctx, loc)
	if err != nil {
		return Image{}, err
	}
	defer body.Close()

	want, from := src.Checksum, "given"
	if want.IsZero() {
		if want, from, err = f.published(ctx, loc); err != nil {
			return Image{}, err
		}
	}
	if size >= 0 {
		free, err := f.freeSpace(dir)
		if err != nil {
			return Image{}, fmt.Errorf("image cache %s: %w", dir, err)
		}
		if uint64(size) > free {
			return Image{}, fmt.Errorf("image %s: %w in %s: the image needs %s, %s is free", loc.display, ErrNoSpace, f.dir, progress.Bytes(size), progress.Bytes(int64(free)))
		}
	}

	tmp, err := os.CreateTemp(dir, partPrefix+"*")
	if err != nil {
		return Image{}, fmt.Errorf("image cache: %w", err)
	}
	kept := false
	defer func() {
		if !kept {
			_ = tmp.Close()
			_ = os.Remove(tmp.Name())
		}
	}()

	algo := want.Algorithm
	if algo == "" {
		algo = SHA256
	}
	h := algo.newHash()
	if f.progress != nil {
		verb := "Downloading"
		if loc.remote == nil {
			verb = "Copying"
		}
		if size >= 0 {
			fmt.Fprintf(f.progress, "%s %s (%s) from %s\n", verb, loc.name, progress.Bytes(size), loc.display)
		} else {
			fmt.Fprintf(f.progress, "%s %s from %s\n", verb, loc.name, loc.display)
		}
	}
	prog := progress.New(f.progress, loc.name, size, progress.Options{Quarters: true})
	var head headWriter
	watchdog := time.AfterFunc(f.stallTimeout, func() { cancel(errStalled) })
	n, err := io.Copy(io.MultiWriter(tmp, h, prog, &head, resetter{watchdog, f.stallTimeout}), contextReader{ctx, body})
	watchdog.Stop()
	if err != nil {
		switch {
		case errors.Is(err, syscall.ENOSPC):
			return Image{}, fmt.Errorf("image %s: %w in %s: the disk filled up after %s; nothing was kept", loc.display, ErrNoSpace, f.dir, progress.Bytes(n))
		case errors.Is(context.Cause(ctx), errStalled):
			return Image{}, fmt.Errorf("image %s: %w after %s: no data for %s; nothing was kept", loc.display, ErrInterrupted, progress.Bytes(n), f.stallTimeout)
		case ctx.Err() != nil:
			return Image{}, fmt.Errorf("image %s: %w after %s: %w; nothing was kept", loc.display, ErrInterrupted, progress.Bytes(n), ctx.Err())
		case size >= 0:
			return Image{}, fmt.Errorf("image %s: %w after %s of %s: %w; nothing was kept", loc.display, ErrInterrupted, progress.Bytes(n), progress.Bytes(size), err)
		default:
			return Image{}, fmt.Errorf("image %s: %w after %s: %w; nothing was kept", loc.display, ErrInterrupted, progress.Bytes(n), err)
		}
	}
	if size >= 0 && n != size {
		return Image{}, fmt.Errorf("image %s: %w after %s of %s; nothing was kept", loc.display, ErrInterrupted, progress.Bytes(n), progress.Bytes(size))
	}
	prog.Finish()
	got := Checksum{Algorithm: algo, Hex: hex.EncodeToString(h.Sum(nil))}
	if want.IsZero() {
		want = got
		if from == "" {
			from = "computed"
		}
	} else if got != want {
		return Image{}, fmt.Errorf("image %s: %w: expected %s (%s), got %s; the download was discarded, nothing was kept", loc.display, ErrChecksumMismatch, want, from, got)
	}
	if kind := compression(head.b); kind != "" {
		return Image{}, fmt.Errorf("image %s: %w: it is %s-compressed; give an uncompressed qcow2 or raw image (nothing was kept)", loc.display, ErrCompressed, kind)
	}
	if err := tmp.Sync(); err != nil {
		return Image{}, fmt.Errorf("image cache: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return Image{}, fmt.Errorf("image cache: %w", err)
	}
	final := filepath.Join(dir, loc.name)
	if err := os.Rename(tmp.Name(), final); err != nil {
		return Image{}, fmt.Errorf("image cache: %w", err)
	}
	kept = true
	syncDir(dir)
	rec, err := json.MarshalIndent(record{Source: loc.display, File: loc.name, Size: n, Checksum: want.String(), ChecksumFrom: from}, "", "  ")
	if err != nil {
		return Image{}, fmt.Errorf("image cache: %w", err)
	}
	if err := fsutil.WriteFileAtomic(filepath.Join(dir, RecordFile), append(rec, '\n'), 0o644); err != nil {
		return Image{}, fmt.Errorf("image cache: %w", err)
	}
	if f.progress != nil {
		if from == "computed" || from == "unverified" {
			fmt.Fprintf(f.progress, "Cached %s (%s, no checksum to verify against)\n", loc.name, want)
		} else {
			fmt.Fprintf(f.progress, "Verified %s (%s from %s)\n", loc.name, want.Algorithm, from)
		}
	}
	return Image{Path: final, Size: n, Checksum: want, ChecksumFrom: from}, nil
}

// errStalled ends a transfer that received nothing for stallTimeout.
var errStalled = errors.New("stalled")

// defaultStallTimeout is how long a transfer may receive nothing.
const defaultStallTimeout = time.Minute

// resetter restarts a watchdog timer on every write.
type resetter struct {
	t *time.Timer
	d time.Duration
}

func (r resetter) Write(p []byte) (int, error) {
	r.t.Reset(r.d)
	return len(p), nil
}

// headWriter keeps the first bytes written to it.
type headWriter struct{ b []byte }

// headSize is enough for every magic number compression looks for.
const headSize = 8

func (h *headWriter) Write(p []byte) (int, error) {
	if room := headSize - len(h.b); room > 0 {
		h.b = append(h.b, p[:min(room, len(p))]...)
	}
	return len(p), nil
}

// compression names the compression format that head starts with, or ""
// for anything else: publishers serve some images (Debian's for GCE, many
// appliance images) only as archives, which would boot as an empty raw
// disk.
func compression(head []byte) string {
	for _, m := range []struct {
		kind  string
		magic string
	}{
		{"xz", "\xfd7zXZ\x00"},
		{"gzip", "\x1f\x8b"},
		{"zstd", "\x28\xb5\x2f\xfd"},
		{"bzip2", "BZh"},
		{"zip", "PK\x03\x04"},
	} {
		if strings.HasPrefix(string(head), m.magic) {
			return m.kind
		}
	}
	return ""
}

// syncDir makes a rename in dir durable.
func syncDir(dir string) {
	if d, err := os.Open(dir); err == nil {
		_ = d.Sync()
		_ = d.Close()
	}
}

// contextReader ends a read once ctx is done, so that a local copy stops on
// Ctrl-C too (an HTTP body already does).
type contextReader struct {
	ctx context.Context
	r   io.Reader
}

func (c contextReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(p)
}

// open starts reading the image; size is -1 when the server does not say.
func (f *Fetcher) open(ctx context.Context, loc location) (io.ReadCloser, int64, error) {
	if loc.remote == nil {
		file, err := os.Open(loc.local)
		if err != nil {
			return nil, 0, fmt.Errorf("image %s: %w", loc.display, err)
		}
		fi, err := file.Stat()
		if err != nil {
			_ = file.Close()
			return nil, 0, fmt.Errorf("image %s: %w", loc.display, err)
		}
		return file, fi.Size(), nil
	}
	resp, err := f.get(ctx, loc.remote.String())
	if err != nil {
		return nil, 0, fmt.Errorf("image %s: %w", loc.display, err)
	}
	if resp.StatusCode != http.StatusOK {
		_ = resp.Body.Close()
		if resp.StatusCode == http.StatusNotFound || resp.StatusCode == http.StatusGone {
			return nil, 0, fmt.Errorf("image %s: %w (HTTP %s)", loc.display, ErrNotFound, resp.Status)
		}
		return nil, 0, fmt.Errorf("image %s: HTTP %s", loc.display, resp.Status)
	}
	return resp.Body, resp.ContentLength, nil
}

// get sends a GET and turns a transport failure into a short error naming
// the host that could not be reached.
func (f *Fetcher) get(ctx context.Context, rawURL string) (*http.Response, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, rawURL, nil)
	if err != nil {
		return nil, err
	}
	resp, err := f.client.Do(req)
	if err != nil {
		var uerr *url.Error
		if errors.As(err, &uerr) {
			return nil, fmt.Errorf("cannot reach %s: %w", req.URL.Host, uerr.Err)
		}
		return nil, err
	}
	return resp, nil
}

// maxSumsSize bounds a checksum file: Debian's lists a few dozen images.
const maxSumsSize = 1 << 20

// published finds the image's checksum in the files its publisher serves
// beside it; for a local image without any, it returns the zero Checksum.
func (f *Fetcher) published(ctx context.Context, loc location) (Checksum, string, error) {
	for _, s := range sumsFiles {
		name := strings.ReplaceAll(s.name, "%s", loc.name)
		var content []byte
		var where string
		if loc.remote == nil {
			where = filepath.Join(filepath.Dir(loc.local), name)
			data, err := os.ReadFile(where)
			if errors.Is(err, fs.ErrNotExist) {
				continue
			}
			if err != nil {
				return Checksum{}, "", fmt.Errorf("image %s: checksum file: %w", loc.display, err)
			}
			content = data
		} else {
			u := *loc.remote
			u.Path = path.Join(path.Dir(u.Path), name)
			u.RawPath, u.RawQuery, u.Fragment = "", "", ""
			where = u.Redacted()
			data, ok, err := f.getSmall(ctx, u.String())
			if err != nil {
				return Checksum{}, "", fmt.Errorf("image %s: checksum file %s: %w", loc.display, where, err)
			}
			if !ok {
				continue
			}
			content = data
		}
		if c, ok := findInSums(content, loc.name, s.algo); ok {
			return c, where, nil
		}
	}
	if loc.remote == nil {
		return Checksum{}, "", nil
	}
	if f.optional {
		if f.progress != nil {
			fmt.Fprintf(f.progress, "No checksum is published beside %s (tried %s): it is not verified\n", loc.display, triedText())
		}
		return Checksum{}, "unverified", nil
	}
	give := "give the image's checksum"
	if f.checksumFlag != "" {
		give = "pass " + f.checksumFlag + " sha256:<hex> (or sha512:<hex>)"
	}
	return Checksum{}, "", fmt.Errorf("image %s: %w published beside it (tried %s); %s", loc.display, ErrNoChecksum, triedText(), give)
}

// triedText lists the checksum files looked for, for an error.
func triedText() string {
	var dir, per []string
	for _, s := range sumsFiles {
		if rest, ok := strings.CutPrefix(s.name, "%s"); ok {
			per = append(per, rest)
		} else {
			dir = append(dir, s.name)
		}
	}
	return strings.Join(dir, ", ") + " and <image>" + strings.Join(per, ", <image>")
}

// getSmall fetches a small file; ok is false when the server has none
// (404, 403 as object stores answer, 410).
func (f *Fetcher) getSmall(ctx context.Context, rawURL string) (data []byte, ok bool, err error) {
	resp, err := f.get(ctx, rawURL)
	if err != nil {
		return nil, false, err
	}
	defer resp.Body.Close()
	switch resp.StatusCode {
	case http.StatusOK:
	case http.StatusNotFound, http.StatusForbidden, http.StatusGone:
		return nil, false, nil
	default:
		return nil, false, fmt.Errorf("HTTP %s", resp.Status)
	}
	data, err = io.ReadAll(io.LimitReader(resp.Body, maxSumsSize+1))
	if err != nil {
		return nil, false, err
	}
	if len(data) > maxSumsSize {
		return nil, false, fmt.Errorf("larger than %s", progress.Bytes(maxSumsSize))
	}
	return data, true, nil
}
