package vmimage

import (
	"context"
	"fmt"
	"net/url"
)

// Request is what a local driver's flags ask of the image layer: an image
// URL (or none, for Default's) and an optional checksum, with the flags'
// names for the errors.
type Request struct {
	URL          string                 // --DRIVER-image-url; "" for Default's
	Checksum     string                 // --DRIVER-image-checksum, "ALGO:HEX"; "" for the publisher's
	Default      func() (string, error) // the driver's default image for this host
	URLFlag      string                 // e.g. "qemu-image-url"
	ChecksumFlag string                 // e.g. "qemu-image-checksum"
	// ChecksumOptional fetches a remote image whose publisher serves no
	// checksum unverified, saying so (Options.ChecksumOptional).
	ChecksumOptional bool
}

// FetchRequest gets req's image into the cache of the store at storePath,
// verified, with progress lines to say.
func FetchRequest(ctx context.Context, storePath string, req Request, say func(string)) (Image, error) {
	src := Source{URL: req.URL}
	if src.URL == "" {
		u, err := req.Default()
		if err != nil {
			return Image{}, fmt.Errorf("%w; give an image with --%s", err, req.URLFlag)
		}
		src.URL = u
	}
	if req.Checksum != "" {
		sum, err := ParseChecksum(req.Checksum)
		if err != nil {
			return Image{}, fmt.Errorf("--%s: %w", req.ChecksumFlag, err)
		}
		src.Checksum = sum
	}
	f := NewFetcher(CachePath(storePath), Options{Progress: LineWriter(say), ChecksumFlag: "--" + req.ChecksumFlag, ChecksumOptional: req.ChecksumOptional})
	img, err := f.Fetch(ctx, src)
	if err != nil {
		return Image{}, fmt.Errorf("image: %w", err)
	}
	return img, nil
}

// ValidURL reports whether s is an image location Fetch takes: an
// http(s) or file URL, or a local path (a Windows drive letter is a path,
// not a scheme). The empty string is valid: the driver's default.
func ValidURL(s string) bool {
	u, err := url.Parse(s)
	if s == "" || err != nil || len(u.Scheme) <= 1 {
		return true
	}
	return u.Scheme == "http" || u.Scheme == "https" || u.Scheme == "file"
}
