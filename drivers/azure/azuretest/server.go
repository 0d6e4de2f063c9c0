package azuretest

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/cloud"
)

// Options configures a stand-in.
type Options struct {
	// TenantID, ClientID and ClientSecret are the only credentials the
	// stand-in's sign-in accepts (client_credentials grant).
	TenantID, ClientID, ClientSecret string
	// Subscriptions are the subscription IDs it knows; others answer 404
	// SubscriptionNotFound.
	Subscriptions []string
	// Locations are the regions it serves, e.g. "westeurope"; anything in
	// another region is refused as Azure refuses it.
	Locations []string
	// VMSizes are the VM sizes it offers in every location; a VM of another
	// size fails with 409 SkuNotAvailable.
	VMSizes []string
	// Latency is added to every ARM request (for benchmarks).
	Latency time.Duration
	// RetryAfter is what long-running operations ask pollers to wait
	// (retry-after-ms); an operation also stays InProgress at least that
	// long before its work runs. Default 10ms.
	RetryAfter time.Duration
	// Hooks make VMs real; nil is StaticHooks.
	Hooks Hooks
}

// Server is a local ARM stand-in: an HTTPS server on 127.0.0.1 that signs
// in with client credentials and keeps resource groups, networks and VMs in
// memory, answering as Azure Resource Manager does.
type Server struct {
	opts  Options
	certs *tlsCerts
	http  *http.Server
	url   string

	ctx    context.Context // ends at Close; hook calls run under it
	cancel context.CancelFunc
	work   sync.WaitGroup // long-running operations under way

	requests atomic.Int64
	kinds    map[string]*kind // resource types served, by lower-case type

	mu     sync.Mutex
	res    map[string]*resource // by lower-case ID
	ops    map[string]*operation
	tokens map[string]time.Time // access token → expiry

	flow *deviceFlow // device code state (devicecode.go)
}

// Start starts a stand-in on a random port of 127.0.0.1.
func Start(opts Options) (*Server, error) {
	if opts.TenantID == "" || opts.ClientID == "" || opts.ClientSecret == "" {
		return nil, errors.New("azuretest: TenantID, ClientID and ClientSecret are required")
	}
	if len(opts.Subscriptions) == 0 || len(opts.Locations) == 0 {
		return nil, errors.New("azuretest: at least one subscription and one location are required")
	}
	if opts.RetryAfter <= 0 {
		opts.RetryAfter = 10 * time.Millisecond
	}
	if opts.Hooks == nil {
		opts.Hooks = &StaticHooks{}
	}
	opts.Locations = slices.Clone(opts.Locations)
	for i, l := range opts.Locations {
		opts.Locations[i] = normLocation(l)
	}
	c, err := newCerts()
	if err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("azuretest: listen: %w", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	s := &Server{
		opts:   opts,
		certs:  c,
		url:    "https://" + ln.Addr().String(),
		ctx:    ctx,
		cancel: cancel,
		res:    map[string]*resource{},
		ops:    map[string]*operation{},
		tokens: map[string]time.Time{},
		kinds:  newKinds(),
		flow:   newDeviceFlow(),
	}
	s.http = &http.Server{
		Handler:           s,
		ReadHeaderTimeout: 10 * time.Second,
		ErrorLog:          log.New(io.Discard, "", 0), // handshakes refused by clients that do not trust the CA
		TLSConfig:         &tls.Config{Certificates: []tls.Certificate{c.server}, MinVersion: tls.VersionTLS12},
	}
	go func() { _ = s.http.Serve(tls.NewListener(ln, s.http.TLSConfig)) }()
	return s, nil
}

// URL is the stand-in's address, https://127.0.0.1:PORT, both authority
// host and ARM endpoint.
func (s *Server) URL() string { return s.url }

// CACertPEM is the PEM certificate of the stand-in's own CA.
func (s *Server) CACertPEM() []byte { return slices.Clone(s.certs.caPEM) }

// Cloud is the azcore cloud configuration that points sign-in and ARM at
// the stand-in.
func (s *Server) Cloud() cloud.Configuration {
	return cloud.Configuration{
		ActiveDirectoryAuthorityHost: s.url + "/",
		Services: map[cloud.ServiceName]cloud.ServiceConfiguration{
			cloud.ResourceManager: {Endpoint: s.url, Audience: s.url},
		},
	}
}

// Transport is an HTTP client that trusts the stand-in's CA; it honours
// the proxy variables, which never apply to 127.0.0.1.
func (s *Server) Transport() *http.Client {
	return &http.Client{Transport: &http.Transport{
		Proxy:               http.ProxyFromEnvironment,
		TLSClientConfig:     &tls.Config{RootCAs: s.certs.pool, MinVersion: tls.VersionTLS12},
		ForceAttemptHTTP2:   true,
		MaxIdleConnsPerHost: 16,
		IdleConnTimeout:     30 * time.Second,
	}}
}

// Requests is how many ARM requests (operation polls included, sign-in
// not) the stand-in has served.
func (s *Server) Requests() int { return int(s.requests.Load()) }

// Close stops the server, cancels the hook calls under way and waits for
// the operations to end.
func (s *Server) Close() {
	s.cancel()
	_ = s.http.Close()
	s.work.Wait()
}

// ServeHTTP routes sign-in and ARM requests.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	seg := strings.Split(strings.Trim(r.URL.Path, "/"), "/")
	if len(seg) > 1 && !strings.EqualFold(seg[0], "subscriptions") {
		s.serveAuth(w, r, seg)
		return
	}
	s.requests.Add(1)
	h := w.Header()
	h.Set("Cache-Control", "no-cache")
	h.Set("x-ms-request-id", newID())
	h.Set("x-ms-correlation-request-id", r.Header.Get("x-ms-client-request-id"))
	if s.opts.Latency > 0 {
		t := time.NewTimer(s.opts.Latency)
		select {
		case <-t.C:
		case <-r.Context().Done():
			t.Stop()
			return
		}
	}
	if e := s.authorize(r); e != nil {
		h.Set("WWW-Authenticate", fmt.Sprintf(`Bearer authorization_uri="%s/%s", error="invalid_token", error_description="%s"`,
			s.url, s.opts.TenantID, e.Message))
		writeError(w, e)
		return
	}
	if r.URL.Query().Get("api-version") == "" {
		writeError(w, errorf(http.StatusBadRequest, "MissingApiVersionParameter",
			"The api-version query parameter (?api-version=) is required for all requests."))
		return
	}
	if len(seg) < 2 || !s.knownSubscription(seg[1]) {
		sub := ""
		if len(seg) > 1 {
			sub = seg[1]
		}
		writeError(w, errorf(http.StatusNotFound, "SubscriptionNotFound", "The subscription '%s' could not be found.", sub))
		return
	}
	s.serveARM(w, r, seg)
}

// knownSubscription says whether sub is one of Options.Subscriptions.
func (s *Server) knownSubscription(sub string) bool {
	return slices.ContainsFunc(s.opts.Subscriptions, func(k string) bool { return strings.EqualFold(k, sub) })
}

// knownLocation says whether loc (normalised) is one the stand-in serves.
func (s *Server) knownLocation(loc string) bool {
	return slices.Contains(s.opts.Locations, loc)
}

// normLocation is a region name as ARM stores it: "West Europe" is
// "westeurope".
func normLocation(l string) string {
	return strings.ToLower(strings.ReplaceAll(l, " ", ""))
}

// newID is a random GUID-shaped identifier.
func newID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	h := hex.EncodeToString(b[:])
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}
