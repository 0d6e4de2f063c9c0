package vmready

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestSerialTailAndStage(t *testing.T) {
	path := filepath.Join(t.TempDir(), "serial.log")
	log := "\x1b[2J\x1b[01;01HBdsDxe: starting Boot0001\r\n\r\n[    0.000000] Linux version 6.1.0\r\n" +
		"line a\r\nline b\r\n\x1b[0;32m  OK  \x1b[0m] Started ssh.service\r\n"
	if err := os.WriteFile(path, []byte(log), 0o600); err != nil {
		t.Fatal(err)
	}
	got := SerialTail(path, 3)
	want := []string{"line a", "line b", "OK  ] Started ssh.service"}
	if strings.Join(got, "|") != strings.Join(want, "|") {
		t.Errorf("tail = %q, want %q", got, want)
	}
	if s := Stage(path); s != "kernel" {
		t.Errorf("stage = %s, want kernel", s)
	}
	none := filepath.Join(t.TempDir(), "none.log")
	if tail := SerialTail(none, 3); len(tail) != 0 || Stage(none) != "firmware" {
		t.Errorf("no log: tail %q, stage %s", tail, Stage(none))
	}
}

func TestBootError(t *testing.T) {
	e := &BootError{Reason: "the VM did not answer on SSH (127.0.0.1:1) within 5m0s", Log: "/m/serial.log", Tail: []string{"a", "b"}}
	want := "the VM did not answer on SSH (127.0.0.1:1) within 5m0s; last lines of its serial console (/m/serial.log):\n    a\n    b"
	if e.Error() != want {
		t.Errorf("got %q\nwant %q", e.Error(), want)
	}
	if e := NewBootError("down", filepath.Join(t.TempDir(), "none")); !strings.HasSuffix(e.Error(), "the VM printed nothing on its serial console ("+e.Log+")") {
		t.Errorf("got %q", e.Error())
	}
}
