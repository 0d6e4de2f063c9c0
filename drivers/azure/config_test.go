package azure

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/cloud"

	"github.com/machine-cli/machine/drivers"
)

// TestFlags: every flag issue 8 names exists under docker-machine's name,
// with an AZURE_ variable where docker-machine had one.
func TestFlags(t *testing.T) {
	byName := map[string]drivers.Flag{}
	for _, f := range Flags() {
		if _, dup := byName[f.Name]; dup {
			t.Errorf("flag %s listed twice", f.Name)
		}
		byName[f.Name] = f
		if f.Usage == "" {
			t.Errorf("flag %s has no usage", f.Name)
		}
	}
	for _, name := range strings.Fields(`subscription-id tenant-id client-id client-secret environment location size image
		ssh-user docker-port resource-group vnet subnet subnet-prefix availability-set availability-zone nsg open-port
		private-ip-address use-private-ip no-public-ip static-public-ip dns disk-size storage-type managed-disks
		custom-data plan tags accelerated-networking fault-domain-count update-domain-count enable-public-ip-standard-sku`) {
		f, ok := byName["azure-"+name]
		if !ok {
			t.Errorf("no --azure-%s", name)
			continue
		}
		if name != "open-port" && !strings.HasPrefix(f.EnvVar, "AZURE_") {
			t.Errorf("--azure-%s has no AZURE_ variable (%q)", name, f.EnvVar)
		}
	}
	if got := byName[flImage].Default; !strings.HasPrefix(got, "canonical:ubuntu-24_04-lts:") {
		t.Errorf("default image %q, want Canonical's current LTS", got)
	}
	if got := byName[flDNSLabel].EnvVar; got != "AZURE_DNS_LABEL" {
		t.Errorf("--azure-dns variable %q, want docker-machine's AZURE_DNS_LABEL", got)
	}
}

func TestValidateName(t *testing.T) {
	for _, tc := range []struct {
		name string
		ok   bool
	}{
		{"swarm01", true},
		{"Swarm-01", true},
		{"a", true},
		{strings.Repeat("a", 63), true},
		{strings.Repeat("a", 64), false},
		{"ends-", false},
		{"-starts", false},
		{"has.dot", false},
		{"under_score", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := ValidateName(tc.name)
			if (err == nil) != tc.ok {
				t.Fatalf("ValidateName = %v, want ok=%v", err, tc.ok)
			}
			if err != nil && !errors.Is(err, drivers.ErrInvalidConfig) {
				t.Errorf("error %v does not wrap ErrInvalidConfig", err)
			}
		})
	}
}

func TestSetFlags(t *testing.T) {
	dir := t.TempDir()
	customData := filepath.Join(dir, "cloud-init.yaml")
	if err := os.WriteFile(customData, []byte("#cloud-config\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	base := func() drivers.Options { return drivers.Options{flSubscriptionID: "sub-1"} }
	tests := []struct {
		name  string
		opts  func(drivers.Options)
		check func(t *testing.T, c *Config)
		bad   []string // flags the error must name; none for a valid set
	}{
		{name: "defaults", check: func(t *testing.T, c *Config) {
			if c.Location != "westus" || c.SSHUser != "docker-user" || c.DockerPort != 2376 || c.ResourceGroup != "docker-machine" ||
				c.SubnetPrefix != "192.168.0.0/16" || c.DiskSize != 30 || !c.ManagedDisks || c.FaultCount != 3 || c.UpdateCount != 5 || c.SSHPort != 22 {
				t.Errorf("defaults: %+v", c)
			}
		}},
		{name: "everything", opts: func(o drivers.Options) {
			o[flLocation] = "West Europe"
			o[flOpenPort] = []string{"80", "53/udp"}
			o[flTags] = "env,test,team,infra"
			o[flNoPublicIP] = true
			o[flCustomData] = customData
			o[flAvailabilityZone] = "2"
			o[flClientID], o[flClientSecret] = "app", "s3cret"
			o[flPlan] = "pub:prod:plan"
		}, check: func(t *testing.T, c *Config) {
			if c.Location != "westeurope" || !c.UsePrivateIP || c.Tags["team"] != "infra" || len(c.OpenPorts) != 2 || c.ClientSecret != "s3cret" {
				t.Errorf("config: %+v", c)
			}
			b, _ := json.Marshal(c)
			if strings.Contains(string(b), "s3cret") {
				t.Errorf("the client secret is in the stored config: %s", b)
			}
		}},
		{name: "tags as key=value", opts: func(o drivers.Options) { o[flTags] = "a=1,b=2" }, check: func(t *testing.T, c *Config) {
			if c.Tags["a"] != "1" || c.Tags["b"] != "2" {
				t.Errorf("tags %v", c.Tags)
			}
		}},
		{name: "no subscription", opts: func(o drivers.Options) { delete(o, flSubscriptionID) }, bad: []string{flSubscriptionID}},
		{name: "secret without client", opts: func(o drivers.Options) { o[flClientSecret] = "x" }, bad: []string{flClientSecret}},
		{name: "root user", opts: func(o drivers.Options) { o[flSSHUser] = "root" }, bad: []string{flSSHUser}},
		{name: "bad image", opts: func(o drivers.Options) { o[flImage] = "canonical:ubuntu" }, bad: []string{flImage}},
		{name: "bad environment", opts: func(o drivers.Options) { o[flEnvironment] = "AzureMoonCloud" }, bad: []string{flEnvironment}},
		{name: "bad port and zone", opts: func(o drivers.Options) {
			o[flOpenPort] = []string{"http"}
			o[flAvailabilityZone] = "4"
			o[flDockerPort] = 70000
		}, bad: []string{flOpenPort, flAvailabilityZone, flDockerPort}},
		{name: "bad dns label", opts: func(o drivers.Options) { o[flDNSLabel] = "Swarm01" }, bad: []string{flDNSLabel}},
		{name: "no public ip with dns", opts: func(o drivers.Options) { o[flNoPublicIP] = true; o[flDNSLabel] = "swarm01" }, bad: []string{flNoPublicIP}},
		{name: "odd tags", opts: func(o drivers.Options) { o[flTags] = "a,b,c" }, bad: []string{flTags}},
		{name: "bad prefix and private ip", opts: func(o drivers.Options) { o[flSubnetPrefix] = "10.0.0.0"; o[flPrivateIP] = "ten" },
			bad: []string{flSubnetPrefix, flPrivateIP}},
		{name: "missing custom data", opts: func(o drivers.Options) { o[flCustomData] = filepath.Join(dir, "nope") }, bad: []string{flCustomData}},
		{name: "bad resource group", opts: func(o drivers.Options) { o[flResourceGroup] = "my group" }, bad: []string{flResourceGroup}},
		{name: "bad plan", opts: func(o drivers.Options) { o[flPlan] = "pub:prod" }, bad: []string{flPlan}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			o := base()
			if tc.opts != nil {
				tc.opts(o)
			}
			c := &Config{}
			err := c.SetFlags(o)
			if len(tc.bad) == 0 {
				if err != nil {
					t.Fatalf("SetFlags: %v", err)
				}
				tc.check(t, c)
				return
			}
			if !errors.Is(err, drivers.ErrInvalidConfig) {
				t.Fatalf("SetFlags = %v, want ErrInvalidConfig", err)
			}
			for _, f := range tc.bad {
				if !strings.Contains(err.Error(), "--"+f) {
					t.Errorf("error does not name --%s: %v", f, err)
				}
			}
		})
	}
}

func TestCloudConfig(t *testing.T) {
	dir := t.TempDir()
	write := func(name, content string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	autorest := write("stack.json", `{"name":"AzureStack","resourceManagerEndpoint":"https://management.local.azurestack.external/","activeDirectoryEndpoint":"https://login.local/","tokenAudience":"https://management.adfs.local/"}`)
	metadata := write("meta.json", `{"name":"Local","resourceManager":"https://127.0.0.1:4443/","authentication":{"loginEndpoint":"https://127.0.0.1:4443/","audiences":["https://127.0.0.1:4443/"]}}`)
	empty := write("empty.json", `{}`)
	garbage := write("garbage.json", `{`)
	tests := []struct {
		env, arm, login, audience string
		bad                       bool
	}{
		{env: "AzurePublicCloud", login: "https://login.microsoftonline.com/"},
		{env: "azurechinacloud", login: "https://login.chinacloudapi.cn/"},
		{env: "AzureUSGovernmentCloud", login: "https://login.microsoftonline.us/"},
		{env: autorest, arm: "https://management.local.azurestack.external", login: "https://login.local/", audience: "https://management.adfs.local/"},
		{env: metadata, arm: "https://127.0.0.1:4443", login: "https://127.0.0.1:4443/", audience: "https://127.0.0.1:4443/"},
		{env: empty, bad: true},
		{env: garbage, bad: true},
		{env: filepath.Join(dir, "missing.json"), bad: true},
		{env: "AzureGermanCloud", bad: true},
	}
	for _, tc := range tests {
		t.Run(filepath.Base(tc.env), func(t *testing.T) {
			c, err := cloudConfig(tc.env)
			if tc.bad {
				if !errors.Is(err, drivers.ErrInvalidConfig) {
					t.Fatalf("cloudConfig = %v, want ErrInvalidConfig", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if c.ActiveDirectoryAuthorityHost != tc.login {
				t.Errorf("login = %q, want %q", c.ActiveDirectoryAuthorityHost, tc.login)
			}
			rm := c.Services[cloud.ResourceManager]
			if rm.Endpoint == "" {
				t.Errorf("no resource manager endpoint: %+v", c)
			}
			if tc.arm != "" && (rm.Endpoint != tc.arm || rm.Audience != tc.audience) {
				t.Errorf("resource manager = %+v, want %s for %s", rm, tc.arm, tc.audience)
			}
		})
	}
}
