package azuretest

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/cloud"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"
)

// TestStandInSignIn signs in with azidentity's client secret credential:
// the configured client gets a token, anything else Entra's error.
func TestStandInSignIn(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	cases := []struct {
		name                   string
		tenant, client, secret string
		status                 int    // 0: signed in
		aadsts                 string // in the error
	}{
		{"configured client", tenantID, clientID, secret, 0, ""},
		{"tenant in other case", strings.ToUpper(tenantID), clientID, secret, 0, ""},
		{"wrong secret", tenantID, clientID, "not-the-secret", http.StatusUnauthorized, "AADSTS7000215"},
		{"unknown client", tenantID, "11111111-2222-4333-8444-555555555555", secret, http.StatusBadRequest, "AADSTS700016"},
		{"unknown tenant", "00000000-0000-4000-8000-000000000000", clientID, secret, http.StatusBadRequest, "AADSTS90002"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			cred, err := credential(e.s, tc.tenant, tc.client, tc.secret)
			if err != nil {
				t.Fatal(err)
			}
			tok, err := cred.GetToken(ctx(t), policy.TokenRequestOptions{Scopes: []string{e.s.URL() + "/.default"}})
			if tc.status == 0 {
				if err != nil || tok.Token == "" {
					t.Fatalf("GetToken = %q, %v", tok.Token, err)
				}
				return
			}
			var af *azidentity.AuthenticationFailedError
			if !errors.As(err, &af) || af.RawResponse == nil {
				t.Fatalf("error = %v (%T), want an AuthenticationFailedError with the response", err, err)
			}
			if af.RawResponse.StatusCode != tc.status || !strings.Contains(err.Error(), tc.aadsts) {
				t.Errorf("status %d, error %v; want %d and %s", af.RawResponse.StatusCode, err, tc.status, tc.aadsts)
			}
		})
	}
}

// TestStandInBearer checks that ARM wants the stand-in's bearer token, and
// answers the rest of a request only then.
func TestStandInBearer(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	group := "/subscriptions/" + subID + "/resourceGroups/rg?api-version=2025-04-01"
	cases := []struct {
		name   string
		path   string
		auth   string
		status int
		code   string
	}{
		{"no header", group, "", 401, "AuthenticationFailed"},
		{"not bearer", group, "Basic Zm9vOmJhcg==", 401, "AuthenticationFailedInvalidHeader"},
		{"unknown token", group, "Bearer not-a-token", 401, "InvalidAuthenticationToken"},
		{"valid token", group, "token", 404, "ResourceGroupNotFound"},
		{"unknown subscription", "/subscriptions/00000000-0000-4000-8000-000000000001/resourceGroups/rg?api-version=2025-04-01", "token", 404, "SubscriptionNotFound"},
		{"no api-version", "/subscriptions/" + subID + "/resourceGroups/rg", "token", 400, "MissingApiVersionParameter"},
		{"type not served", "/subscriptions/" + subID + "/resourceGroups/rg/providers/Microsoft.Storage/storageAccounts/x?api-version=1", "token", 404, "InvalidResourceType"},
	}
	tok := e.token(t)
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			req, err := http.NewRequestWithContext(ctx(t), http.MethodGet, e.s.URL()+tc.path, nil)
			if err != nil {
				t.Fatal(err)
			}
			switch tc.auth {
			case "":
			case "token":
				req.Header.Set("Authorization", "Bearer "+tok)
			default:
				req.Header.Set("Authorization", tc.auth)
			}
			resp, err := e.s.Transport().Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			var body struct {
				Error struct{ Code, Message string }
			}
			if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
				t.Fatalf("error body: %v", err)
			}
			if resp.StatusCode != tc.status || body.Error.Code != tc.code || body.Error.Message == "" {
				t.Errorf("%d %+v; want %d %s with a message", resp.StatusCode, body.Error, tc.status, tc.code)
			}
			if tc.status == 401 && !strings.HasPrefix(resp.Header.Get("WWW-Authenticate"), "Bearer ") {
				t.Errorf("WWW-Authenticate = %q", resp.Header.Get("WWW-Authenticate"))
			}
		})
	}
}

// TestStandInTLS checks the stand-in's own CA: a client trusting only the
// system roots refuses it, one trusting CACertPEM talks to it.
func TestStandInTLS(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(e.s.CACertPEM()) {
		t.Fatal("CACertPEM is not a PEM certificate")
	}
	cases := []struct {
		name string
		tls  *tls.Config
		ok   bool
	}{
		{"system roots", &tls.Config{MinVersion: tls.VersionTLS12}, false},
		{"stand-in CA", &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}, true},
		{"stand-in CA, name localhost", &tls.Config{RootCAs: pool, ServerName: "localhost", MinVersion: tls.VersionTLS12}, true},
		{"stand-in CA, another name", &tls.Config{RootCAs: pool, ServerName: "management.azure.com", MinVersion: tls.VersionTLS12}, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := &http.Client{Transport: &http.Transport{TLSClientConfig: tc.tls}}
			resp, err := c.Get(e.s.URL() + "/" + tenantID + "/v2.0/.well-known/openid-configuration")
			if err == nil {
				resp.Body.Close()
			}
			if (err == nil) != tc.ok {
				t.Errorf("GET: %v, want ok=%v", err, tc.ok)
			}
		})
	}
	want := cloud.Configuration{
		ActiveDirectoryAuthorityHost: e.s.URL() + "/",
		Services: map[cloud.ServiceName]cloud.ServiceConfiguration{
			cloud.ResourceManager: {Endpoint: e.s.URL(), Audience: e.s.URL()},
		},
	}
	got := e.s.Cloud()
	if got.ActiveDirectoryAuthorityHost != want.ActiveDirectoryAuthorityHost ||
		got.Services[cloud.ResourceManager] != want.Services[cloud.ResourceManager] ||
		!strings.HasPrefix(e.s.URL(), "https://127.0.0.1:") {
		t.Errorf("Cloud() = %+v, URL %s", got, e.s.URL())
	}
}

// TestStandInOpenIDConfiguration checks the discovery document MSAL reads:
// every endpoint on the stand-in, the issuer its own.
func TestStandInOpenIDConfiguration(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	resp := e.raw(t, http.MethodGet, "/"+tenantID+"/v2.0/.well-known/openid-configuration", "")
	var doc map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&doc); err != nil || resp.StatusCode != 200 {
		t.Fatalf("%d, %v", resp.StatusCode, err)
	}
	for _, k := range []string{"issuer", "token_endpoint", "authorization_endpoint", "device_authorization_endpoint", "jwks_uri", "end_session_endpoint"} {
		v, _ := doc[k].(string)
		if !strings.HasPrefix(v, e.s.URL()+"/"+tenantID+"/") {
			t.Errorf("%s = %q, want it under %s/%s/", k, v, e.s.URL(), tenantID)
		}
	}
	if got := e.s.Requests(); got != 0 {
		t.Errorf("Requests() = %d after sign-in only, want 0", got)
	}
	e.raw(t, http.MethodGet, "/subscriptions/"+subID+"/resourceGroups/x?api-version=1", e.token(t))
	if got := e.s.Requests(); got != 1 {
		t.Errorf("Requests() = %d after one ARM request, want 1", got)
	}
}
