package azuretest

import (
	"context"
	"crypto"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"math/big"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"
)

const user = "ann@example.test"

// TestStandInDeviceCode signs in with azidentity's DeviceCodeCredential
// (MSAL inside) on the stand-in: the prompt gets Entra's message, the
// polls wait for the approval, and the token works on ARM.
func TestStandInDeviceCode(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name  string
		opts  DeviceCodeOptions
		act   func(s *Server, userCode string) error // in the prompt: the user on the verification page
		polls int                                    // device code grant requests
		err   string                                 // in the error; "" signed in
	}{
		{name: "approved in the prompt", act: func(s *Server, c string) error { return s.ApproveDeviceCode(c, user) }, polls: 1},
		{name: "approved in advance", opts: DeviceCodeOptions{ApproveAs: user}, polls: 1},
		{name: "approved after two polls", opts: DeviceCodeOptions{ApproveAs: user, ApproveAfter: 2}, polls: 3},
		// MSAL reads the body of every 400 to a poll (looking for
		// authorization_pending) and leaves it empty: Entra's AADSTS
		// description never reaches azidentity's error.
		{name: "declined", act: func(s *Server, c string) error { return s.DeclineDeviceCode(c) }, polls: 1, err: "RESPONSE 400"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, nil)
			e.s.SetDeviceCode(tc.opts)
			var messages []string
			cred, err := azidentity.NewDeviceCodeCredential(&azidentity.DeviceCodeCredentialOptions{
				ClientOptions: azcore.ClientOptions{Cloud: e.s.Cloud(), Transport: e.s.Transport()},
				TenantID:      tenantID, DisableInstanceDiscovery: true,
				UserPrompt: func(_ context.Context, m azidentity.DeviceCodeMessage) error {
					messages = append(messages, m.Message)
					if !strings.Contains(m.Message, m.UserCode) || !strings.HasPrefix(m.VerificationURL, e.s.URL()) {
						t.Errorf("message %q, URL %q: want the code and the stand-in's page", m.Message, m.VerificationURL)
					}
					if tc.act != nil {
						return tc.act(e.s, m.UserCode)
					}
					return nil
				},
			})
			if err != nil {
				t.Fatal(err)
			}
			rec, err := cred.Authenticate(ctx(t), &policy.TokenRequestOptions{Scopes: []string{e.s.URL() + "/.default"}})
			if len(messages) != 1 || e.s.DeviceCodeRequests() != 1 {
				t.Errorf("%d messages, %d device code requests; want 1 and 1", len(messages), e.s.DeviceCodeRequests())
			}
			if got := e.s.TokenRequests(GrantDeviceCode); got != tc.polls {
				t.Errorf("%d polls, want %d", got, tc.polls)
			}
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("err = %v, want %s", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if rec.Username != user || rec.TenantID != tenantID || rec.Authority != e.s.URL() || !strings.HasSuffix(rec.HomeAccountID, "."+tenantID) {
				t.Errorf("record %+v", rec)
			}
			tok, err := cred.GetToken(ctx(t), policy.TokenRequestOptions{Scopes: []string{e.s.URL() + "/.default"}})
			if err != nil {
				t.Fatal(err)
			}
			if st := armStatus(t, e, tok.Token); st != http.StatusNotFound {
				t.Errorf("ARM with the user's token: %d, want 404 (signed in, no such group)", st)
			}
			if e.s.DeviceCodeRequests() != 1 {
				t.Errorf("GetToken after Authenticate asked for another device code")
			}
		})
	}
}

// TestStandInDeviceCodeProtocol speaks the protocol itself, for what MSAL
// hides: the ID token's claims and signature, client_info, the refresh
// grant, and Entra's errors.
func TestStandInDeviceCodeProtocol(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	scope := e.s.URL() + "/.default openid offline_access profile"
	post := func(t *testing.T, path string, form url.Values) (int, map[string]any) {
		t.Helper()
		resp, err := e.s.Transport().PostForm(e.s.URL()+"/"+tenantID+path, form)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var body map[string]any
		if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
			t.Fatal(err)
		}
		return resp.StatusCode, body
	}
	code := func(t *testing.T) (device, user string) {
		t.Helper()
		st, b := post(t, "/oauth2/v2.0/devicecode", url.Values{"client_id": {clientID}, "scope": {scope}})
		if st != http.StatusOK || b["interval"] == nil || b["expires_in"] == nil || b["message"] == nil {
			t.Fatalf("devicecode: %d %v", st, b)
		}
		return b["device_code"].(string), b["user_code"].(string)
	}
	poll := func(t *testing.T, device string) (int, map[string]any) {
		return post(t, "/oauth2/v2.0/token", url.Values{"grant_type": {GrantDeviceCodeURN}, "device_code": {device},
			"client_id": {clientID}, "client_info": {"1"}, "scope": {scope}})
	}
	wantErr := func(t *testing.T, st int, b map[string]any, code, aadsts string) {
		t.Helper()
		d, _ := b["error_description"].(string)
		if st != http.StatusBadRequest || b["error"] != code || !strings.HasPrefix(d, aadsts+":") {
			t.Errorf("%d %v; want 400 %s %s", st, b, code, aadsts)
		}
	}

	device, uc := code(t)
	st, b := poll(t, device)
	wantErr(t, st, b, "authorization_pending", "AADSTS70016")
	if err := e.s.ApproveDeviceCode(uc, user); err != nil {
		t.Fatal(err)
	}
	st, b = poll(t, device)
	if st != http.StatusOK {
		t.Fatalf("after approval: %d %v", st, b)
	}
	claims := verifyJWT(t, e, b["id_token"].(string))
	for k, want := range map[string]string{"iss": e.s.URL() + "/" + tenantID + "/v2.0", "aud": clientID, "tid": tenantID, "preferred_username": user} {
		if claims[k] != want {
			t.Errorf("id_token %s = %v, want %s", k, claims[k], want)
		}
	}
	info, err := base64.RawURLEncoding.DecodeString(b["client_info"].(string))
	var ci struct{ UID, UTID string }
	if err != nil || json.Unmarshal(info, &ci) != nil || ci.UID != claims["oid"] || ci.UTID != tenantID {
		t.Errorf("client_info %s (%v), want uid = oid %v, utid %s", info, err, claims["oid"], tenantID)
	}
	rt := b["refresh_token"].(string)

	t.Run("errors", func(t *testing.T) {
		st, b := poll(t, device)
		wantErr(t, st, b, "invalid_grant", "AADSTS70000") // redeemed already
		st, b = poll(t, "not-a-device-code")
		wantErr(t, st, b, "invalid_grant", "AADSTS70000")
		e.s.SetDeviceCode(DeviceCodeOptions{CodeLifetime: time.Millisecond})
		old, _ := code(t)
		e.s.SetDeviceCode(DeviceCodeOptions{})
		time.Sleep(5 * time.Millisecond)
		st, b = poll(t, old)
		wantErr(t, st, b, "expired_token", "AADSTS70020")
		st, b = post(t, "/oauth2/v2.0/token", url.Values{"grant_type": {GrantRefreshToken}, "refresh_token": {"nope"}, "client_id": {clientID}, "scope": {scope}})
		wantErr(t, st, b, "invalid_grant", "AADSTS9002313")
		st, b = post(t, "/oauth2/v2.0/token", url.Values{"grant_type": {GrantRefreshToken}, "refresh_token": {rt}, "client_id": {"another-client"}, "scope": {scope}})
		wantErr(t, st, b, "invalid_grant", "AADSTS70000")
	})
	t.Run("refresh", func(t *testing.T) {
		st, b := post(t, "/oauth2/v2.0/token", url.Values{"grant_type": {GrantRefreshToken}, "refresh_token": {rt},
			"client_id": {clientID}, "client_info": {"1"}, "scope": {scope}})
		if st != http.StatusOK || b["refresh_token"] == nil || b["id_token"] == nil {
			t.Fatalf("refresh: %d %v", st, b)
		}
		if st := armStatus(t, e, b["access_token"].(string)); st != http.StatusNotFound {
			t.Errorf("ARM with the refreshed token: %d, want 404 (signed in, no such group)", st)
		}
		if c := verifyJWT(t, e, b["id_token"].(string)); c["oid"] != claims["oid"] {
			t.Errorf("refreshed oid %v, want the same user's %v", c["oid"], claims["oid"])
		}
	})
}

// armStatus is the status of ARM's answer to a GET of a missing resource
// group with token: 404 if ARM takes the token, 401 if not.
func armStatus(t *testing.T, e *env, token string) int {
	t.Helper()
	return e.raw(t, http.MethodGet, "/subscriptions/"+subID+"/resourceGroups/none?api-version=2021-04-01", token).StatusCode
}

// verifyJWT checks an RS256 JWT against the tenant's published keys and
// returns its claims.
func verifyJWT(t *testing.T, e *env, jwt string) map[string]any {
	t.Helper()
	parts := strings.Split(jwt, ".")
	if len(parts) != 3 {
		t.Fatalf("id_token %q is not header.payload.signature", jwt)
	}
	resp := e.raw(t, http.MethodGet, "/"+tenantID+"/discovery/v2.0/keys", "")
	var set struct{ Keys []struct{ Kid, N, E string } }
	if err := json.NewDecoder(resp.Body).Decode(&set); err != nil || len(set.Keys) != 1 {
		t.Fatalf("keys: %v %+v", err, set)
	}
	n, _ := base64.RawURLEncoding.DecodeString(set.Keys[0].N)
	x, _ := base64.RawURLEncoding.DecodeString(set.Keys[0].E)
	pub := &rsa.PublicKey{N: new(big.Int).SetBytes(n), E: int(new(big.Int).SetBytes(x).Int64())}
	sig, _ := base64.RawURLEncoding.DecodeString(parts[2])
	sum := sha256.Sum256([]byte(parts[0] + "." + parts[1]))
	if err := rsa.VerifyPKCS1v15(pub, crypto.SHA256, sum[:], sig); err != nil {
		t.Errorf("id_token signature: %v", err)
	}
	p, _ := base64.RawURLEncoding.DecodeString(parts[1])
	var claims map[string]any
	if err := json.Unmarshal(p, &claims); err != nil {
		t.Fatal(err)
	}
	now := float64(time.Now().Unix())
	if claims["exp"].(float64) <= now || claims["nbf"].(float64) > now {
		t.Errorf("id_token not valid now: %v", claims)
	}
	return claims
}
