package azure

import (
	"encoding/json"
	"fmt"
	"os"
	"strings"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/cloud"

	"github.com/machine-cli/machine/drivers"
)

// named are the clouds --azure-environment names, as docker-machine spells
// them.
var named = map[string]cloud.Configuration{
	"azurepubliccloud":       cloud.AzurePublic,
	"azurechinacloud":        cloud.AzureChina,
	"azureusgovernmentcloud": cloud.AzureGovernment,
}

// cloudConfig returns the cloud --azure-environment names: one of the
// named clouds, or the path of a JSON file of endpoints for any other
// (Azure Stack, a sovereign cloud, a local stand-in). The file is either
// go-autorest's environment file, as docker-machine read it
// (resourceManagerEndpoint, activeDirectoryEndpoint, tokenAudience), or
// ARM's cloud metadata (resourceManager, authentication.loginEndpoint,
// authentication.audiences).
func cloudConfig(env string) (cloud.Configuration, error) {
	if c, ok := named[strings.ToLower(env)]; ok {
		return c, nil
	}
	if !strings.ContainsAny(env, `/\`) && !strings.HasSuffix(env, ".json") {
		return cloud.Configuration{}, fmt.Errorf("--%s %q: want AzurePublicCloud, AzureChinaCloud, AzureUSGovernmentCloud or the path of a JSON file of endpoints: %w",
			flEnvironment, env, drivers.ErrInvalidConfig)
	}
	b, err := os.ReadFile(env)
	if err != nil {
		return cloud.Configuration{}, fmt.Errorf("--%s: %w: %w", flEnvironment, err, drivers.ErrInvalidConfig)
	}
	var f struct {
		ResourceManagerEndpoint string `json:"resourceManagerEndpoint"`
		ActiveDirectoryEndpoint string `json:"activeDirectoryEndpoint"`
		TokenAudience           string `json:"tokenAudience"`
		ResourceManager         string `json:"resourceManager"`
		Authentication          struct {
			LoginEndpoint string   `json:"loginEndpoint"`
			Audiences     []string `json:"audiences"`
		} `json:"authentication"`
	}
	if err := json.Unmarshal(b, &f); err != nil {
		return cloud.Configuration{}, fmt.Errorf("--%s %s: not a JSON file of endpoints: %v: %w", flEnvironment, env, err, drivers.ErrInvalidConfig)
	}
	arm, login, audience := f.ResourceManagerEndpoint, f.ActiveDirectoryEndpoint, f.TokenAudience
	if arm == "" {
		arm, login = f.ResourceManager, f.Authentication.LoginEndpoint
		if len(f.Authentication.Audiences) > 0 {
			audience = f.Authentication.Audiences[0]
		}
	}
	if arm == "" || login == "" {
		return cloud.Configuration{}, fmt.Errorf("--%s %s: the file names no resource manager endpoint or no sign-in endpoint (resourceManagerEndpoint and activeDirectoryEndpoint): %w",
			flEnvironment, env, drivers.ErrInvalidConfig)
	}
	if audience == "" {
		audience = arm
	}
	return cloud.Configuration{
		ActiveDirectoryAuthorityHost: login,
		Services: map[cloud.ServiceName]cloud.ServiceConfiguration{
			cloud.ResourceManager: {Endpoint: strings.TrimSuffix(arm, "/"), Audience: audience},
		},
	}, nil
}
