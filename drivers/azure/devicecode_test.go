package azure

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"
	"github.com/Azure/azure-sdk-for-go/sdk/azidentity/cache"

	"github.com/machine-cli/machine/drivers/azure/azuretest"
)

// Who signs in by device code on the stand-in.
const (
	dcTenant = "72f988bf-0000-4000-8000-0000000dc0de"
	dcSub    = "9c3ab2f1-0000-4000-8000-0000000dc5ab"
	dcUser   = "ann@example.test"
)

// deviceCodeStandIn starts a stand-in whose device codes the user approves
// at once (one poll) and whose user tokens last tokenLife (0: an hour).
func deviceCodeStandIn(t *testing.T, tokenLife time.Duration) *azuretest.Server {
	t.Helper()
	s, err := azuretest.Start(azuretest.Options{
		TenantID: dcTenant, ClientID: "0b5f3f8e-0000-4000-8000-00000000c11e", ClientSecret: "unused",
		Subscriptions: []string{dcSub}, Locations: []string{"westeurope"},
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	s.SetDeviceCode(azuretest.DeviceCodeOptions{ApproveAs: dcUser, TokenLifetime: tokenLife})
	return s
}

// persistentCache is the OS token cache as tokenCache makes it, under a
// HOME of the test's own (the kernel user keyring holds the key, a file
// under $HOME/.cache/.IdentityService the encrypted tokens). Each call is
// a fresh Cache, as each command of machine makes one.
func persistentCache(t *testing.T) azidentity.Cache {
	t.Helper()
	c, err := cache.New(&cache.Options{Name: "machine-devicecode-test"})
	if err != nil {
		t.Fatalf("cache.New: %v", err)
	}
	return c
}

// TestDeviceCodeSignInOnce: the first command signs in by device code (the
// message reaches the user once, the record is kept without a token), and
// a later command, not in a terminal, with a fresh signIn and cache, gets
// a token without any device code: the cached access token, or a token
// from the cached refresh token when the access token is about to expire.
func TestDeviceCodeSignInOnce(t *testing.T) {
	cases := []struct {
		name      string
		tokenLife time.Duration // of the user's access tokens
		refreshes int           // refresh_token grants by the second command
		// loseRecord deletes the record before the second command: what a
		// broken saveRecord would do, which the second command must show.
		loseRecord bool
	}{
		{name: "cached access token", refreshes: 0},
		// MSAL takes a token with less than 5 minutes left for expired.
		{name: "refresh token", tokenLife: time.Minute, refreshes: 1},
		{name: "record lost", loseRecord: true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			offline(t)
			home := t.TempDir()
			t.Setenv("HOME", home)
			t.Setenv("XDG_CACHE_HOME", "")
			s := deviceCodeStandIn(t, tc.tokenLife)
			cfg := &Config{SubscriptionID: dcSub, TenantID: dcTenant}
			store := t.TempDir()
			var messages []string
			first := signIn{
				cloud: s.Cloud(), custom: true, client: azcore.ClientOptions{Transport: s.Transport()},
				storeDir: store, interactive: true, notify: func(m string) { messages = append(messages, m) },
				cache: persistentCache(t),
			}
			cred, err := credential(t.Context(), cfg, first)
			if err != nil {
				t.Fatal(err)
			}
			start := time.Now()
			if err := signInNow(t.Context(), cred, first); err != nil {
				t.Fatalf("first sign-in: %v", err)
			}
			t.Logf("first command signed in in %v", time.Since(start).Round(time.Millisecond))
			if len(messages) != 1 || !strings.Contains(messages[0], "enter the code") || s.DeviceCodeRequests() != 1 {
				t.Fatalf("messages %q, %d device code requests; want one of each", messages, s.DeviceCodeRequests())
			}
			checkRecord(t, filepath.Join(store, "signin-"+dcTenant+".json"))
			if _, err := os.Stat(filepath.Join(home, ".cache", ".IdentityService", "machine-devicecode-test")); err != nil {
				t.Errorf("no persistent token cache file: %v", err)
			}

			if tc.loseRecord {
				if err := os.Remove(filepath.Join(store, "signin-"+dcTenant+".json")); err != nil {
					t.Fatal(err)
				}
			}
			second := signIn{
				cloud: s.Cloud(), custom: true, client: azcore.ClientOptions{Transport: s.Transport()},
				storeDir: store, interactive: false, notify: func(m string) { t.Errorf("second command asked the user: %q", m) },
				cache: persistentCache(t),
			}
			cred, err = credential(t.Context(), cfg, second)
			if err != nil {
				t.Fatal(err)
			}
			refreshed := s.TokenRequests(azuretest.GrantRefreshToken) // by the first command's GetToken, after Authenticate
			start = time.Now()
			err = signInNow(t.Context(), cred, second)
			if tc.loseRecord {
				if err == nil {
					t.Fatal("without the record the second command signed in all the same")
				}
				if s.DeviceCodeRequests() != 1 {
					t.Errorf("%d device code requests, want the first command's only", s.DeviceCodeRequests())
				}
				return
			}
			if err != nil {
				t.Fatalf("second sign-in: %v", err)
			}
			t.Logf("second command signed in in %v", time.Since(start).Round(time.Millisecond))
			if got := s.DeviceCodeRequests(); got != 1 {
				t.Errorf("%d device code requests in all, want the first command's only", got)
			}
			if got := s.TokenRequests(azuretest.GrantRefreshToken) - refreshed; got != tc.refreshes {
				t.Errorf("%d refresh token grants, want %d", got, tc.refreshes)
			}
			if got := s.TokenRequests(azuretest.GrantDeviceCode); got != 1 {
				t.Errorf("%d device code polls in all, want 1", got)
			}
		})
	}
}

// checkRecord: the kept record names the account and authority, and holds
// no token and no secret.
func checkRecord(t *testing.T, path string) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("no authentication record: %v", err)
	}
	var rec map[string]any
	if err := json.Unmarshal(b, &rec); err != nil {
		t.Fatal(err)
	}
	keys := make([]string, 0, len(rec))
	for k := range rec {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	if want := []string{"authority", "clientId", "homeAccountId", "tenantId", "username", "version"}; !slices.Equal(keys, want) {
		t.Errorf("record fields %v, want %v", keys, want)
	}
	if rec["username"] != dcUser || rec["tenantId"] != dcTenant {
		t.Errorf("record %s", b)
	}
	for _, bad := range []string{"token", "secret", "eyJ"} {
		if strings.Contains(strings.ToLower(string(b)), strings.ToLower(bad)) {
			t.Errorf("record holds %q: %s", bad, b)
		}
	}
}

// TestDeviceCodeNotInTerminal: with no kept sign-in and no terminal, no
// device code is asked for and the sign-in fails in one clear line.
func TestDeviceCodeNotInTerminal(t *testing.T) {
	offline(t)
	t.Setenv("HOME", t.TempDir())
	t.Setenv("XDG_CACHE_HOME", "")
	s := deviceCodeStandIn(t, 0)
	si := signIn{
		cloud: s.Cloud(), custom: true, client: azcore.ClientOptions{Transport: s.Transport()},
		storeDir: t.TempDir(), notify: func(m string) { t.Errorf("asked the user: %q", m) }, cache: persistentCache(t),
	}
	cred, err := credential(t.Context(), &Config{SubscriptionID: dcSub, TenantID: dcTenant}, si)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := cred.GetToken(t.Context(), policy.TokenRequestOptions{Scopes: []string{s.URL() + "/.default"}}); err != nil {
		t.Logf("the chain's own error: %v", err)
	}
	err = signInNow(t.Context(), cred, si)
	if err == nil || strings.Contains(err.Error(), "\n") || !strings.HasPrefix(err.Error(), "azure: sign-in failed: ") || !strings.Contains(err.Error(), "az login") {
		t.Fatalf("err = %q, want one line saying the sign-in failed and what to do", err)
	}
	t.Log(err)
	if n := s.DeviceCodeRequests(); n != 0 {
		t.Errorf("%d device code requests, want none", n)
	}
}
