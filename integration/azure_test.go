package integration

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/machine-cli/machine/drivers/azure/azuretest"
	"github.com/machine-cli/machine/internal/standin"
)

// azureHosts makes the ARM stand-in's VMs real: each VM is a test host on
// the test network, whose address stands for its public IP, and on a
// network of its own test standing for the vnet, whose address is its
// private IP; the VM's admin user gets its SSH keys and sudo, as Azure's
// agent does.
type azureHosts struct {
	t    *testing.T
	vnet string // docker network standing for the vnet

	mu    sync.Mutex
	hosts map[string]*testHost // by VM ID
}

func newAzureHosts(t *testing.T) *azureHosts {
	t.Helper()
	a := &azureHosts{t: t, vnet: fmt.Sprintf("machine-it-%d-vnet%d", os.Getpid(), env.seq.Add(1)), hosts: map[string]*testHost{}}
	var last []byte
	for i := 0; i < 40; i++ {
		out, err := exec.Command("docker", "network", "create", "--label", runMark(), "--subnet", fmt.Sprintf("172.30.%d.0/24", 100+i), a.vnet).CombinedOutput()
		if err == nil {
			t.Cleanup(func() { _ = exec.Command("docker", "network", "rm", a.vnet).Run() })
			return a
		}
		last = out
	}
	t.Fatalf("create the vnet network: %s", last)
	return nil
}

// CreateVM starts a test host for vm.
func (a *azureHosts) CreateVM(_ context.Context, vm azuretest.VM) (string, string, error) {
	h, err := launchHost(a.t, dockerImage)
	if err != nil {
		return "", "", err
	}
	if out, err := exec.Command("docker", "network", "connect", a.vnet, h.Name).CombinedOutput(); err != nil {
		return "", "", fmt.Errorf("connect %s to the vnet: %v: %s", h.Name, err, out)
	}
	priv, err := exec.Command("docker", "inspect", "-f", `{{(index .NetworkSettings.Networks "`+a.vnet+`").IPAddress}}`, h.Name).Output()
	if err != nil {
		return "", "", fmt.Errorf("inspect %s: %v", h.Name, err)
	}
	user := vm.AdminUsername
	script := fmt.Sprintf(`set -e
useradd -m -s /bin/bash %[1]s
mkdir -p /home/%[1]s/.ssh
cat > /home/%[1]s/.ssh/authorized_keys
chown -R %[1]s: /home/%[1]s/.ssh
chmod 700 /home/%[1]s/.ssh
chmod 600 /home/%[1]s/.ssh/authorized_keys
echo '%[1]s ALL=(ALL) NOPASSWD:ALL' > /etc/sudoers.d/90-azure-agent
hostname %[2]s`, user, vm.ComputerName)
	cmd := exec.Command("docker", "exec", "-i", h.Name, "sh", "-c", script)
	cmd.Stdin = strings.NewReader(strings.Join(vm.SSHPublicKeys, "\n") + "\n")
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", "", fmt.Errorf("set up %s's admin user: %v: %s", vm.Name, err, out)
	}
	a.mu.Lock()
	a.hosts[strings.ToLower(vm.ID)] = h
	a.mu.Unlock()
	return h.IP, strings.TrimSpace(string(priv)), nil
}

// DeleteVM removes vm's test host.
func (a *azureHosts) DeleteVM(_ context.Context, vm azuretest.VM) error {
	a.mu.Lock()
	h := a.hosts[strings.ToLower(vm.ID)]
	delete(a.hosts, strings.ToLower(vm.ID))
	a.mu.Unlock()
	if h == nil {
		return nil
	}
	if out, err := exec.Command("docker", "rm", "-f", "-v", h.Name).CombinedOutput(); err != nil {
		return fmt.Errorf("remove %s: %v: %s", h.Name, err, out)
	}
	return nil
}

// PowerVM stops or starts vm's test host.
func (a *azureHosts) PowerVM(_ context.Context, vm azuretest.VM, on bool) error {
	a.mu.Lock()
	h := a.hosts[strings.ToLower(vm.ID)]
	a.mu.Unlock()
	if h == nil {
		return fmt.Errorf("no test host for %s", vm.ID)
	}
	verb := "stop"
	if on {
		verb = "start"
	}
	if out, err := exec.Command("docker", verb, h.Name).CombinedOutput(); err != nil {
		return fmt.Errorf("%s %s: %v: %s", verb, h.Name, err, out)
	}
	return nil
}

// count is how many VMs have a test host now.
func (a *azureHosts) count() int {
	a.mu.Lock()
	defer a.mu.Unlock()
	return len(a.hosts)
}

// azureStandIn starts the ARM stand-in backed by real test hosts and
// returns a CLI whose environment points the azure driver at it as a
// custom cloud, signed in with a client secret, with every other way out
// of this machine closed: the proxy variables name a closed loopback
// port, and the credential chain may not probe the metadata address.
func azureStandIn(t *testing.T) (*azuretest.Server, *azureHosts, *machineCLI, []string) {
	t.Helper()
	hosts := newAzureHosts(t)
	const tenant, client, sub = "72f988bf-86f1-41af-91ab-2d7cd011db47", "machine-it", "00000000-0000-0000-0000-0000000000aa"
	srv, err := azuretest.Start(azuretest.Options{
		TenantID: tenant, ClientID: client, ClientSecret: "it-secret",
		Subscriptions: []string{sub},
		Locations:     []string{"westeurope", "northeurope"},
		VMSizes:       []string{"Standard_B2s", "Standard_D2s_v3"},
		Hooks:         hosts,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Close)
	dir := t.TempDir()
	caFile := filepath.Join(dir, "stand-in-ca.pem")
	if err := os.WriteFile(caFile, srv.CACertPEM(), 0o644); err != nil {
		t.Fatal(err)
	}
	cloudFile := filepath.Join(dir, "cloud.json")
	b, _ := json.Marshal(map[string]any{
		"name": "StandIn", "resourceManager": srv.URL(),
		"authentication": map[string]any{"loginEndpoint": srv.URL() + "/", "audiences": []string{srv.URL()}},
	})
	if err := os.WriteFile(cloudFile, b, 0o644); err != nil {
		t.Fatal(err)
	}
	m := newCLI(t)
	closed := fmt.Sprintf("http://127.0.0.1:%d", standin.ClosedPort(t))
	m.env = []string{
		"SSL_CERT_FILE=" + caFile,
		"HTTPS_PROXY=" + closed, "HTTP_PROXY=" + closed, "NO_PROXY=127.0.0.1,localhost,172.16.0.0/12",
		"AZURE_TOKEN_CREDENTIALS=EnvironmentCredential",
		"AZURE_ENVIRONMENT=" + cloudFile, "AZURE_SUBSCRIPTION_ID=" + sub, "AZURE_TENANT_ID=" + tenant,
		"AZURE_CLIENT_ID=" + client, "AZURE_CLIENT_SECRET=it-secret",
		"AZURE_LOCATION=westeurope", "AZURE_SIZE=Standard_B2s",
	}
	return srv, hosts, m, []string{"create", "-d", "azure"}
}

// TestAzureStandIn: create -d azure against the local ARM stand-in (no
// cloud is reachable here), whose VMs are real test hosts: Docker is
// provisioned, env points the docker client at it over TLS, ls shows it
// Running, stop/start/kill/restart go through the VM's power state and the
// engine answers again, and rm leaves nothing of it in the stand-in. Bad input fails
// with one line and leaves nothing behind.
func TestAzureStandIn(t *testing.T) {
	srv, hosts, m, create := azureStandIn(t)
	r := m.ok(t, append(create, "az1")...)
	if r.Stdout != "" {
		t.Errorf("create printed on stdout: %q", r.Stdout)
	}
	vars := parseEnv(t, m.ok(t, "env", "--shell", "bash", "az1").Stdout)
	if v, err := dockerVersion(t, vars); err != nil || v == "" {
		t.Fatalf("docker version through env: %v: %s", err, v)
	}
	if labels := mustDocker(t, vars, "info", "--format", "{{json .Labels}}"); !strings.Contains(labels, "provider=azure") {
		t.Errorf("engine labels %s lack provider=azure", labels)
	}
	if st := m.ok(t, "ls", "--format", "{{.Name}} {{.DriverName}} {{.State}}").Stdout; st != "az1 azure Running\n" {
		t.Errorf("ls = %q", st)
	}
	// stop deallocates, start brings the engine back on the same address;
	// kill powers off, restart powers on again.
	for _, step := range []struct{ op, state string }{
		{"stop", "Stopped"}, {"start", "Running"}, {"kill", "Stopped"}, {"restart", "Running"},
	} {
		r := m.ok(t, step.op, "az1")
		if r.Stdout != "" {
			t.Errorf("%s printed on stdout: %q", step.op, r.Stdout)
		}
		if st := m.ok(t, "ls", "--format", "{{.State}}").Stdout; st != step.state+"\n" {
			t.Errorf("after %s, state %q, want %s", step.op, st, step.state)
		}
	}
	if v, err := dockerVersion(t, vars); err != nil || v == "" {
		t.Errorf("docker version through env after start: %v: %s", err, v)
	}
	cfg, err := os.ReadFile(filepath.Join(m.store, "machines", "az1", "config.json"))
	if err != nil || strings.Contains(string(cfg), "it-secret") {
		t.Errorf("config.json holds the client secret (or is unreadable: %v)", err)
	}
	m.ok(t, "rm", "-y", "az1")
	if left := srv.Resources(); len(left) > 0 {
		t.Errorf("the stand-in still holds, after rm:\n%s", strings.Join(left, "\n"))
	}
	if n := hosts.count(); n != 0 {
		t.Errorf("%d VM hosts left after rm", n)
	}

	for _, tc := range []struct {
		name, want string
		args       []string
	}{
		{"unknown location", "westmoon", []string{"--azure-location", "westmoon", "bad1"}},
		{"unknown size", "Standard_Z99", []string{"--azure-size", "Standard_Z99", "bad2"}},
		{"name Azure refuses", "Azure", []string{"bad.3"}},
		{"wrong secret", "AADSTS7000215", []string{"--azure-client-secret", "wrong", "bad4"}},
		{"missing subscription", "subscription", []string{"--azure-subscription-id", "11111111-2222-3333-4444-555555555555", "bad5"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m.fails(t, tc.want, append(create, tc.args...)...)
			if names := m.ok(t, "ls", "-q").Stdout; names != "" {
				t.Errorf("store after the failure: %q", names)
			}
			if left := srv.Resources(); len(left) > 0 {
				t.Errorf("the stand-in holds, after the failure:\n%s", strings.Join(left, "\n"))
			}
		})
	}
}
