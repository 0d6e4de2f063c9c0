package cloudinit

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/diskfs/go-diskfs/backend/file"
	"github.com/diskfs/go-diskfs/filesystem/iso9660"
)

// isoBlockSize is the ISO 9660 logical block size that cloud-init's
// readers (the kernel's isofs, blkid) expect.
const isoBlockSize = 2048

// Files returns the seed's files by name: user-data, meta-data and, when
// the config has NICs, network-config.
func (c Config) Files() (map[string][]byte, error) {
	ud, err := c.UserData()
	if err != nil {
		return nil, err
	}
	md, err := c.MetaData()
	if err != nil {
		return nil, err
	}
	files := map[string][]byte{UserDataFile: ud, MetaDataFile: md}
	nc, err := c.NetworkConfig()
	if err != nil {
		return nil, err
	}
	if nc != nil {
		files[NetworkConfigFile] = nc
	}
	return files, nil
}

// WriteSeed writes the NoCloud seed ISO of c to path, replacing it
// atomically: a temporary file beside path is written, synced and renamed,
// so a failure leaves the old seed or none, never a partial one. The ISO
// has Rock Ridge and Joliet names (the lower-case file names cloud-init
// looks for) and the volume label "cidata".
func WriteSeed(path string, c Config) error {
	files, err := c.Files()
	if err != nil {
		return fmt.Errorf("seed %s: %w", path, err)
	}
	dir := filepath.Dir(path)
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return fmt.Errorf("seed %s: %w", path, err)
	}
	ok := false
	defer func() {
		if !ok {
			_ = tmp.Close()
			_ = os.Remove(tmp.Name())
		}
	}()
	// go-diskfs stages the files in a workspace directory and writes the
	// image on Finalize; the workspace is ours to remove.
	work, err := os.MkdirTemp(dir, "."+filepath.Base(path)+".work-*")
	if err != nil {
		return fmt.Errorf("seed %s: %w", path, err)
	}
	defer os.RemoveAll(work)
	if err := writeISO(tmp, work, files); err != nil {
		return fmt.Errorf("seed %s: %w", path, err)
	}
	if err := tmp.Sync(); err != nil {
		return fmt.Errorf("seed %s: %w", path, err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("seed %s: %w", path, err)
	}
	if err := os.Chmod(tmp.Name(), 0o644); err != nil {
		return fmt.Errorf("seed %s: %w", path, err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("seed %s: %w", path, err)
	}
	ok = true
	if d, err := os.Open(dir); err == nil {
		_ = d.Sync()
		_ = d.Close()
	}
	return nil
}

// writeISO writes an ISO 9660 image of files to f, staging in work.
func writeISO(f *os.File, work string, files map[string][]byte) error {
	fsys, err := iso9660.Create(file.New(f, false), 0, 0, isoBlockSize, work)
	if err != nil {
		return fmt.Errorf("create ISO: %w", err)
	}
	for name, data := range files {
		w, err := fsys.OpenFile("/"+name, os.O_CREATE|os.O_RDWR)
		if err != nil {
			return fmt.Errorf("add %s: %w", name, err)
		}
		if _, err := w.Write(data); err != nil {
			_ = w.Close()
			return fmt.Errorf("add %s: %w", name, err)
		}
		if err := w.Close(); err != nil {
			return fmt.Errorf("add %s: %w", name, err)
		}
	}
	if err := fsys.Finalize(iso9660.FinalizeOptions{RockRidge: true, Joliet: true, VolumeIdentifier: VolumeLabel}); err != nil {
		return fmt.Errorf("write ISO: %w", err)
	}
	return nil
}
