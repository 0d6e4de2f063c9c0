package integration

import (
	"fmt"
	"os/exec"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"
)

// azureVMHost is the test host standing for the stand-in's VM name (in
// any resource group), or nil.
func azureVMHost(a *azureHosts, name string) *testHost {
	a.mu.Lock()
	defer a.mu.Unlock()
	for id, h := range a.hosts {
		if strings.HasSuffix(id, "/virtualmachines/"+strings.ToLower(name)) {
			return h
		}
	}
	return nil
}

// azureVnetAddr is the address of VM name's test host on the network
// standing for the vnet (its private IP), read from Docker, not from the
// driver or the stand-in.
func azureVnetAddr(t *testing.T, a *azureHosts, name string) (priv, pub string) {
	t.Helper()
	h := azureVMHost(a, name)
	if h == nil {
		t.Fatalf("no test host for VM %s", name)
	}
	out, err := exec.Command("docker", "inspect", "-f", `{{(index .NetworkSettings.Networks "`+a.vnet+`").IPAddress}}`, h.Name).Output()
	if err != nil || strings.TrimSpace(string(out)) == "" {
		t.Fatalf("address of %s on %s: %v %s", h.Name, a.vnet, err, out)
	}
	return strings.TrimSpace(string(out)), h.IP
}

// azureLeft fails t when the stand-in holds anything or a VM host is left.
func azureLeft(t *testing.T, srv interface{ Resources() []string }, hosts *azureHosts, after string) {
	t.Helper()
	if left := srv.Resources(); len(left) > 0 {
		t.Errorf("the stand-in still holds, after %s:\n%s", after, strings.Join(left, "\n"))
	}
	if n := hosts.count(); n != 0 {
		t.Errorf("%d VM hosts left after %s", n, after)
	}
}

// TestAzureStandInSwarm: the book's three-node swarm on Azure through the
// CLI, into the ARM stand-in: create --swarm-init, a manager and a worker
// joining it. Every node is Ready, two are managers, and each advertises
// its private (vnet) address, not its public one, as the NSG opens the
// swarm ports to the virtual network only. rm of worker, manager, then the
// last manager leaves nothing in the stand-in.
func TestAzureStandInSwarm(t *testing.T) {
	start := time.Now()
	srv, hosts, m, create := azureStandIn(t)
	m.ok(t, append(create, "--swarm-init", "swarm01")...)
	t.Logf("swarm01 created after %v", time.Since(start).Round(time.Second))
	m.ok(t, append(create, "--swarm-join", "swarm01", "--swarm-manager", "swarm02")...)
	t.Logf("swarm02 created after %v", time.Since(start).Round(time.Second))
	m.ok(t, append(create, "--swarm-join", "swarm01", "swarm03")...)
	t.Logf("swarm03 created after %v", time.Since(start).Round(time.Second))
	vars := parseEnv(t, m.ok(t, "env", "--shell", "bash", "swarm01").Stdout)

	t.Run("nodes", func(t *testing.T) {
		out := mustDocker(t, vars, "node", "ls", "--format", "{{.Hostname}} {{.Status}} {{.ManagerStatus}}")
		lines := strings.Split(out, "\n")
		managers := 0
		var names []string
		for _, l := range lines {
			f := strings.Fields(l)
			if len(f) < 2 || f[1] != "Ready" {
				t.Errorf("node not Ready: %q", l)
			}
			if len(f) > 0 {
				names = append(names, f[0])
			}
			if len(f) == 3 {
				managers++
			}
		}
		sort.Strings(names)
		if len(lines) != 3 || managers != 2 || strings.Join(names, " ") != "swarm01 swarm02 swarm03" {
			t.Errorf("docker node ls: want swarm01-03, 2 managers:\n%s", out)
		}
	})
	t.Run("nodes advertise their vnet addresses", func(t *testing.T) {
		for _, name := range []string{"swarm01", "swarm02", "swarm03"} {
			priv, pub := azureVnetAddr(t, hosts, name)
			if priv == pub {
				t.Fatalf("%s: private and public address are both %s; the test proves nothing", name, priv)
			}
			if got := mustDocker(t, vars, "node", "inspect", name, "--format", "{{.Status.Addr}}"); got != priv {
				t.Errorf("node %s: Status.Addr %s, want its private address %s (public %s)", name, got, priv, pub)
			}
			if name != "swarm03" {
				want := priv + ":2377"
				if got := mustDocker(t, vars, "node", "inspect", name, "--format", "{{.ManagerStatus.Addr}}"); got != want {
					t.Errorf("manager %s: ManagerStatus.Addr %s, want %s (public %s)", name, got, want, pub)
				}
			}
			// What the driver reports agrees with the host.
			if got := strings.TrimSpace(m.ok(t, "ip", name).Stdout); got != pub {
				t.Errorf("machine ip %s = %s, want the public address %s", name, got, pub)
			}
		}
	})

	// Worker, then a manager (demoted through swarm01), then the last
	// manager, alone by then: no last-manager refusal on the way.
	rmStart := time.Now()
	r := m.ok(t, "rm", "-y", "swarm03", "swarm02", "swarm01")
	t.Logf("rm took %v", time.Since(rmStart).Round(time.Second))
	for _, want := range []string{"Successfully removed swarm03", "Successfully removed swarm02", "Successfully removed swarm01"} {
		if !strings.Contains(r.Stderr, want) {
			t.Errorf("rm did not say %q:\n%s", want, r.Stderr)
		}
	}
	if names := m.ok(t, "ls", "-q").Stdout; names != "" {
		t.Errorf("store after rm: %q", names)
	}
	azureLeft(t, srv, hosts, "rm")
	t.Logf("total %v", time.Since(start).Round(time.Second))
}

// TestAzureStandInConcurrent: three creates at once into one new resource
// group make the shared resource group, virtual network, subnet and
// availability set once between them (each machine has its own NSG, as in
// docker-machine); each machine's engine answers; three rms at once leave
// nothing in the stand-in.
func TestAzureStandInConcurrent(t *testing.T) {
	start := time.Now()
	srv, hosts, m, create := azureStandIn(t)
	names := []string{"conc1", "conc2", "conc3"}
	all := func(args func(name string) []string) []result {
		res := make([]result, len(names))
		var wg sync.WaitGroup
		for i, n := range names {
			wg.Go(func() { res[i] = m.run(t, args(n)...) })
		}
		wg.Wait()
		return res
	}
	for i, r := range all(func(n string) []string { return append(create, "--azure-resource-group", "it-conc", n) }) {
		if r.Code != 0 {
			t.Errorf("create %s: exit %d\n%s", names[i], r.Code, r.Stderr)
		}
	}
	t.Logf("created after %v", time.Since(start).Round(time.Second))
	if t.Failed() {
		t.FailNow()
	}

	count := map[string]int{}
	const group = "/resourcegroups/it-conc"
	for _, id := range srv.Resources() {
		low := strings.ToLower(id)
		if !strings.Contains(low+"/", group+"/") {
			t.Errorf("resource outside resource group it-conc: %s", id)
			continue
		}
		switch {
		case strings.Contains(low, "/subnets/"):
			count["subnet"]++
		case strings.Contains(low, "/virtualnetworks/"):
			count["vnet"]++
		case strings.Contains(low, "/networksecuritygroups/"):
			count["nsg"]++
		case strings.Contains(low, "/availabilitysets/"):
			count["avset"]++
		case strings.HasSuffix(low, group):
			count["group"]++
		}
	}
	if want := map[string]int{"group": 1, "vnet": 1, "subnet": 1, "nsg": 3, "avset": 1}; fmt.Sprint(count) != fmt.Sprint(want) {
		t.Errorf("resources in it-conc: %v, want %v:\n%s", count, want, strings.Join(srv.Resources(), "\n"))
	}

	for _, n := range names {
		vars := parseEnv(t, m.ok(t, "env", "--shell", "bash", n).Stdout)
		if v, err := dockerVersion(t, vars); err != nil || v == "" {
			t.Errorf("docker version through env %s: %v: %s", n, err, v)
		}
		if got, want := vars["DOCKER_HOST"], azureVMHost(hosts, n); want == nil || got != "tcp://"+want.IP+":2376" {
			t.Errorf("env %s: DOCKER_HOST %s, not its own host", n, got)
		}
	}

	rmStart := time.Now()
	for i, r := range all(func(n string) []string { return []string{"rm", "-y", n} }) {
		if r.Code != 0 {
			t.Errorf("rm %s: exit %d\n%s", names[i], r.Code, r.Stderr)
		}
	}
	t.Logf("rm took %v", time.Since(rmStart).Round(time.Second))
	if names := m.ok(t, "ls", "-q").Stdout; names != "" {
		t.Errorf("store after rm: %q", names)
	}
	azureLeft(t, srv, hosts, "three rms at once")
	t.Logf("total %v", time.Since(start).Round(time.Second))
}
