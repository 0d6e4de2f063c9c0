package integration

import (
	"encoding/json"
	"os/exec"
	"strings"
	"testing"

	"github.com/machine-cli/machine/drivers"
	"github.com/machine-cli/machine/drivers/drivertest"
	"github.com/machine-cli/machine/libmachine/host"
	"github.com/machine-cli/machine/libmachine/store"
)

// TestCommands drives status, active, the power operations of the generic
// driver and a real reboot through `restart` on one test host (n1), and
// active's choice between two machines (n1 and m2 on a second host).
func TestCommands(t *testing.T) {
	h, h2 := startHost(t, dockerImage), startHost(t, dockerImage)
	m := newCLI(t)
	m.createGeneric(t, h, "n1")
	m.createGeneric(t, h2, "m2")
	n1 := parseEnv(t, m.ok(t, "env", "--shell", "bash", "n1").Stdout)
	m2 := parseEnv(t, m.ok(t, "env", "--shell", "bash", "m2").Stdout)

	t.Run("status", func(t *testing.T) {
		r := m.ok(t, "status", "n1")
		if r.Stdout != "Running\n" || r.Stderr != "" {
			t.Errorf("status n1: stdout %q, stderr %q; want Running", r.Stdout, r.Stderr)
		}
		m.fails(t, `machine "ghost" does not exist`, "status", "ghost")
	})

	t.Run("active", func(t *testing.T) {
		for name, vars := range map[string]map[string]string{"n1": n1, "m2": m2} {
			r := m.withEnv("DOCKER_HOST="+vars["DOCKER_HOST"]).ok(t, "active")
			if r.Stdout != name+"\n" || r.Stderr != "" {
				t.Errorf("active with DOCKER_HOST of %s: stdout %q, stderr %q", name, r.Stdout, r.Stderr)
			}
		}
		m.withEnv("DOCKER_HOST=tcp://"+h.IP+":2377").fails(t, "No active host found: no machine has DOCKER_HOST's URL tcp://"+h.IP+":2377", "active")
		m.withEnv("DOCKER_HOST=").fails(t, "No active host found: DOCKER_HOST is not set", "active")
	})

	t.Run("power operations the generic driver cannot do", func(t *testing.T) {
		tests := []struct{ op, want string }{
			{"start", "start n1: the generic driver cannot start a machine: start the host " + h.IP + " by its own means"},
			{"stop", "stop n1: the generic driver cannot stop a machine: stop the host " + h.IP + ` by its own means ("machine restart n1" reboots it over SSH)`},
			{"kill", "kill n1: the generic driver cannot kill a machine: power off the host " + h.IP + ` by its own means ("machine restart n1" reboots it over SSH)`},
		}
		for _, tc := range tests {
			r := m.fails(t, tc.want, tc.op, "n1")
			if r.Stdout != "" {
				t.Errorf("%s: stdout %q", tc.op, r.Stdout)
			}
		}
		if r := m.ok(t, "status", "n1"); r.Stdout != "Running\n" {
			t.Errorf("status after the refused operations: %q", r.Stdout)
		}
	})

	t.Run("status of a paused host", func(t *testing.T) {
		if out, err := exec.Command("docker", "pause", h2.Name).CombinedOutput(); err != nil {
			t.Fatalf("pause: %v %s", err, out)
		}
		t.Cleanup(func() { _ = exec.Command("docker", "unpause", h2.Name).Run() })
		// The generic driver's state is whether the SSH port takes a
		// connection, and a frozen host's kernel still takes it: status
		// prints what the driver says, within the timeout.
		r := m.ok(t, "status", "-t", "5", "m2")
		if r.Stdout != "Running\n" {
			t.Errorf("status of the paused host: stdout %q, stderr %q", r.Stdout, r.Stderr)
		}
		if out, err := exec.Command("docker", "unpause", h2.Name).CombinedOutput(); err != nil {
			t.Fatalf("unpause: %v %s", err, out)
		}
	})

	t.Run("restart reboots the host", func(t *testing.T) {
		// What tells one boot from the next: the container's start and the
		// start time of its PID 1. The kernel's boot_id does not change: a
		// test host is a container on this machine's kernel, which does not
		// reboot (the driver reads both).
		boot := func() string {
			return strings.TrimSpace(h.exec(t, `cat /proc/sys/kernel/random/boot_id; sed 's/.*) //' /proc/1/stat | cut -d' ' -f20`))
		}
		restarts := func() string {
			out, err := exec.Command("docker", "inspect", "-f", "{{.RestartCount}} {{.State.StartedAt}}", h.Name).CombinedOutput()
			if err != nil {
				t.Fatalf("docker inspect: %v %s", err, out)
			}
			return strings.TrimSpace(string(out))
		}
		bootBefore, startBefore := boot(), restarts()
		r := m.ok(t, "restart", "n1")
		if r.Stdout != "" || !strings.Contains(r.Stderr, `Restarting "n1"...`) || !strings.Contains(r.Stderr, `Machine "n1" was restarted.`) {
			t.Errorf("restart n1: stdout %q, stderr %q", r.Stdout, r.Stderr)
		}
		if startAfter := restarts(); startAfter == startBefore || strings.HasPrefix(startAfter, "0 ") {
			t.Errorf("the host did not restart: RestartCount and StartedAt %q before, %q after", startBefore, startAfter)
		}
		bootAfter := boot()
		if bootAfter == bootBefore {
			t.Errorf("boot key %q unchanged by the restart", bootAfter)
		}
		// restart returned once dockerd answered: docker works at once.
		if v, err := dockerVersion(t, n1); err != nil || v == "" {
			t.Errorf("docker version through env after the restart: %v: %s", err, v)
		}
		if r := m.ok(t, "status", "n1"); r.Stdout != "Running\n" {
			t.Errorf("status after the restart: %q", r.Stdout)
		}
	})

	t.Run("restart of a host that is down", func(t *testing.T) {
		if out, err := exec.Command("docker", "stop", "-t", "1", h.Name).CombinedOutput(); err != nil {
			t.Fatalf("docker stop: %v %s", err, out)
		}
		r := m.fails(t, `restart n1: generic driver: cannot restart "n1"`, "restart", "n1")
		if !strings.Contains(r.Stderr, h.IP+":22") || !strings.HasSuffix(strings.TrimSpace(r.Stderr), "machine is not running") || r.Stdout != "" {
			t.Errorf("stdout %q, stderr %q; want the error to name %s:22 and end in \"machine is not running\"", r.Stdout, r.Stderr, h.IP)
		}
		if r := m.withEnv("DOCKER_HOST="+n1["DOCKER_HOST"]).fails(t, `No active host found: DOCKER_HOST `+n1["DOCKER_HOST"]+` is machine "n1"`, "active", "-t", "3"); r.Stdout != "" {
			t.Errorf("active: stdout %q", r.Stdout)
		}
	})
}

// TestStatusStandInDriver: status prints the state a driver reports, any of
// docker-machine's states, and Timeout when the driver does not answer
// within --timeout. The driver is the stand-in machine-driver-fake (an
// external driver on PATH), since no real driver here can be made to pause,
// save or hang a machine; its machines are written to the store directly,
// so nothing is dialed.
func TestStatusStandInDriver(t *testing.T) {
	m := newCLI(t)
	st := store.New(m.store)
	add := func(name string, fake drivertest.Fake) {
		fake.MachineName, fake.StorePath, fake.Created = name, m.store, true
		raw, err := json.Marshal(fake)
		if err != nil {
			t.Fatal(err)
		}
		if err := st.CreateMachineDir(name); err != nil {
			t.Fatal(err)
		}
		h := &host.Host{ConfigVersion: host.ConfigVersion, Name: name, DriverName: "fake", Driver: raw,
			HostOptions: &host.Options{Driver: "fake", EngineOptions: &host.EngineOptions{}, SwarmOptions: &host.SwarmOptions{}, AuthOptions: &host.AuthOptions{}}}
		if err := st.Save(h); err != nil {
			t.Fatal(err)
		}
	}
	states := []drivers.State{drivers.Running, drivers.Paused, drivers.Saved, drivers.Stopped, drivers.Stopping, drivers.Starting}
	for _, s := range states {
		add(strings.ToLower(s.String()), drivertest.Fake{Status: s})
	}
	add("hangs", drivertest.Fake{Status: drivers.Running, Block: []string{"GetState"}})
	add("fails", drivertest.Fake{Errors: map[string]string{"GetState": "disk on fire"}})

	for _, s := range states {
		t.Run(s.String(), func(t *testing.T) {
			r := m.ok(t, "status", strings.ToLower(s.String()))
			if r.Stdout != s.String()+"\n" {
				t.Errorf("stdout %q, want %q", r.Stdout, s.String()+"\n")
			}
		})
	}
	t.Run("Timeout", func(t *testing.T) {
		r := m.fails(t, `the driver of "hangs" did not say its state within 2s (raise it with --timeout)`, "status", "-t", "2", "hangs")
		if r.Stdout != "Timeout\n" {
			t.Errorf("stdout %q, want Timeout", r.Stdout)
		}
	})
	t.Run("Error", func(t *testing.T) {
		r := m.fails(t, "state of fails: disk on fire", "status", "fails")
		if r.Stdout != "Error\n" {
			t.Errorf("stdout %q, want Error", r.Stdout)
		}
	})
}
