package libmachine

import (
	"context"
	"crypto/rand"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/machine-cli/machine/libmachine/transfer"
	"github.com/machine-cli/machine/sshclient"
	"github.com/machine-cli/machine/sshclient/sshtest"
)

// benchSize is the size of the file the copy benchmarks move.
const benchSize = 50 << 20

// BenchmarkCopy50MB copies a 50 MB file over SSH on loopback to a real SSH
// server in this process (sshtest, which serves SFTP and runs rsync's
// server side), the ways scp can: over SFTP up and down, and with rsync
// over the system's ssh, in full and when the destination is unchanged.
// Loopback leaves out the network: what is measured is the SSH and copy
// pipeline's own cost (encryption, SFTP request windows, rsync).
func BenchmarkCopy50MB(b *testing.B) {
	srv := sshtest.NewServer(b, sshtest.Options{})
	dir := b.TempDir()
	kh, okh := filepath.Join(dir, "known_hosts"), filepath.Join(dir, "known_hosts.openssh")
	c, err := sshclient.Dial(context.Background(), sshclient.Config{Host: srv.Host, Port: srv.Port, User: "root", KeyPath: srv.ClientKeyPath, KnownHostsPath: kh})
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	sc, err := c.SFTP()
	if err != nil {
		b.Fatal(err)
	}
	defer sc.Close()
	remote := transfer.SFTP{Client: sc, Label: "bench"}
	if _, err := sshclient.WriteOpenSSHKnownHosts(kh, okh, srv.Addr, "bench"); err != nil {
		b.Fatal(err)
	}
	o := sshclient.OpenSSH{Host: srv.Host, Port: srv.Port, User: "root", KeyPath: srv.ClientKeyPath, KnownHostsPath: okh, Alias: "bench"}

	src := filepath.Join(dir, "src.bin")
	data := make([]byte, benchSize)
	_, _ = rand.Read(data)
	if err := os.WriteFile(src, data, 0o644); err != nil {
		b.Fatal(err)
	}
	dst := filepath.Join(dir, "dst.bin")
	ctx := context.Background()

	b.Run("sftp-upload", func(b *testing.B) {
		b.SetBytes(benchSize)
		for b.Loop() {
			if err := transfer.Copy(ctx, transfer.Local{}, src, remote, dst, transfer.Options{}); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("sftp-download", func(b *testing.B) {
		b.SetBytes(benchSize)
		for b.Loop() {
			if err := transfer.Copy(ctx, remote, src, transfer.Local{}, dst, transfer.Options{}); err != nil {
				b.Fatal(err)
			}
		}
	})
	sshPath, err := exec.LookPath("ssh")
	if err != nil {
		b.Fatal("the rsync benchmarks need OpenSSH's client")
	}
	rsync := func(b *testing.B) {
		out, err := exec.Command("rsync", RsyncArgs(sshPath, &o, src, o.Remote(dst), false, true)...).CombinedOutput()
		if err != nil {
			b.Fatalf("rsync: %v: %s", err, out)
		}
	}
	b.Run("rsync-upload", func(b *testing.B) {
		b.SetBytes(benchSize)
		for b.Loop() {
			_ = os.Remove(dst)
			rsync(b)
		}
	})
	b.Run("rsync-upload-unchanged", func(b *testing.B) {
		rsync(b)
		b.SetBytes(benchSize)
		for b.Loop() {
			rsync(b)
		}
	})
}
