package azure

import (
	"errors"
	"fmt"
	"net"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/machine-cli/machine/drivers"
)

// Defaults. docker-machine's image (Ubuntu 16.04) and size (Standard_A2)
// are long retired; the image is Canonical's current LTS.
const (
	defaultEnvironment     = "AzurePublicCloud"
	defaultResourceGroup   = "docker-machine"
	defaultLocation        = "westus"
	defaultSize            = "Standard_D2s_v3"
	defaultImage           = "canonical:ubuntu-24_04-lts:server:latest"
	defaultSSHUser         = "docker-user" // Azure refuses root
	defaultDockerPort      = 2376
	defaultVNet            = "docker-machine-vnet"
	defaultSubnet          = "docker-machine"
	defaultSubnetPrefix    = "192.168.0.0/16"
	defaultAvailabilitySet = "docker-machine"
	defaultStorageType     = "Standard_LRS"
	defaultFaultDomains    = 3
	defaultUpdateDomains   = 5
	defaultDiskSize        = 30
)

// Flag names, as docker-machine's.
const (
	flEnvironment       = "azure-environment"
	flSubscriptionID    = "azure-subscription-id"
	flTenantID          = "azure-tenant-id"
	flClientID          = "azure-client-id"
	flClientSecret      = "azure-client-secret"
	flResourceGroup     = "azure-resource-group"
	flSSHUser           = "azure-ssh-user"
	flDockerPort        = "azure-docker-port"
	flLocation          = "azure-location"
	flSize              = "azure-size"
	flImage             = "azure-image"
	flVNet              = "azure-vnet"
	flSubnet            = "azure-subnet"
	flSubnetPrefix      = "azure-subnet-prefix"
	flAvailabilitySet   = "azure-availability-set"
	flAvailabilityZone  = "azure-availability-zone"
	flNSG               = "azure-nsg"
	flOpenPort          = "azure-open-port"
	flPrivateIP         = "azure-private-ip-address"
	flUsePrivateIP      = "azure-use-private-ip"
	flNoPublicIP        = "azure-no-public-ip"
	flStaticPublicIP    = "azure-static-public-ip"
	flDNSLabel          = "azure-dns"
	flDiskSize          = "azure-disk-size"
	flStorageType       = "azure-storage-type"
	flManagedDisks      = "azure-managed-disks"
	flCustomData        = "azure-custom-data"
	flPlan              = "azure-plan"
	flTags              = "azure-tags"
	flAccelerated       = "azure-accelerated-networking"
	flFaultDomainCount  = "azure-fault-domain-count"
	flUpdateDomainCount = "azure-update-domain-count"
	flStandardIPSKU     = "azure-enable-public-ip-standard-sku"
)

// Config is the azure driver's configuration, stored as the machine's
// driver JSON with docker-machine's field names, so that its stores load.
// The client secret is never part of it: it comes from the flag or
// AZURE_CLIENT_SECRET each time (see Credential).
type Config struct {
	drivers.BaseDriver

	Environment    string
	SubscriptionID string
	TenantID       string
	ClientID       string
	// ClientSecret is the explicit secret of this command only.
	ClientSecret string `json:"-"`

	ResourceGroup             string
	DockerPort                int
	Location                  string
	Size                      string
	Image                     string
	VirtualNetwork            string
	SubnetName                string
	SubnetPrefix              string
	AvailabilitySet           string
	AvailabilityZone          string
	NSG                       string
	OpenPorts                 []string
	PrivateIPAddr             string
	UsePrivateIP              bool
	NoPublicIP                bool
	StaticPublicIP            bool
	DNSLabel                  string
	DiskSize                  int
	StorageType               string
	ManagedDisks              bool
	CustomDataFile            string
	Plan                      string
	Tags                      map[string]string
	AcceleratedNetworking     bool
	FaultCount                int
	UpdateCount               int
	EnablePublicIPStandardSKU bool
}

// Flags lists the azure driver's create flags with their defaults and
// docker-machine's environment variables.
func Flags() []drivers.Flag {
	s := func(name, env, def, usage string) drivers.Flag {
		return drivers.Flag{Name: name, Kind: drivers.FlagString, EnvVar: env, Default: def, Usage: usage}
	}
	i := func(name, env string, def int, usage string) drivers.Flag {
		return drivers.Flag{Name: name, Kind: drivers.FlagInt, EnvVar: env, Default: strconv.Itoa(def), Usage: usage}
	}
	b := func(name, env, usage string) drivers.Flag {
		return drivers.Flag{Name: name, Kind: drivers.FlagBool, EnvVar: env, Usage: usage}
	}
	return []drivers.Flag{
		s(flSubscriptionID, "AZURE_SUBSCRIPTION_ID", "", "Azure subscription ID (required)"),
		s(flTenantID, "AZURE_TENANT_ID", "", "Microsoft Entra tenant ID (default: found from the subscription)"),
		s(flClientID, "AZURE_CLIENT_ID", "", "service principal's application (client) ID, with --azure-client-secret"),
		s(flClientSecret, "AZURE_CLIENT_SECRET", "", "service principal's secret; never stored (default: Azure CLI, managed identity or device code sign-in)"),
		s(flEnvironment, "AZURE_ENVIRONMENT", defaultEnvironment, "cloud: AzurePublicCloud, AzureChinaCloud, AzureUSGovernmentCloud, or the path of a JSON file of endpoints"),
		s(flLocation, "AZURE_LOCATION", defaultLocation, "region of the machine's resources"),
		s(flSize, "AZURE_SIZE", defaultSize, "virtual machine size"),
		s(flImage, "AZURE_IMAGE", defaultImage, "image as publisher:offer:sku:version, or an image resource ID"),
		s(flSSHUser, "AZURE_SSH_USER", defaultSSHUser, "administrator user name on the machine"),
		i(flDockerPort, "AZURE_DOCKER_PORT", defaultDockerPort, "Docker engine port"),
		s(flResourceGroup, "AZURE_RESOURCE_GROUP", defaultResourceGroup, "resource group (made when missing)"),
		s(flVNet, "AZURE_VNET", defaultVNet, "virtual network, [resourcegroup:]name (made when missing)"),
		s(flSubnet, "AZURE_SUBNET", defaultSubnet, "subnet of the virtual network (made when missing)"),
		s(flSubnetPrefix, "AZURE_SUBNET_PREFIX", defaultSubnetPrefix, "address prefix of a subnet made by machine"),
		s(flAvailabilitySet, "AZURE_AVAILABILITY_SET", defaultAvailabilitySet, "availability set (made when missing; not with --azure-availability-zone)"),
		s(flAvailabilityZone, "AZURE_AVAILABILITY_ZONE", "", "availability zone (1, 2 or 3) instead of an availability set; needs --azure-managed-disks"),
		s(flNSG, "AZURE_NSG", "", "network security group (default: one per machine, NAME-firewall)"),
		{Name: flOpenPort, Kind: drivers.FlagStringSlice, Usage: "also open this port (PORT or PORT/tcp|udp) to the internet; repeatable"},
		s(flPrivateIP, "AZURE_PRIVATE_IP_ADDRESS", "", "static private IP address in the subnet"),
		b(flUsePrivateIP, "AZURE_USE_PRIVATE_IP", "connect to the machine's private IP address"),
		b(flNoPublicIP, "AZURE_NO_PUBLIC_IP", "make no public IP address (implies --azure-use-private-ip)"),
		b(flStaticPublicIP, "AZURE_STATIC_PUBLIC_IP", "accepted for docker-machine scripts: public IP addresses are always static (Standard SKU)"),
		s(flDNSLabel, "AZURE_DNS_LABEL", "", "DNS label of the public IP address (LABEL.LOCATION.cloudapp.azure.com)"),
		i(flDiskSize, "AZURE_DISK_SIZE", defaultDiskSize, "OS disk size in GB"),
		s(flStorageType, "AZURE_STORAGE_TYPE", defaultStorageType, "OS disk storage type (Standard_LRS, Premium_LRS, StandardSSD_LRS, ...)"),
		b(flManagedDisks, "AZURE_MANAGED_DISKS", "accepted for docker-machine scripts: OS disks are always managed"),
		s(flCustomData, "AZURE_CUSTOM_DATA_FILE", "", "path of a cloud-init file passed as custom data"),
		s(flPlan, "AZURE_PLAN", "", "purchase plan of a Marketplace image, publisher:product:plan"),
		s(flTags, "AZURE_TAGS", "", "tags on every resource, key1,value1,key2,value2 or key1=value1,key2=value2"),
		b(flAccelerated, "AZURE_ACCELERATED_NETWORKING", "enable accelerated networking on the NIC"),
		i(flFaultDomainCount, "AZURE_FAULT_DOMAIN_COUNT", defaultFaultDomains, "fault domains of an availability set made by machine"),
		i(flUpdateDomainCount, "AZURE_UPDATE_DOMAIN_COUNT", defaultUpdateDomains, "update domains of an availability set made by machine"),
		b(flStandardIPSKU, "AZURE_STANDARD_PUBLIC_IP_SKU", "accepted for docker-machine scripts: public IP addresses are always Standard SKU (Azure retired Basic)"),
	}
}

// vmName is Azure's rule for Linux VM and computer names as machine uses
// them: letters, digits and hyphens, not ending in a hyphen. The machine
// name also becomes the host name, so it is held to 63 characters.
var vmName = regexp.MustCompile(`^[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?$`)

// dnsLabel is Azure's rule for a public IP's domain name label.
var dnsLabel = regexp.MustCompile(`^[a-z][a-z0-9-]{1,61}[a-z0-9]$`)

// resourceName is the rule for the names of the other resources machine
// makes or reuses (group, vnet, subnet, NSG, availability set).
var resourceName = regexp.MustCompile(`^[A-Za-z0-9_][A-Za-z0-9_.()-]{0,78}[A-Za-z0-9_)]?$`)

// ValidateName checks a machine name against Azure's rules for the
// resources named after it, before any call is made.
func ValidateName(name string) error {
	if !vmName.MatchString(name) {
		return fmt.Errorf("machine name %q: Azure VM names here may hold only letters, digits and hyphens, start and end with a letter or digit, at most 63 characters: %w",
			name, drivers.ErrInvalidConfig)
	}
	return nil
}

// SetFlags copies flag values into c and reports every invalid one at once;
// the errors wrap drivers.ErrInvalidConfig.
func (c *Config) SetFlags(opts drivers.Options) error {
	var errs []error
	invalid := func(format string, args ...any) {
		errs = append(errs, fmt.Errorf(format+": %w", append(args, drivers.ErrInvalidConfig)...))
	}
	str := func(name, def string) string {
		if v := opts.String(name); v != "" {
			return v
		}
		return def
	}
	num := func(name string, def, lo, hi int) int {
		if _, ok := opts[name]; !ok {
			return def
		}
		n := opts.Int(name)
		if n < lo || n > hi {
			invalid("--%s %v: want %d to %d", name, opts[name], lo, hi)
		}
		return n
	}

	c.SubscriptionID = opts.String(flSubscriptionID)
	if c.SubscriptionID == "" {
		invalid("--%s (or AZURE_SUBSCRIPTION_ID) is required", flSubscriptionID)
	}
	c.TenantID = opts.String(flTenantID)
	c.ClientID = opts.String(flClientID)
	c.ClientSecret = opts.String(flClientSecret)
	if c.ClientSecret != "" && c.ClientID == "" {
		invalid("--%s needs --%s", flClientSecret, flClientID)
	}
	c.Environment = str(flEnvironment, defaultEnvironment)
	if _, err := cloudConfig(c.Environment); err != nil {
		errs = append(errs, err)
	}
	c.Location = strings.ToLower(strings.ReplaceAll(str(flLocation, defaultLocation), " ", ""))
	c.Size = str(flSize, defaultSize)
	c.Image = str(flImage, defaultImage)
	if _, err := parseImage(c.Image); err != nil {
		errs = append(errs, err)
	}
	c.SSHUser = str(flSSHUser, defaultSSHUser)
	if c.SSHUser == "root" {
		invalid("--%s root: Azure refuses root as the administrator; pick another name", flSSHUser)
	}
	c.SSHPort = 22
	c.DockerPort = num(flDockerPort, defaultDockerPort, 1, 65535)
	c.ResourceGroup = str(flResourceGroup, defaultResourceGroup)
	c.VirtualNetwork = str(flVNet, defaultVNet)
	c.SubnetName = str(flSubnet, defaultSubnet)
	c.AvailabilitySet = str(flAvailabilitySet, defaultAvailabilitySet)
	c.NSG = opts.String(flNSG)
	for _, r := range []struct{ flag, value string }{
		{flResourceGroup, c.ResourceGroup}, {flSubnet, c.SubnetName}, {flAvailabilitySet, c.AvailabilitySet}, {flNSG, c.NSG},
		{flVNet, vnetName(c.VirtualNetwork)},
	} {
		if r.value != "" && !resourceName.MatchString(r.value) {
			invalid("--%s %q: Azure names hold letters, digits, '_', '.', '-' and '(' ')', at most 80", r.flag, r.value)
		}
	}
	c.SubnetPrefix = str(flSubnetPrefix, defaultSubnetPrefix)
	if _, _, err := net.ParseCIDR(c.SubnetPrefix); err != nil {
		invalid("--%s %q is not an address prefix (CIDR)", flSubnetPrefix, c.SubnetPrefix)
	}
	c.AvailabilityZone = opts.String(flAvailabilityZone)
	if z := c.AvailabilityZone; z != "" && z != "1" && z != "2" && z != "3" {
		invalid("--%s %q: zones are 1, 2 or 3", flAvailabilityZone, z)
	}
	c.OpenPorts = opts.StringSlice(flOpenPort)
	for _, p := range c.OpenPorts {
		if _, _, err := parsePort(p); err != nil {
			invalid("--%s %q: %v", flOpenPort, p, err)
		}
	}
	c.PrivateIPAddr = opts.String(flPrivateIP)
	if c.PrivateIPAddr != "" && net.ParseIP(c.PrivateIPAddr) == nil {
		invalid("--%s %q is not an IP address", flPrivateIP, c.PrivateIPAddr)
	}
	c.NoPublicIP = opts.Bool(flNoPublicIP)
	c.UsePrivateIP = opts.Bool(flUsePrivateIP) || c.NoPublicIP
	c.StaticPublicIP = opts.Bool(flStaticPublicIP)
	c.EnablePublicIPStandardSKU = opts.Bool(flStandardIPSKU)
	c.DNSLabel = opts.String(flDNSLabel)
	if c.DNSLabel != "" && !dnsLabel.MatchString(c.DNSLabel) {
		invalid("--%s %q: Azure DNS labels may contain only lower-case letters, digits and hyphens, start with a letter, 3 to 63 characters", flDNSLabel, c.DNSLabel)
	}
	if c.NoPublicIP && (c.StaticPublicIP || c.DNSLabel != "" || c.EnablePublicIPStandardSKU) {
		invalid("--%s cannot go with --%s, --%s or --%s", flNoPublicIP, flStaticPublicIP, flDNSLabel, flStandardIPSKU)
	}
	c.DiskSize = num(flDiskSize, defaultDiskSize, 1, 32767)
	c.StorageType = str(flStorageType, defaultStorageType)
	c.ManagedDisks = true
	c.CustomDataFile = opts.String(flCustomData)
	if c.CustomDataFile != "" {
		if fi, err := os.Stat(c.CustomDataFile); err != nil || fi.IsDir() {
			invalid("--%s %q: not a readable file", flCustomData, c.CustomDataFile)
		}
	}
	c.Plan = opts.String(flPlan)
	if c.Plan != "" && len(strings.Split(c.Plan, ":")) != 3 {
		invalid("--%s %q: want publisher:product:plan", flPlan, c.Plan)
	}
	tags, err := parseTags(opts.String(flTags))
	if err != nil {
		errs = append(errs, err)
	}
	c.Tags = tags
	c.AcceleratedNetworking = opts.Bool(flAccelerated)
	c.FaultCount = num(flFaultDomainCount, defaultFaultDomains, 1, 3)
	c.UpdateCount = num(flUpdateDomainCount, defaultUpdateDomains, 1, 20)
	return errors.Join(errs...)
}

// vnetName returns the name part of a [resourcegroup:]name vnet.
func vnetName(v string) string {
	if _, name, ok := strings.Cut(v, ":"); ok {
		return name
	}
	return v
}

// Image is a Marketplace image reference.
type Image struct {
	Publisher, Offer, SKU, Version string
	// ID is a custom image's resource ID, instead of the four above.
	ID string
}

// parseImage reads publisher:offer:sku:version or an image resource ID.
func parseImage(s string) (Image, error) {
	if strings.HasPrefix(s, "/subscriptions/") {
		return Image{ID: s}, nil
	}
	p := strings.Split(s, ":")
	if len(p) != 4 || slices.Contains(p, "") {
		return Image{}, fmt.Errorf("--%s %q: want publisher:offer:sku:version (like %s) or an image resource ID: %w", flImage, s, defaultImage, drivers.ErrInvalidConfig)
	}
	return Image{Publisher: p[0], Offer: p[1], SKU: p[2], Version: p[3]}, nil
}

// parsePort reads PORT or PORT/PROTOCOL (tcp by default; tcp, udp or *).
func parsePort(s string) (int, string, error) {
	num, proto, ok := strings.Cut(s, "/")
	if !ok {
		proto = "tcp"
	}
	proto = strings.ToLower(proto)
	if proto != "tcp" && proto != "udp" && proto != "*" {
		return 0, "", fmt.Errorf("protocol %q: want tcp, udp or *", proto)
	}
	n, err := strconv.Atoi(num)
	if err != nil || n < 1 || n > 65535 {
		return 0, "", fmt.Errorf("%q is not a port (1-65535)", num)
	}
	return n, proto, nil
}

// parseTags reads docker-machine's key1,value1,key2,value2 or
// key1=value1,key2=value2.
func parseTags(s string) (map[string]string, error) {
	tags := map[string]string{}
	if s == "" {
		return tags, nil
	}
	parts := strings.Split(s, ",")
	if strings.Contains(parts[0], "=") {
		for _, p := range parts {
			k, v, ok := strings.Cut(p, "=")
			if !ok || k == "" {
				return nil, fmt.Errorf("--%s %q: %q is not key=value: %w", flTags, s, p, drivers.ErrInvalidConfig)
			}
			tags[k] = v
		}
		return tags, nil
	}
	if len(parts)%2 != 0 {
		return nil, fmt.Errorf("--%s %q: want key,value pairs, got %d items: %w", flTags, s, len(parts), drivers.ErrInvalidConfig)
	}
	for i := 0; i < len(parts); i += 2 {
		if parts[i] == "" {
			return nil, fmt.Errorf("--%s %q: an empty key: %w", flTags, s, drivers.ErrInvalidConfig)
		}
		tags[parts[i]] = parts[i+1]
	}
	return tags, nil
}
