package vmimage

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestFetchRequest(t *testing.T) {
	img := filepath.Join(t.TempDir(), "disk.raw")
	data := []byte("a raw disk image, in short")
	if err := os.WriteFile(img, data, 0o644); err != nil {
		t.Fatal(err)
	}
	sum := fmt.Sprintf("sha256:%x", sha256.Sum256(data))
	noDefault := func() (string, error) { return "", errors.New("no default image for riscv64") }
	for _, tc := range []struct {
		name    string
		req     Request
		wantErr string
	}{
		{name: "given with its checksum", req: Request{URL: img, Checksum: sum}},
		{name: "the default", req: Request{Checksum: sum, Default: func() (string, error) { return img, nil }}},
		{name: "no default for this host", req: Request{Default: noDefault}, wantErr: "no default image for riscv64; give an image with --qemu-image-url"},
		{name: "checksum malformed", req: Request{URL: img, Checksum: "sha256:abc"}, wantErr: "--qemu-image-checksum: "},
		{name: "checksum differs", req: Request{URL: img, Checksum: "sha256:" + strings.Repeat("0", 64)}, wantErr: "image: "},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.req.URLFlag, tc.req.ChecksumFlag = "qemu-image-url", "qemu-image-checksum"
			var lines []string
			got, err := FetchRequest(context.Background(), t.TempDir(), tc.req, func(l string) { lines = append(lines, l) })
			if tc.wantErr != "" {
				if err == nil || !strings.HasPrefix(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want %q...", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			cached, err := os.ReadFile(got.Path)
			if err != nil || string(cached) != string(data) {
				t.Errorf("cached image %s = %q, %v", got.Path, cached, err)
			}
			if len(lines) == 0 {
				t.Error("no progress lines")
			}
		})
	}
}

func TestValidURL(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want bool
	}{
		{"", true},
		{"https://cloud.debian.org/images/cloud/trixie/latest/debian-13-genericcloud-amd64.qcow2", true},
		{"http://127.0.0.1:8080/disk.raw", true},
		{"file:///var/cache/disk.qcow2", true},
		{"/var/cache/disk.qcow2", true},
		{"disk.qcow2", true},
		{`C:\images\disk.vhd`, true},
		{"ftp://mirror/disk.qcow2", false},
		{"s3://bucket/disk.qcow2", false},
	} {
		if got := ValidURL(tc.in); got != tc.want {
			t.Errorf("ValidURL(%q) = %v, want %v", tc.in, got, tc.want)
		}
	}
}
