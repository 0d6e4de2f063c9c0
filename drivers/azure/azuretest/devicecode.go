package azuretest

import (
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"math/big"
	"net/http"
	"strings"
	"sync"
	"time"
)

// The device code flow as MSAL for Go (1.10) drives it against the
// stand-in, with a custom authority host and instance discovery off:
//
//  1. GET /{tenant}/v2.0/.well-known/openid-configuration;
//  2. POST /{tenant}/oauth2/v2.0/devicecode with client_id and scope
//     ("{URL}/.default openid offline_access profile"): the user code,
//     the device code and the message shown to the user;
//  3. POST /{tenant}/oauth2/v2.0/token with grant_type=device_code (not
//     RFC 8628's urn:ietf:params:oauth:grant-type:device_code, which
//     Entra and the stand-in take too), device_code,
//     client_id, client_info=1 and scope, answered 400
//     authorization_pending until the code is approved. MSAL ignores the
//     interval it was given: it polls after 50 ms, then 150 ms, 450 ms,
//     1.35 s, ... (times three, at most 5 s), so a code approved in
//     advance costs one poll;
//  4. later, silently: the same token endpoint with
//     grant_type=refresh_token, refresh_token, client_id, client_info=1 and
//     scope, when the cached access token has less than 5 minutes left.

// Grant types the stand-in's token endpoint knows, as in the form's
// grant_type; TokenRequests counts requests by them (both names of the
// device code grant as GrantDeviceCode).
const (
	GrantClientCredentials = "client_credentials"
	GrantDeviceCode        = "device_code" // MSAL for Go's name
	GrantDeviceCodeURN     = "urn:ietf:params:oauth:grant-type:device_code"
	GrantRefreshToken      = "refresh_token"
)

// DeviceCodeOptions configures the stand-in's device code flow; without
// them a code waits for ApproveDeviceCode.
type DeviceCodeOptions struct {
	// ApproveAs, if set, is the user name (e.g. "ann@example.test") that
	// approves every device code by itself after ApproveAfter polls were
	// answered authorization_pending.
	ApproveAs    string
	ApproveAfter int
	// CodeLifetime is a device code's expires_in (Entra: 15 minutes).
	CodeLifetime time.Duration
	// TokenLifetime is a user's access token's expires_in (default as for
	// client credentials, about an hour). MSAL refreshes a cached token
	// with less than 5 minutes left, so a shorter one is refreshed at
	// every silent request.
	TokenLifetime time.Duration
}

// deviceFlow is a stand-in's device code state, under its own lock.
type deviceFlow struct {
	mu       sync.Mutex
	opts     DeviceCodeOptions
	codes    map[string]*deviceCode // by device code
	refresh  map[string]*session    // by refresh token
	users    map[string]string      // user name → object ID
	requests map[string]int         // "devicecode" and grant types
	key      *rsa.PrivateKey        // signs ID tokens, made on first use
	keyID    string
}

// deviceCode is one sign-in under way.
type deviceCode struct {
	userCode, clientID, scope string
	expires                   time.Time
	polls                     int
	approvedAs                string // user name once approved
	declined, redeemed        bool
}

// session is what a refresh token stands for.
type session struct {
	username, clientID string
}

// newDeviceFlow is a stand-in's device code state before any sign-in.
func newDeviceFlow() *deviceFlow {
	return &deviceFlow{
		codes: map[string]*deviceCode{}, refresh: map[string]*session{},
		users: map[string]string{}, requests: map[string]int{},
	}
}

// SetDeviceCode configures the device code flow for the codes to come.
func (s *Server) SetDeviceCode(o DeviceCodeOptions) {
	f := s.flow
	f.mu.Lock()
	f.opts = o
	f.mu.Unlock()
}

// ApproveDeviceCode is username signing in with userCode on the
// verification page: the next poll of its device code gets tokens.
func (s *Server) ApproveDeviceCode(userCode, username string) error {
	return s.decide(userCode, func(c *deviceCode) { c.approvedAs = username })
}

// DeclineDeviceCode is the user refusing the sign-in on the verification
// page: the next poll gets authorization_declined.
func (s *Server) DeclineDeviceCode(userCode string) error {
	return s.decide(userCode, func(c *deviceCode) { c.declined = true })
}

func (s *Server) decide(userCode string, do func(*deviceCode)) error {
	f := s.flow
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, c := range f.codes {
		if strings.EqualFold(c.userCode, userCode) && !c.redeemed && time.Now().Before(c.expires) {
			do(c)
			return nil
		}
	}
	return fmt.Errorf("azuretest: no pending device code with user code %q", userCode)
}

// DeviceCodeRequests is how many device codes were asked for.
func (s *Server) DeviceCodeRequests() int { return s.signInRequests("devicecode") }

// TokenRequests is how many token requests of a grant type (e.g.
// GrantRefreshToken) the stand-in answered, refused ones included.
func (s *Server) TokenRequests(grantType string) int { return s.signInRequests(grantType) }

func (s *Server) signInRequests(kind string) int {
	f := s.flow
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.requests[kind]
}

// countSignIn counts a sign-in request of a kind.
func (s *Server) countSignIn(kind string) {
	f := s.flow
	f.mu.Lock()
	f.requests[kind]++
	f.mu.Unlock()
}

// deviceCodeRequest is POST /{tenant}/oauth2/v2.0/devicecode.
func (s *Server) deviceCodeRequest(w http.ResponseWriter, r *http.Request, tenant string) {
	s.countSignIn("devicecode")
	if err := r.ParseForm(); err != nil || r.PostForm.Get("client_id") == "" {
		s.authError(w, http.StatusBadRequest, "invalid_request", 900144, "The request body must contain the following parameter: 'client_id'.")
		return
	}
	f := r.PostForm
	if !strings.EqualFold(tenant, s.opts.TenantID) {
		s.authError(w, http.StatusBadRequest, "invalid_request", 90002, fmt.Sprintf(
			"Tenant '%s' not found. Check to make sure you have the correct tenant ID and are signing into the correct cloud.", tenant))
		return
	}
	if f.Get("scope") == "" {
		s.authError(w, http.StatusBadRequest, "invalid_request", 900144, "The request body must contain the following parameter: 'scope'.")
		return
	}
	if _, msg := s.resourceOf(f.Get("scope"), tenant); msg != "" {
		s.authError(w, http.StatusBadRequest, "invalid_resource", 500011, msg)
		return
	}
	fl := s.flow
	fl.mu.Lock()
	life := fl.opts.CodeLifetime
	if life <= 0 {
		life = 15 * time.Minute
	}
	device, user := randomToken(48), userCode()
	fl.codes[device] = &deviceCode{userCode: user, clientID: f.Get("client_id"), scope: f.Get("scope"), expires: time.Now().Add(life)}
	fl.mu.Unlock()
	verify := s.url + "/devicelogin"
	writeJSON(w, http.StatusOK, map[string]any{
		"user_code":        user,
		"device_code":      device,
		"verification_uri": verify,
		"expires_in":       int(life.Seconds()),
		"interval":         5,
		"message":          fmt.Sprintf("To sign in, use a web browser to open the page %s and enter the code %s to authenticate.", verify, user),
	})
}

// resourceOf checks the scopes of a user's request: OpenID Connect ones and
// "{URL}/.default" (or another scope of the stand-in's resource). It
// returns the resource, or Entra's message.
func (s *Server) resourceOf(scopes, tenant string) (string, string) {
	for _, sc := range strings.Fields(scopes) {
		switch sc {
		case "openid", "profile", "offline_access", "email":
			continue
		}
		if !strings.HasPrefix(sc, s.url+"/") {
			i := strings.LastIndex(sc, "/")
			if i < 0 {
				i = len(sc)
			}
			return "", fmt.Sprintf("The resource principal named %s was not found in the tenant named %s. This can happen if the application has not been installed by the administrator of the tenant or consented to by any user in the tenant. You might have sent your authentication request to the wrong tenant.",
				sc[:i], tenant)
		}
	}
	return s.url, ""
}

// deviceCodeToken is the token endpoint's device_code grant.
func (s *Server) deviceCodeToken(w http.ResponseWriter, f map[string][]string, tenant string) {
	get := func(k string) string {
		if v := f[k]; len(v) > 0 {
			return v[0]
		}
		return ""
	}
	fl := s.flow
	fl.mu.Lock()
	c, ok := fl.codes[get("device_code")]
	var username string
	var status int
	var code, msg string
	var aadsts int
	switch {
	case get("device_code") == "":
		status, code, aadsts, msg = http.StatusBadRequest, "invalid_request", 900144, "The request body must contain the following parameter: 'device_code'."
	case !ok || c.redeemed || c.clientID != get("client_id"):
		status, code, aadsts, msg = http.StatusBadRequest, "invalid_grant", 70000, "The provided value for the input parameter 'device_code' is not valid."
	case time.Now().After(c.expires):
		status, code, aadsts, msg = http.StatusBadRequest, "expired_token", 70020, "The provided value for the input parameter 'device_code' is not valid. This device code has expired."
	case c.declined:
		status, code, aadsts, msg = http.StatusBadRequest, "authorization_declined", 70000, "The user has declined to authorize the request."
	case c.approvedAs == "" && fl.opts.ApproveAs != "" && c.polls >= fl.opts.ApproveAfter:
		c.approvedAs = fl.opts.ApproveAs
	}
	if status == 0 && c.approvedAs == "" {
		c.polls++
		status, code, aadsts, msg = http.StatusBadRequest, "authorization_pending", 70016, "The provided request has not yet been authorized by the user. The user must input their code."
	}
	if status == 0 {
		c.redeemed = true
		username = c.approvedAs
	}
	fl.mu.Unlock()
	if status != 0 {
		s.authError(w, status, code, aadsts, msg)
		return
	}
	s.userTokens(w, tenant, username, c.clientID, c.scope)
}

// refreshTokenGrant is the token endpoint's refresh_token grant: a known
// refresh token of the same client gets new tokens (and a new refresh
// token, the old one staying valid as Entra's do).
func (s *Server) refreshTokenGrant(w http.ResponseWriter, f map[string][]string, tenant string) {
	get := func(k string) string {
		if v := f[k]; len(v) > 0 {
			return v[0]
		}
		return ""
	}
	if get("refresh_token") == "" {
		s.authError(w, http.StatusBadRequest, "invalid_request", 900144, "The request body must contain the following parameter: 'refresh_token'.")
		return
	}
	fl := s.flow
	fl.mu.Lock()
	se, ok := fl.refresh[get("refresh_token")]
	fl.mu.Unlock()
	switch {
	case !ok:
		s.authError(w, http.StatusBadRequest, "invalid_grant", 9002313, "Invalid request. Request is malformed or invalid.")
		return
	case se.clientID != get("client_id"):
		s.authError(w, http.StatusBadRequest, "invalid_grant", 70000, "Provided grant is invalid or malformed.")
		return
	}
	if _, msg := s.resourceOf(get("scope"), tenant); msg != "" {
		s.authError(w, http.StatusBadRequest, "invalid_resource", 500011, msg)
		return
	}
	s.userTokens(w, tenant, se.username, se.clientID, get("scope"))
}

// userTokens answers a user's token request as Entra does: an access token
// ARM accepts, a refresh token, an ID token (RS256 JWT) and client_info
// (base64url {"uid","utid"}), from which MSAL makes the account's home
// account ID "uid.utid".
func (s *Server) userTokens(w http.ResponseWriter, tenant, username, clientID, scope string) {
	fl := s.flow
	fl.mu.Lock()
	oid, ok := fl.users[strings.ToLower(username)]
	if !ok {
		oid = newID()
		fl.users[strings.ToLower(username)] = oid
	}
	life := fl.opts.TokenLifetime
	if life <= 0 {
		life = tokenLifetime
	}
	rt := randomToken(64)
	fl.refresh[rt] = &session{username: username, clientID: clientID}
	fl.mu.Unlock()
	tid := s.opts.TenantID
	now := time.Now()
	idToken, err := s.idToken(map[string]any{
		"ver": "2.0", "iss": s.url + "/" + tid + "/v2.0", "sub": newID(), "aud": clientID,
		"iat": now.Unix(), "nbf": now.Unix(), "exp": now.Add(time.Hour).Unix(),
		"tid": tid, "oid": oid, "preferred_username": username, "name": username,
	})
	if err != nil {
		s.authError(w, http.StatusInternalServerError, "server_error", 50000, "There was an error issuing a token.")
		return
	}
	info, _ := json.Marshal(map[string]string{"uid": oid, "utid": tid})
	at := randomToken(32)
	s.mu.Lock()
	s.tokens[at] = now.Add(life)
	s.mu.Unlock()
	granted := s.url + "/user_impersonation"
	for _, sc := range strings.Fields(scope) {
		if strings.HasPrefix(sc, s.url+"/") && sc != granted {
			granted += " " + sc
		}
	}
	w.Header().Set("Cache-Control", "no-store, no-cache")
	writeJSON(w, http.StatusOK, map[string]any{
		"token_type":     "Bearer",
		"scope":          granted,
		"expires_in":     int(life.Seconds()),
		"ext_expires_in": int(life.Seconds()),
		"access_token":   at,
		"refresh_token":  rt,
		"id_token":       idToken,
		"client_info":    base64.RawURLEncoding.EncodeToString(info),
	})
}

// idToken signs claims as an RS256 JWT with the stand-in's signing key,
// whose public half /{tenant}/discovery/v2.0/keys serves.
func (s *Server) idToken(claims map[string]any) (string, error) {
	key, kid, err := s.signingKey()
	if err != nil {
		return "", err
	}
	h, _ := json.Marshal(map[string]string{"typ": "JWT", "alg": "RS256", "kid": kid})
	p, err := json.Marshal(claims)
	if err != nil {
		return "", err
	}
	in := base64.RawURLEncoding.EncodeToString(h) + "." + base64.RawURLEncoding.EncodeToString(p)
	sum := sha256.Sum256([]byte(in))
	sig, err := rsa.SignPKCS1v15(rand.Reader, key, crypto.SHA256, sum[:])
	if err != nil {
		return "", err
	}
	return in + "." + base64.RawURLEncoding.EncodeToString(sig), nil
}

// signingKey is the ID token signing key, made on first use.
func (s *Server) signingKey() (*rsa.PrivateKey, string, error) {
	fl := s.flow
	fl.mu.Lock()
	defer fl.mu.Unlock()
	if fl.key == nil {
		k, err := rsa.GenerateKey(rand.Reader, 2048)
		if err != nil {
			return nil, "", fmt.Errorf("azuretest: ID token key: %w", err)
		}
		fl.key, fl.keyID = k, randomToken(16)
	}
	return fl.key, fl.keyID, nil
}

// keys is the tenant's JSON Web Key Set: the ID token signing key.
func (s *Server) keys(w http.ResponseWriter) {
	key, kid, err := s.signingKey()
	if err != nil {
		writeJSON(w, http.StatusInternalServerError, map[string]string{"error": "server_error"})
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"keys": []map[string]any{{
		"kty": "RSA", "use": "sig", "alg": "RS256", "kid": kid,
		"n": base64.RawURLEncoding.EncodeToString(key.N.Bytes()),
		"e": base64.RawURLEncoding.EncodeToString(big.NewInt(int64(key.E)).Bytes()),
	}}})
}

// randomToken is n random bytes, base64url.
func randomToken(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

// userCode is a code as Entra shows it: nine upper-case letters and digits.
func userCode() string {
	const alphabet = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"
	b := make([]byte, 9)
	_, _ = rand.Read(b)
	for i := range b {
		b[i] = alphabet[int(b[i])%len(alphabet)]
	}
	return string(b)
}
