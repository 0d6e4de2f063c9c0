package azure

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/cloud"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"

	"github.com/machine-cli/machine/internal/fsutil"
)

// signIn is what choosing a credential needs beyond the machine's Config.
type signIn struct {
	// cloud is the cloud --azure-environment names.
	cloud cloud.Configuration
	// custom: the cloud came from a file of endpoints, whose sign-in
	// authority Entra's instance discovery does not know.
	custom bool
	// client carries the transport (tests: one that trusts a stand-in).
	client azcore.ClientOptions
	// storeDir is where the authentication record of a device code
	// sign-in is kept (the store's azure directory); "" keeps none.
	storeDir string
	// interactive: a person is at a terminal, so the device code flow may
	// ask them to sign in.
	interactive bool
	// notify shows the device code message to the user (stderr).
	notify func(string)
	// cache is the persistent token cache, or the zero Cache (memory
	// only) where the OS offers none.
	cache azidentity.Cache
}

// credential chooses how the driver signs in, in this order:
//
//  1. An explicit client secret (--azure-client-secret or
//     AZURE_CLIENT_SECRET, with the client ID) always: nothing cached can
//     take its place (docker-machine's issue 3782 was the reverse). The
//     secret is never stored: later commands (rm, start, ...) take it from
//     AZURE_CLIENT_SECRET, or sign in by the other ways below.
//  2. A device code sign-in made earlier, from its authentication record
//     in the store and the token cache, without asking again.
//  3. azidentity's chain: environment, workload identity, managed
//     identity, Azure CLI, Azure Developer CLI (AZURE_TOKEN_CREDENTIALS
//     narrows it, as azidentity documents).
//  4. In a terminal, the device code flow: its message goes to the user,
//     and the authentication record (no secret in it) is kept in the
//     store so that later commands sign in silently.
func credential(ctx context.Context, c *Config, s signIn) (azcore.TokenCredential, error) {
	tenant := c.TenantID
	if tenant == "" {
		var err error
		if tenant, err = discoverTenant(ctx, s, c.SubscriptionID); err != nil {
			return nil, err
		}
	}
	clientID, secret := c.ClientID, c.ClientSecret
	if secret == "" {
		// Given to an earlier call of this command, or by the user.
		secret = os.Getenv("AZURE_CLIENT_SECRET")
		if id := os.Getenv("AZURE_CLIENT_ID"); clientID == "" || (secret != "" && id != "") {
			clientID = id
		}
	}
	if secret != "" && clientID != "" {
		cred, err := azidentity.NewClientSecretCredential(tenant, clientID, secret, &azidentity.ClientSecretCredentialOptions{
			ClientOptions: s.clientOptions(), DisableInstanceDiscovery: s.custom,
		})
		if err != nil {
			return nil, fmt.Errorf("azure: sign in with the client secret: %w", err)
		}
		return cred, nil
	}
	var chain []azcore.TokenCredential
	rec, haveRecord := s.loadRecord(tenant)
	if haveRecord {
		cred, err := azidentity.NewDeviceCodeCredential(&azidentity.DeviceCodeCredentialOptions{
			ClientOptions: s.clientOptions(), TenantID: tenant, ClientID: c.ClientID, AuthenticationRecord: rec,
			Cache: s.cache, DisableAutomaticAuthentication: true, DisableInstanceDiscovery: s.custom,
		})
		if err == nil {
			chain = append(chain, cred)
		}
	}
	if def, err := azidentity.NewDefaultAzureCredential(&azidentity.DefaultAzureCredentialOptions{
		ClientOptions: s.clientOptions(), TenantID: tenant, DisableInstanceDiscovery: s.custom,
	}); err == nil {
		chain = append(chain, def)
	}
	if s.interactive {
		dc, err := azidentity.NewDeviceCodeCredential(&azidentity.DeviceCodeCredentialOptions{
			ClientOptions: s.clientOptions(), TenantID: tenant, ClientID: c.ClientID, Cache: s.cache,
			DisableInstanceDiscovery: s.custom,
			UserPrompt: func(_ context.Context, m azidentity.DeviceCodeMessage) error {
				if s.notify != nil {
					s.notify(m.Message)
				}
				return nil
			},
		})
		if err == nil {
			chain = append(chain, &recordingSignIn{dc: dc, save: func(r azidentity.AuthenticationRecord) { s.saveRecord(tenant, r) }})
		}
	}
	if len(chain) == 0 {
		return nil, errors.New("azure: no way to sign in: " + signInAdvice)
	}
	cred, err := azidentity.NewChainedTokenCredential(chain, nil)
	if err != nil {
		return nil, fmt.Errorf("azure: sign in: %w", err)
	}
	return cred, nil
}

func (s signIn) clientOptions() azcore.ClientOptions {
	o := s.client
	o.Cloud = s.cloud
	return o
}

// tenantName is a tenant ID or domain that can go into a file name.
var tenantName = regexp.MustCompile(`^[A-Za-z0-9.-]+$`)

// recordFile is the authentication record of a device code sign-in to
// tenant: the account and authority, no token and no secret.
func (s signIn) recordFile(tenant string) string {
	if s.storeDir == "" || !tenantName.MatchString(tenant) {
		return ""
	}
	return filepath.Join(s.storeDir, "signin-"+tenant+".json")
}

func (s signIn) loadRecord(tenant string) (azidentity.AuthenticationRecord, bool) {
	var rec azidentity.AuthenticationRecord
	p := s.recordFile(tenant)
	if p == "" {
		return rec, false
	}
	b, err := os.ReadFile(p)
	if err != nil || json.Unmarshal(b, &rec) != nil || rec.HomeAccountID == "" {
		return rec, false
	}
	return rec, true
}

func (s signIn) saveRecord(tenant string, rec azidentity.AuthenticationRecord) {
	p := s.recordFile(tenant)
	if p == "" {
		return
	}
	b, err := json.Marshal(rec)
	if err != nil {
		return
	}
	if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
		return
	}
	// Losing it costs one more sign-in, nothing else.
	_ = fsutil.WriteFileAtomic(p, b, 0o600)
}

// recordingSignIn is the interactive device code flow: its first token
// comes through Authenticate, whose record is kept for later commands.
type recordingSignIn struct {
	dc   *azidentity.DeviceCodeCredential
	save func(azidentity.AuthenticationRecord)
	once sync.Once
	err  error
}

// GetToken signs in (once) and returns a token.
func (r *recordingSignIn) GetToken(ctx context.Context, opts policy.TokenRequestOptions) (azcore.AccessToken, error) {
	r.once.Do(func() {
		var rec azidentity.AuthenticationRecord
		rec, r.err = r.dc.Authenticate(ctx, &opts)
		if r.err == nil {
			r.save(rec)
		}
	})
	if r.err != nil {
		return azcore.AccessToken{}, r.err
	}
	return r.dc.GetToken(ctx, opts)
}

// tenantInChallenge finds the tenant in ARM's WWW-Authenticate challenge:
// Bearer authorization_uri="https://login.microsoftonline.com/TENANT", ...
var tenantInChallenge = regexp.MustCompile(`authorization_uri="[^"]*/([A-Za-z0-9.-]+)/?"`)

// discoverTenant learns the subscription's tenant as docker-machine did:
// an unauthenticated request for the subscription is refused with a
// challenge that names the tenant's authority.
func discoverTenant(ctx context.Context, s signIn, subscription string) (string, error) {
	rm := s.cloud.Services[cloud.ResourceManager]
	if rm.Endpoint == "" {
		return "", errors.New("azure: the cloud has no resource manager endpoint")
	}
	url := strings.TrimSuffix(rm.Endpoint, "/") + "/subscriptions/" + subscription + "?api-version=2022-12-01"
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return "", fmt.Errorf("azure: find the tenant of subscription %q: %w", subscription, err)
	}
	do := http.DefaultClient.Do
	if s.client.Transport != nil {
		do = s.client.Transport.Do
	}
	resp, err := do(req)
	if err != nil {
		return "", fmt.Errorf("azure: find the tenant of subscription %q: %w (or pass --azure-tenant-id)", subscription, err)
	}
	resp.Body.Close()
	if m := tenantInChallenge.FindStringSubmatch(resp.Header.Get("WWW-Authenticate")); m != nil {
		return m[1], nil
	}
	if resp.StatusCode == http.StatusNotFound {
		return "", fmt.Errorf("azure: subscription %q not found; check --azure-subscription-id", subscription)
	}
	return "", fmt.Errorf("azure: find the tenant of subscription %q: %s and no tenant in the answer; pass --azure-tenant-id", subscription, resp.Status)
}

// noCacheNote says what a missing persistent token cache means for the user.
func noCacheNote(why string) string {
	return "azure: no persistent token cache (" + why + "); a device code sign-in lasts for this command only. " +
		"To sign in once, use `az login` (the Azure CLI keeps its own) or a service principal (--azure-client-id, --azure-client-secret)"
}

// signInAdvice says how to give the driver a way to sign in.
const signInAdvice = "pass --azure-client-id and --azure-client-secret (or set AZURE_CLIENT_SECRET), sign in with `az login`, or run machine in a terminal to sign in with a device code"

// signInNow gets a token for the resource manager, so that the sign-in
// happens (and fails, with one clear line) before any ARM call.
func signInNow(ctx context.Context, cred azcore.TokenCredential, s signIn) error {
	aud := strings.TrimSuffix(s.cloud.Services[cloud.ResourceManager].Audience, "/")
	if aud == "" {
		aud = strings.TrimSuffix(s.cloud.Services[cloud.ResourceManager].Endpoint, "/")
	}
	if _, err := cred.GetToken(ctx, policy.TokenRequestOptions{Scopes: []string{aud + "/.default"}}); err != nil {
		return signInError(err)
	}
	return nil
}

// signInError condenses a failed sign-in to one line: Microsoft Entra's
// own description (AADSTS code and sentence) when it sent one, without the
// SDK's dump of the request and response.
func signInError(err error) error {
	var afe *azidentity.AuthenticationFailedError
	if errors.As(err, &afe) && afe.RawResponse != nil && afe.RawResponse.Body != nil {
		var body struct {
			Description string `json:"error_description"`
		}
		b, _ := io.ReadAll(io.LimitReader(afe.RawResponse.Body, 1<<16))
		if json.Unmarshal(b, &body) == nil && body.Description != "" {
			msg, _, _ := strings.Cut(body.Description, " Trace ID:")
			msg, _, _ = strings.Cut(msg, "\n")
			return fmt.Errorf("azure: sign-in refused: %s (check --azure-tenant-id, --azure-client-id and --azure-client-secret)", strings.TrimSpace(msg))
		}
	}
	line, _, _ := strings.Cut(strings.TrimSpace(err.Error()), "\n")
	if strings.HasPrefix(line, "ChainedTokenCredential") {
		// No way of signing in worked; their reasons are many lines long.
		return errors.New("azure: sign-in failed: no credential found; " + signInAdvice)
	}
	return fmt.Errorf("azure: sign-in failed: %s", strings.TrimSpace(line))
}

// sharedToken hands every ARM client the token signInNow got. Each client
// has its own pipeline, which asks the credential for a token on its first
// request; credentials built on MSAL (client secret, device code) answer
// from their cache, but the Azure CLI's runs `az` for each ask, so without
// this a command ran az once for signInNow and again for every client it
// used. A token is reused until the time azcore's bearer policy would
// refresh it; a request with claims (a CAE challenge) always goes to the
// credential.
type sharedToken struct {
	cred azcore.TokenCredential

	mu   sync.Mutex // held while asking cred, so that parallel first asks make one
	toks map[string]azcore.AccessToken
}

func (s *sharedToken) GetToken(ctx context.Context, opts policy.TokenRequestOptions) (azcore.AccessToken, error) {
	if opts.Claims != "" {
		return s.cred.GetToken(ctx, opts)
	}
	key := fmt.Sprintf("%q %q %t", opts.Scopes, opts.TenantID, opts.EnableCAE)
	s.mu.Lock()
	defer s.mu.Unlock()
	if t, ok := s.toks[key]; ok && !stale(t) {
		return t, nil
	}
	t, err := s.cred.GetToken(ctx, opts)
	if err != nil {
		return t, err
	}
	if s.toks == nil {
		s.toks = map[string]azcore.AccessToken{}
	}
	s.toks[key] = t
	return t, nil
}

// stale says whether azcore's bearer token policy would refresh t: after
// its RefreshOn, or else within 5 minutes of its expiry.
func stale(t azcore.AccessToken) bool {
	if !t.RefreshOn.IsZero() {
		return !time.Now().Before(t.RefreshOn)
	}
	return !time.Now().Before(t.ExpiresOn.Add(-5 * time.Minute))
}
