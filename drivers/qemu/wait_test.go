package qemu

import (
	"context"
	"errors"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/machine-cli/machine/internal/standin"
)

func TestWaitBootNotRunning(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, SerialLog), []byte("BdsDxe: starting Boot0001\r\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	var out strings.Builder
	err := Open(dir).WaitBoot(context.Background(), &out, "127.0.0.1:1", 0)
	be, ok := err.(*BootError)
	if !ok || be.Reason != "QEMU is not running" || len(be.Tail) != 1 {
		t.Fatalf("err = %#v", err)
	}
}

func TestStatusOf(t *testing.T) {
	for in, want := range map[string]Status{
		"running": StatusRunning, "paused": StatusPaused, "prelaunch": StatusPaused, "suspended": StatusPaused,
		"shutdown": StatusStopped, "guest-panicked": StatusError, "internal-error": StatusError,
	} {
		if got := statusOf(in); got != want {
			t.Errorf("statusOf(%q) = %s, want %s", in, got, want)
		}
	}
}

// TestWaitBootLiveProcess waits on a live process standing for QEMU (its
// command line names the VM's pidfile, as QEMU's does) with a serial log
// and an SSH address that answer in each way a boot ends.
func TestWaitBootLiveProcess(t *testing.T) {
	banner := func(t *testing.T) string {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { l.Close() })
		go func() {
			for {
				c, err := l.Accept()
				if err != nil {
					return
				}
				c.Write([]byte("SSH-2.0-OpenSSH_9.2\r\n"))
				c.Close()
			}
		}()
		return l.Addr().String()
	}
	silent := func(t *testing.T) string { return "127.0.0.1:" + strconv.Itoa(standin.SilentPort(t)) }
	for _, tc := range []struct {
		name      string
		serial    string
		addr      func(*testing.T) string
		bound     time.Duration
		reason    string // "" for a boot that succeeds
		wantTail  string
		wantNotes []string
	}{
		{
			name:      "answers",
			serial:    "BdsDxe: starting Boot0001\r\n[    0.000000] Linux version 6.1.0\r\nsystemd[1]: started\r\n",
			addr:      banner,
			bound:     time.Minute,
			wantNotes: []string{"qemu: system (", "qemu: SSH answers on 127.0.0.1:"},
		},
		{
			name:     "never answers",
			serial:   "BdsDxe: starting Boot0001\r\n[    0.000000] Linux version 6.1.0\r\nKernel panic - not syncing: VFS\r\n",
			addr:     silent,
			bound:    2 * time.Second,
			reason:   "the VM did not answer on SSH (127.0.0.1:",
			wantTail: "Kernel panic - not syncing: VFS",
		},
		{
			name:     "nothing to boot (OVMF)",
			serial:   "BdsDxe: failed to load Boot0001 \"UEFI Misc Device\" from PciRoot(0x0)/Pci(0x1,0x0): Not Found\r\n\x1b[2J\x1b[01;01HUEFI Interactive Shell v2.2\r\nEDK II\r\n",
			addr:     silent,
			bound:    time.Minute,
			reason:   "the firmware found nothing to boot on the machine's disk",
			wantTail: "EDK II",
		},
		{
			name:     "nothing to boot (SeaBIOS)",
			serial:   "Booting from Hard Disk...\r\nBoot failed: not a bootable disk\r\n\r\nNo bootable device.\r\n",
			addr:     silent,
			bound:    time.Minute,
			reason:   "the firmware found nothing to boot on the machine's disk",
			wantTail: "No bootable device.",
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			if err := os.WriteFile(filepath.Join(dir, SerialLog), []byte(tc.serial), 0o600); err != nil {
				t.Fatal(err)
			}
			// QEMU's command line names its pidfile; so does this one's ($0).
			cmd := exec.Command("sh", "-c", "sleep 120", filepath.Join(dir, PIDFile))
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
			if err := os.WriteFile(filepath.Join(dir, PIDFile), []byte(strconv.Itoa(cmd.Process.Pid)+"\n"), 0o600); err != nil {
				t.Fatal(err)
			}
			var out strings.Builder
			err := Open(dir).WaitBoot(context.Background(), &out, tc.addr(t), tc.bound)
			if tc.reason == "" {
				if err != nil {
					t.Fatalf("WaitBoot: %v", err)
				}
				for _, n := range tc.wantNotes {
					if !strings.Contains(out.String(), n) {
						t.Errorf("progress lacks %q:\n%s", n, out.String())
					}
				}
				return
			}
			var be *BootError
			if !errors.As(err, &be) {
				t.Fatalf("err = %v, want a BootError", err)
			}
			if !strings.HasPrefix(be.Reason, tc.reason) {
				t.Errorf("reason = %q, want %q...", be.Reason, tc.reason)
			}
			if len(be.Tail) == 0 || be.Tail[len(be.Tail)-1] != tc.wantTail {
				t.Errorf("tail = %q, want it to end with %q", be.Tail, tc.wantTail)
			}
		})
	}
}
