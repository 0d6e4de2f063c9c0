package qemu

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestSerialTail(t *testing.T) {
	dir := t.TempDir()
	log := "\x1b[2J\x1b[01;01HBdsDxe: starting Boot0001\r\n\r\n[    0.000000] Linux version 6.1.0\r\n" +
		"line a\r\nline b\r\n\x1b[0;32m  OK  \x1b[0m] Started ssh.service\r\n"
	if err := os.WriteFile(filepath.Join(dir, SerialLog), []byte(log), 0o600); err != nil {
		t.Fatal(err)
	}
	v := Open(dir)
	got := v.SerialTail(3)
	want := []string{"line a", "line b", "OK  ] Started ssh.service"}
	if strings.Join(got, "|") != strings.Join(want, "|") {
		t.Errorf("tail = %q, want %q", got, want)
	}
	if s := v.stage(); s != "kernel" {
		t.Errorf("stage = %s, want kernel", s)
	}
	if tail := Open(t.TempDir()).SerialTail(3); len(tail) != 0 {
		t.Errorf("tail of no log = %q", tail)
	}
}

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
