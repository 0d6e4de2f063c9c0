package azuretest

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"fmt"
	"net/http"
	"strings"
	"time"
)

// tokenLifetime is how long an access token lasts, as Entra's expires_in.
const tokenLifetime = 3599 * time.Second

// serveAuth answers the sign-in endpoints MSAL uses with a custom
// authority host and instance discovery off: the tenant's OpenID
// configuration, its signing keys, its v2.0 token endpoint (client
// credentials, device code and refresh token grants) and its device code
// endpoint.
func (s *Server) serveAuth(w http.ResponseWriter, r *http.Request, seg []string) {
	tenant := seg[0]
	path := strings.ToLower(strings.Join(seg[1:], "/"))
	switch {
	case path == "v2.0/.well-known/openid-configuration" && r.Method == http.MethodGet:
		if !strings.EqualFold(tenant, s.opts.TenantID) {
			s.authError(w, http.StatusBadRequest, "invalid_tenant", 90002, fmt.Sprintf(
				"Tenant '%s' not found. Check to make sure you have the correct tenant ID and are signing into the correct cloud.", tenant))
			return
		}
		s.openIDConfiguration(w)
	case path == "discovery/v2.0/keys" && r.Method == http.MethodGet:
		s.keys(w)
	case path == "oauth2/v2.0/token" && r.Method == http.MethodPost:
		s.token(w, r, tenant)
	case path == "oauth2/v2.0/devicecode" && r.Method == http.MethodPost:
		s.deviceCodeRequest(w, r, tenant)
	default:
		http.NotFound(w, r)
	}
}

// openIDConfiguration is the tenant's discovery document, every endpoint on
// the stand-in's own address.
func (s *Server) openIDConfiguration(w http.ResponseWriter) {
	base := s.url + "/" + s.opts.TenantID
	writeJSON(w, http.StatusOK, map[string]any{
		"token_endpoint":                        base + "/oauth2/v2.0/token",
		"token_endpoint_auth_methods_supported": []string{"client_secret_post", "private_key_jwt", "client_secret_basic"},
		"jwks_uri":                              base + "/discovery/v2.0/keys",
		"response_modes_supported":              []string{"query", "fragment", "form_post"},
		"subject_types_supported":               []string{"pairwise"},
		"id_token_signing_alg_values_supported": []string{"RS256"},
		"response_types_supported":              []string{"code", "id_token", "code id_token", "id_token token"},
		"scopes_supported":                      []string{"openid", "profile", "email", "offline_access"},
		"issuer":                                base + "/v2.0",
		"request_uri_parameter_supported":       false,
		"userinfo_endpoint":                     s.url + "/oidc/userinfo",
		"authorization_endpoint":                base + "/oauth2/v2.0/authorize",
		"device_authorization_endpoint":         base + "/oauth2/v2.0/devicecode",
		"http_logout_supported":                 true,
		"frontchannel_logout_supported":         true,
		"end_session_endpoint":                  base + "/oauth2/v2.0/logout",
		"claims_supported":                      []string{"sub", "iss", "aud", "exp", "iat", "auth_time", "acr", "nonce", "tid", "ver", "at_hash", "c_hash"},
		"kerberos_endpoint":                     base + "/kerberos",
		"tenant_region_scope":                   "EU",
		"cloud_instance_name":                   "azuretest.local",
		"cloud_graph_host_name":                 "graph.azuretest.local",
		"msgraph_host":                          "graph.azuretest.local",
		"rbac_url":                              s.url,
	})
}

// token is the token endpoint: the device code and refresh token grants
// of a user (devicecode.go) and the client_credentials grant, where the
// configured client with its secret gets an opaque bearer token for ARM.
func (s *Server) token(w http.ResponseWriter, r *http.Request, tenant string) {
	if err := r.ParseForm(); err != nil || r.PostForm.Get("grant_type") == "" {
		s.authError(w, http.StatusBadRequest, "invalid_request", 900144, "The request body must contain the following parameter: 'grant_type'.")
		return
	}
	f := r.PostForm
	grant := f.Get("grant_type")
	if grant == GrantDeviceCodeURN {
		grant = GrantDeviceCode
	}
	s.countSignIn(grant)
	if !strings.EqualFold(tenant, s.opts.TenantID) {
		s.authError(w, http.StatusBadRequest, "invalid_request", 90002, fmt.Sprintf(
			"Tenant '%s' not found. Check to make sure you have the correct tenant ID and are signing into the correct cloud.", tenant))
		return
	}
	switch grant {
	case GrantDeviceCode:
		s.deviceCodeToken(w, f, tenant)
		return
	case GrantRefreshToken:
		s.refreshTokenGrant(w, f, tenant)
		return
	case GrantClientCredentials:
	default:
		s.authError(w, http.StatusBadRequest, "unsupported_grant_type", 70003, fmt.Sprintf(
			"The app requested an unsupported grant type '%s'.", grant))
		return
	}
	switch {
	case f.Get("client_id") != s.opts.ClientID:
		s.authError(w, http.StatusBadRequest, "unauthorized_client", 700016, fmt.Sprintf(
			"Application with identifier '%s' was not found in the directory '%s'. This can happen if the application has not been installed by the administrator of the tenant or consented to by any user in the tenant. You may have sent your authentication request to the wrong tenant.",
			f.Get("client_id"), tenant))
		return
	case f.Get("client_secret") == "":
		s.authError(w, http.StatusUnauthorized, "invalid_client", 7000216,
			"'client_assertion', 'client_secret' or 'request' is required for the 'client_credentials' grant type.")
		return
	case subtle.ConstantTimeCompare([]byte(f.Get("client_secret")), []byte(s.opts.ClientSecret)) != 1:
		s.authError(w, http.StatusUnauthorized, "invalid_client", 7000215, fmt.Sprintf(
			"Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID, for a secret added to app '%s'.",
			s.opts.ClientID))
		return
	}
	if f.Get("scope") == "" {
		s.authError(w, http.StatusBadRequest, "invalid_request", 900144, "The request body must contain the following parameter: 'scope'.")
		return
	}
	for _, scope := range strings.Fields(f.Get("scope")) {
		switch scope {
		case "openid", "profile", "offline_access":
			continue
		}
		resource, ok := strings.CutSuffix(scope, "/.default")
		if !ok {
			s.authError(w, http.StatusBadRequest, "invalid_scope", 1002012, fmt.Sprintf(
				"The provided value for scope %s is not valid. Client credential flows must have a scope value with /.default suffixed to the resource identifier (application ID URI).", scope))
			return
		}
		if strings.TrimSuffix(resource, "/") != s.url {
			s.authError(w, http.StatusBadRequest, "invalid_resource", 500011, fmt.Sprintf(
				"The resource principal named %s was not found in the tenant named %s. This can happen if the application has not been installed by the administrator of the tenant or consented to by any user in the tenant. You might have sent your authentication request to the wrong tenant.",
				resource, tenant))
			return
		}
	}
	var b [32]byte
	_, _ = rand.Read(b[:])
	tok := base64.RawURLEncoding.EncodeToString(b[:])
	s.mu.Lock()
	s.tokens[tok] = time.Now().Add(tokenLifetime)
	s.mu.Unlock()
	w.Header().Set("Cache-Control", "no-store, no-cache")
	writeJSON(w, http.StatusOK, map[string]any{
		"token_type":     "Bearer",
		"expires_in":     int(tokenLifetime.Seconds()),
		"ext_expires_in": int(tokenLifetime.Seconds()),
		"access_token":   tok,
	})
}

// authError is Entra's error answer, AADSTS code and all.
func (s *Server) authError(w http.ResponseWriter, status int, code string, aadsts int, msg string) {
	now := time.Now().UTC()
	trace, corr := newID(), newID()
	writeJSON(w, status, map[string]any{
		"error": code,
		"error_description": fmt.Sprintf("AADSTS%d: %s Trace ID: %s Correlation ID: %s Timestamp: %s",
			aadsts, msg, trace, corr, now.Format("2006-01-02 15:04:05Z")),
		"error_codes":    []int{aadsts},
		"timestamp":      now.Format("2006-01-02 15:04:05Z"),
		"trace_id":       trace,
		"correlation_id": corr,
		"error_uri":      fmt.Sprintf("%s/error?code=%d", s.url, aadsts),
	})
}

// authorize checks an ARM request's bearer token as ARM does.
func (s *Server) authorize(r *http.Request) *Error {
	h := r.Header.Get("Authorization")
	if h == "" {
		return errorf(http.StatusUnauthorized, "AuthenticationFailed", "Authentication failed. The 'Authorization' header is missing.")
	}
	scheme, tok, ok := strings.Cut(h, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") || tok == "" {
		return errorf(http.StatusUnauthorized, "AuthenticationFailedInvalidHeader",
			"Authentication failed. The 'Authorization' header is provided in an invalid format.")
	}
	s.mu.Lock()
	exp, known := s.tokens[tok]
	s.mu.Unlock()
	now := time.Now()
	switch {
	case !known:
		return errorf(http.StatusUnauthorized, "InvalidAuthenticationToken", "The access token is invalid.")
	case now.After(exp):
		return errorf(http.StatusUnauthorized, "ExpiredAuthenticationToken",
			"The access token expiry UTC time '%s' is earlier than current UTC time '%s'.",
			exp.UTC().Format("1/2/2006 3:04:05 PM"), now.UTC().Format("1/2/2006 3:04:05 PM"))
	}
	return nil
}
