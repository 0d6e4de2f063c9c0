package azure

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/cloud"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"
)

// offline keeps a test's Azure SDK on this machine: a call meant for the
// real cloud goes to a closed loopback port and fails here, and the
// credential chain never probes the instance metadata address.
// It also clears the AZURE_ variables a credential reads (SetConfigFromFlags
// sets two of them), restoring them when the test ends.
func offline(t *testing.T) {
	for k, v := range offlineEnv {
		t.Setenv(k, v)
	}
}

// offlineEnv is the environment offline sets.
var offlineEnv = map[string]string{
	"HTTPS_PROXY": "http://127.0.0.1:9", "HTTP_PROXY": "http://127.0.0.1:9", "NO_PROXY": "127.0.0.1,localhost",
	"AZURE_TOKEN_CREDENTIALS": "EnvironmentCredential",
	"AZURE_CLIENT_ID":         "", "AZURE_CLIENT_SECRET": "", "AZURE_TENANT_ID": "", "AZURE_SUBSCRIPTION_ID": "",
}

// armChallenge is a stand-in for ARM's answer to an unauthenticated
// request: 401 with the tenant's authority in the challenge, or 404 for an
// unknown subscription.
func armChallenge(t *testing.T) signIn {
	t.Helper()
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case strings.HasPrefix(r.URL.Path, "/subscriptions/sub-1"):
			w.Header().Set("WWW-Authenticate", `Bearer authorization_uri="https://login.microsoftonline.com/72f988bf-86f1-41af-91ab-2d7cd011db47", error="invalid_token", error_description="The authentication failed because of missing 'Authorization' header."`)
			w.WriteHeader(http.StatusUnauthorized)
		default:
			w.WriteHeader(http.StatusNotFound)
		}
	}))
	t.Cleanup(srv.Close)
	return signIn{
		cloud: cloud.Configuration{ActiveDirectoryAuthorityHost: srv.URL + "/", Services: map[cloud.ServiceName]cloud.ServiceConfiguration{
			cloud.ResourceManager: {Endpoint: srv.URL, Audience: srv.URL},
		}},
		custom: true,
		client: azcore.ClientOptions{Transport: srv.Client()},
	}
}

func TestDiscoverTenant(t *testing.T) {
	offline(t)
	s := armChallenge(t)
	for _, tc := range []struct {
		sub, tenant, err string
	}{
		{sub: "sub-1", tenant: "72f988bf-86f1-41af-91ab-2d7cd011db47"},
		{sub: "nope", err: `subscription "nope" not found`},
	} {
		t.Run(tc.sub, func(t *testing.T) {
			got, err := discoverTenant(t.Context(), s, tc.sub)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("err = %v, want %q", err, tc.err)
				}
				return
			}
			if err != nil || got != tc.tenant {
				t.Fatalf("tenant = %q, %v; want %q", got, err, tc.tenant)
			}
		})
	}
	t.Run("unreachable", func(t *testing.T) {
		s := signIn{cloud: cloud.Configuration{Services: map[cloud.ServiceName]cloud.ServiceConfiguration{
			cloud.ResourceManager: {Endpoint: "https://127.0.0.1:1"}}}}
		if _, err := discoverTenant(t.Context(), s, "sub-1"); err == nil || !strings.Contains(err.Error(), "--azure-tenant-id") {
			t.Fatalf("err = %v, want a hint to pass --azure-tenant-id", err)
		}
	})
}

// TestCredentialChoice: an explicit client secret wins over a device code
// sign-in kept in the store; without one, the kept sign-in comes first.
func TestCredentialChoice(t *testing.T) {
	offline(t)
	s := armChallenge(t)
	s.storeDir = t.TempDir()
	const tenant = "72f988bf-86f1-41af-91ab-2d7cd011db47"
	s.saveRecord(tenant, azidentity.AuthenticationRecord{HomeAccountID: "uid.utid", Username: "ann@example.test", TenantID: tenant, Authority: "https://login.example.test", Version: "1.0"})
	b, err := os.ReadFile(filepath.Join(s.storeDir, "signin-"+tenant+".json"))
	if err != nil || !strings.Contains(string(b), "ann@example.test") {
		t.Fatalf("record file: %s, %v", b, err)
	}
	if fi, _ := os.Stat(filepath.Join(s.storeDir, "signin-"+tenant+".json")); fi.Mode().Perm() != 0o600 {
		t.Errorf("record file mode %v, want 0600", fi.Mode().Perm())
	}

	explicit, err := credential(t.Context(), &Config{SubscriptionID: "sub-1", ClientID: "app", ClientSecret: "s3cret"}, s)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := explicit.(*azidentity.ClientSecretCredential); !ok {
		t.Errorf("with a client secret: %T, want *azidentity.ClientSecretCredential", explicit)
	}
	if _, ok := s.loadRecord(tenant); !ok {
		t.Fatal("the kept sign-in is gone")
	}
	cached, err := credential(t.Context(), &Config{SubscriptionID: "sub-1", TenantID: tenant}, s)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := cached.(*azidentity.ChainedTokenCredential); !ok {
		t.Errorf("without a secret: %T, want a chain", cached)
	}
	if _, ok := s.loadRecord("other-tenant"); ok {
		t.Error("a record was found for another tenant")
	}
	if got := (signIn{storeDir: s.storeDir}).recordFile("../escape"); got != "" {
		t.Errorf("record file for a bad tenant name: %q", got)
	}
}

// TestSecretOutlivesTheCall: the client secret given at create reaches the
// later calls of the same command (each gets a fresh driver from the
// stored JSON) without being in that JSON.
func TestSecretOutlivesTheCall(t *testing.T) {
	offline(t)
	s := armChallenge(t)
	d := New().(*Driver)
	d.MachineName = "m1"
	if err := d.SetConfigFromFlags(t.Context(), map[string]any{flSubscriptionID: "sub-1", flClientID: "app", flClientSecret: "s3cret"}); err != nil {
		t.Fatal(err)
	}
	b, err := json.Marshal(d)
	if err != nil || strings.Contains(string(b), "s3cret") {
		t.Fatalf("stored config %s (%v) holds the secret", b, err)
	}
	next := New().(*Driver)
	if err := json.Unmarshal(b, next); err != nil {
		t.Fatal(err)
	}
	cred, err := credential(t.Context(), &next.Config, s)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := cred.(*azidentity.ClientSecretCredential); !ok {
		t.Errorf("a later call signs in with %T, want the client secret", cred)
	}
}

// countingCredential counts GetToken calls and returns a token valid for an
// hour.
type countingCredential struct {
	mu    sync.Mutex
	calls int
}

func (c *countingCredential) GetToken(context.Context, policy.TokenRequestOptions) (azcore.AccessToken, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.calls++
	return azcore.AccessToken{Token: fmt.Sprint("t", c.calls), ExpiresOn: time.Now().Add(time.Hour)}, nil
}

func TestSharedTokenAsksTheCredentialOncePerScope(t *testing.T) {
	cc := &countingCredential{}
	s := &sharedToken{cred: cc}
	arm := policy.TokenRequestOptions{Scopes: []string{"https://management.azure.com/.default"}}
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			if tok, err := s.GetToken(t.Context(), arm); err != nil || tok.Token != "t1" {
				t.Errorf("GetToken = %q, %v; want t1", tok.Token, err)
			}
		})
	}
	wg.Wait()
	if cc.calls != 1 {
		t.Errorf("the credential was asked %d times for one scope; want 1", cc.calls)
	}
	if _, err := s.GetToken(t.Context(), policy.TokenRequestOptions{Scopes: []string{"other/.default"}}); err != nil || cc.calls != 2 {
		t.Errorf("another scope: %v, %d asks; want a second ask", err, cc.calls)
	}
	withClaims := arm
	withClaims.Claims = "challenge"
	if _, err := s.GetToken(t.Context(), withClaims); err != nil || cc.calls != 3 {
		t.Errorf("a request with claims: %v, %d asks; want it to reach the credential", err, cc.calls)
	}
	s.toks[fmt.Sprintf("%q %q %t", arm.Scopes, arm.TenantID, arm.EnableCAE)] = azcore.AccessToken{Token: "old", ExpiresOn: time.Now().Add(time.Minute)}
	if tok, _ := s.GetToken(t.Context(), arm); tok.Token == "old" || cc.calls != 4 {
		t.Errorf("a token 1 minute from expiry: got %q after %d asks; want a fresh one", tok.Token, cc.calls)
	}
}
