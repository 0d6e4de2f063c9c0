package certs

import (
	"bufio"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"fmt"
	"io"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/machine-cli/machine/internal/fsutil"
	"github.com/machine-cli/machine/internal/fsutil/fsutiltest"
)

func TestEnsureStoreCertsNew(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "store", "certs")
	p := mustEnsure(t, dir)

	want := Paths{
		CACert:     filepath.Join(dir, "ca.pem"),
		CAKey:      filepath.Join(dir, "ca-key.pem"),
		ClientCert: filepath.Join(dir, "cert.pem"),
		ClientKey:  filepath.Join(dir, "key.pem"),
	}
	if p != want {
		t.Fatalf("paths = %+v, want %+v", p, want)
	}
	if m := mode(t, dir); m != 0o700 {
		t.Errorf("dir mode = %v, want 0700", m)
	}
	for _, tc := range []struct {
		path string
		mode os.FileMode
	}{
		{p.CAKey, 0o600}, {p.ClientKey, 0o600}, {p.CACert, 0o644}, {p.ClientCert, 0o644},
	} {
		if m := mode(t, tc.path); m != tc.mode {
			t.Errorf("mode of %s = %v, want %v", filepath.Base(tc.path), m, tc.mode)
		}
	}
	for _, path := range []string{p.CAKey, p.ClientKey} {
		data := mustRead(t, path)
		if got := pemTypes(data); !slices.Equal(got, []string{"PRIVATE KEY"}) {
			t.Errorf("%s: pem blocks %v, want one PKCS#8 PRIVATE KEY", filepath.Base(path), got)
		}
		key, err := parseKey(data)
		if err != nil {
			t.Fatal(err)
		}
		if ec, ok := key.(*ecdsa.PrivateKey); !ok || ec.Curve != elliptic.P256() {
			t.Errorf("%s: key %T, want ECDSA P-256", filepath.Base(path), key)
		}
	}

	ca := mustCert(t, p.CACert)
	now := time.Now()
	switch {
	case !ca.IsCA || !ca.BasicConstraintsValid:
		t.Error("ca is not a CA")
	case ca.KeyUsage&x509.KeyUsageCertSign == 0:
		t.Error("ca lacks KeyUsageCertSign")
	case !slices.Equal(ca.Subject.Organization, []string{testOrg}):
		t.Errorf("ca O = %v, want %q", ca.Subject.Organization, testOrg)
	case !ca.NotBefore.Before(now.Add(-time.Minute)):
		t.Errorf("ca NotBefore %v is not backdated", ca.NotBefore)
	case ca.NotAfter.Before(now.Add(9 * 365 * 24 * time.Hour)):
		t.Errorf("ca NotAfter %v is less than ~10 years away", ca.NotAfter)
	case ca.SerialNumber.BitLen() < 100:
		t.Errorf("ca serial %v is not a random 128-bit number", ca.SerialNumber)
	}

	if err := verify(t, p.CACert, p.ClientCert, x509.ExtKeyUsageClientAuth, ""); err != nil {
		t.Errorf("client cert does not verify for client auth: %v", err)
	}
	if err := verify(t, p.CACert, p.ClientCert, x509.ExtKeyUsageServerAuth, ""); err == nil {
		t.Error("client cert verifies for server auth")
	}
	if c := mustCert(t, p.ClientCert); c.NotAfter.After(ca.NotAfter) || c.SerialNumber.Cmp(ca.SerialNumber) == 0 {
		t.Errorf("client cert: NotAfter %v (ca %v), serial %v (ca %v)", c.NotAfter, ca.NotAfter, c.SerialNumber, ca.SerialNumber)
	}
}

func TestEnsureStoreCertsIdempotent(t *testing.T) {
	dir := t.TempDir()
	mustEnsure(t, dir)
	first := snapshot(t, dir)
	for i := range 3 {
		mustEnsure(t, dir)
		if got := snapshot(t, dir); !maps.Equal(got, first) {
			t.Fatalf("call %d changed the store", i+2)
		}
	}
}

// TestEnsureStoreCertsKeepsExistingCA: a CA another tool wrote, in each key
// format, is kept and signs the new client and server certs.
func TestEnsureStoreCertsKeepsExistingCA(t *testing.T) {
	for _, enc := range keyEncodings() {
		t.Run(enc.name, func(t *testing.T) {
			dir := t.TempDir()
			writeForeignCA(t, dir, enc.newKey(t), enc.encode)
			before := snapshot(t, dir)

			p := mustEnsure(t, dir)
			after := snapshot(t, dir)
			if after[CAFile] != before[CAFile] || after[CAKeyFile] != before[CAKeyFile] {
				t.Fatal("existing ca was replaced")
			}
			if err := verify(t, p.CACert, p.ClientCert, x509.ExtKeyUsageClientAuth, ""); err != nil {
				t.Fatalf("client cert does not verify against the existing ca: %v", err)
			}

			server, serverKey := filepath.Join(dir, ServerCertFile), filepath.Join(dir, ServerKeyFile)
			if err := NewServerCert(p.CACert, p.CAKey, server, serverKey, testOrg, []string{"10.0.0.5"}); err != nil {
				t.Fatal(err)
			}
			if err := verify(t, p.CACert, server, x509.ExtKeyUsageServerAuth, "10.0.0.5"); err != nil {
				t.Fatalf("server cert does not verify against the existing ca: %v", err)
			}
			if _, err := ClientTLSConfig(p.CACert, p.ClientCert, p.ClientKey); err != nil {
				t.Fatal(err)
			}
			mustEnsure(t, dir)
			if !maps.Equal(snapshot(t, dir), after) {
				t.Fatal("second call changed the store")
			}
		})
	}
}

// TestEnsureStoreCertsKeepsDockerMachineStore: a complete docker-machine
// store (RSA PKCS#1 everywhere) is left byte for byte as it was.
func TestEnsureStoreCertsKeepsDockerMachineStore(t *testing.T) {
	dir := t.TempDir()
	ca, caKey := writeForeignCA(t, dir, rsaKey(t), pkcs1)
	clientKey := rsaKey(t)
	signLeaf(t, ca, caKey, clientKey, filepath.Join(dir, CertFile), nil)
	mustWrite(t, filepath.Join(dir, KeyFile), pkcs1(t, clientKey), 0o600)
	before := snapshot(t, dir)

	mustEnsure(t, dir)
	if !maps.Equal(snapshot(t, dir), before) {
		t.Fatal("docker-machine store was changed")
	}
}

// TestEnsureStoreCertsRepairs: missing client files are made, keeping an
// existing CA; a new CA replaces a stale client pair.
func TestEnsureStoreCertsRepairs(t *testing.T) {
	for _, tc := range []struct {
		name   string
		remove []string
		keepCA bool
	}{
		{"cert.pem missing", []string{CertFile}, true},
		{"key.pem missing", []string{KeyFile}, true},
		{"client pair missing", []string{CertFile, KeyFile}, true},
		{"ca missing, stale client pair", []string{CAFile, CAKeyFile}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			mustEnsure(t, dir)
			before := snapshot(t, dir)
			for _, name := range tc.remove {
				if err := os.Remove(filepath.Join(dir, name)); err != nil {
					t.Fatal(err)
				}
			}
			p := mustEnsure(t, dir)
			after := snapshot(t, dir)
			if sameCA := after[CAFile] == before[CAFile] && after[CAKeyFile] == before[CAKeyFile]; sameCA != tc.keepCA {
				t.Errorf("ca kept = %v, want %v", sameCA, tc.keepCA)
			}
			if after[CertFile] == before[CertFile] || after[KeyFile] == before[KeyFile] {
				t.Error("client pair was not remade")
			}
			if err := verify(t, p.CACert, p.ClientCert, x509.ExtKeyUsageClientAuth, ""); err != nil {
				t.Errorf("client cert does not verify: %v", err)
			}
			if _, err := ClientTLSConfig(p.CACert, p.ClientCert, p.ClientKey); err != nil {
				t.Errorf("client pair does not load: %v", err)
			}
		})
	}
}

func TestEnsureStoreCertsErrors(t *testing.T) {
	for _, tc := range []struct {
		name  string
		setup func(t *testing.T, dir string)
		want  []string
	}{
		{
			name: "client cert from another ca",
			setup: func(t *testing.T, dir string) {
				other := mustEnsure(t, t.TempDir())
				copyFile(t, other.ClientCert, filepath.Join(dir, CertFile))
				copyFile(t, other.ClientKey, filepath.Join(dir, KeyFile))
			},
			want: []string{"client cert", "does not verify against ca", "unknown authority", "remove", "to make a new client pair"},
		},
		{
			name: "client cert expired",
			setup: func(t *testing.T, dir string) {
				ca, caKey, err := loadCA(filepath.Join(dir, CAFile), filepath.Join(dir, CAKeyFile))
				if err != nil {
					t.Fatal(err)
				}
				key, err := readKey(filepath.Join(dir, KeyFile))
				if err != nil {
					t.Fatal(err)
				}
				signLeaf(t, ca, caKey, key, filepath.Join(dir, CertFile), func(c *x509.Certificate) {
					c.NotBefore = time.Now().Add(-48 * time.Hour)
					c.NotAfter = time.Now().Add(-24 * time.Hour)
				})
			},
			want: []string{"does not verify", "expired", "remove"},
		},
		{
			name: "client key does not match",
			setup: func(t *testing.T, dir string) {
				mustWrite(t, filepath.Join(dir, KeyFile), pkcs8(t, ecKeyP256(t)), 0o600)
			},
			want: []string{"client key", "does not match client cert", "remove"},
		},
		{
			name: "ca key does not match",
			setup: func(t *testing.T, dir string) {
				mustWrite(t, filepath.Join(dir, CAKeyFile), pkcs8(t, ecKeyP256(t)), 0o600)
			},
			want: []string{"ca key", "does not match ca cert", "make a new ca"},
		},
		{
			name:  "ca key without ca cert",
			setup: func(t *testing.T, dir string) { mustRemove(t, filepath.Join(dir, CAFile)) },
			want:  []string{"exists without its cert", "each machine dir has a copy"},
		},
		{
			name:  "ca cert without ca key",
			setup: func(t *testing.T, dir string) { mustRemove(t, filepath.Join(dir, CAKeyFile)) },
			want:  []string{"exists without its key", "make a new ca"},
		},
		{
			name:  "ca cert is garbage",
			setup: func(t *testing.T, dir string) { mustWrite(t, filepath.Join(dir, CAFile), []byte("junk"), 0o644) },
			want:  []string{"no CERTIFICATE pem block", "ca.pem"},
		},
		{
			name:  "client key is garbage",
			setup: func(t *testing.T, dir string) { mustWrite(t, filepath.Join(dir, KeyFile), []byte("junk"), 0o600) },
			want:  []string{"no private key pem block", "key.pem"},
		},
		{
			name: "ca cert is not a ca",
			setup: func(t *testing.T, dir string) {
				copyFile(t, filepath.Join(dir, CertFile), filepath.Join(dir, CAFile))
				copyFile(t, filepath.Join(dir, KeyFile), filepath.Join(dir, CAKeyFile))
			},
			want: []string{"is not a ca certificate"},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			mustEnsure(t, dir)
			tc.setup(t, dir)
			before := snapshot(t, dir)
			_, err := EnsureStoreCerts(dir, testOrg)
			if err == nil {
				t.Fatal("no error")
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
			if !maps.Equal(snapshot(t, dir), before) {
				t.Error("a failed call changed the store")
			}
		})
	}
}

func TestEnsureStoreCertsEmptyDir(t *testing.T) {
	if _, err := EnsureStoreCerts("", testOrg); err == nil {
		t.Fatal("no error for an empty dir")
	}
}

func copyFile(t *testing.T, from, to string) {
	t.Helper()
	mustWrite(t, to, mustRead(t, from), 0o600)
}

func mustRemove(t *testing.T, path string) {
	t.Helper()
	if err := os.Remove(path); err != nil {
		t.Fatal(err)
	}
}

// helperStoreEnv, when set, makes the test binary a helper process for
// TestEnsureStoreCertsConcurrent instead of running tests (see TestMain): it
// prints "ready", waits until its stdin closes, calls EnsureStoreCerts on
// the store the variable names and prints what it found (ensureAndCheck).
const helperStoreEnv = "CERTS_TEST_HELPER_STORE"

func TestMain(m *testing.M) {
	if store := os.Getenv(helperStoreEnv); store != "" {
		fmt.Println("ready")
		_, _ = io.Copy(io.Discard, os.Stdin)
		fmt.Print(ensureAndCheck(store))
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// ensureAndCheck calls EnsureStoreCerts and returns the hashes of the CA
// cert and client cert it left, or "error: ..." when the call failed or the
// client pair does not verify against the CA or does not match.
func ensureAndCheck(store string) string {
	p, err := EnsureStoreCerts(store, testOrg)
	if err != nil {
		return "error: " + err.Error()
	}
	if err := checkClient(p); err != nil {
		return "error: " + err.Error()
	}
	var sums []string
	for _, path := range []string{p.CACert, p.ClientCert} {
		data, err := os.ReadFile(path)
		if err != nil {
			return "error: " + err.Error()
		}
		sum := sha256.Sum256(data)
		sums = append(sums, filepath.Base(path)+"="+hex.EncodeToString(sum[:8]))
	}
	return strings.Join(sums, " ")
}

// contender is one EnsureStoreCerts caller of TestEnsureStoreCertsConcurrent.
type contender struct {
	name   string
	result chan string // ensureAndCheck's result, once the call ended
}

// startHelper starts a helper process on store; it calls EnsureStoreCerts
// once its returned start function is called.
func startHelper(t *testing.T, name, store string) (c contender, start func()) {
	t.Helper()
	cmd := exec.Command(os.Args[0])
	cmd.Env = append(os.Environ(), helperStoreEnv+"="+store)
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr strings.Builder
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill() })
	out := bufio.NewReader(stdout)
	if line, err := out.ReadString('\n'); line != "ready\n" {
		t.Fatalf("%s: %q, %v instead of ready", name, line, err)
	}
	c = contender{name: name, result: make(chan string, 1)}
	go func() {
		rest, err := io.ReadAll(out)
		if werr := cmd.Wait(); werr != nil || err != nil {
			c.result <- fmt.Sprintf("error: helper: %v, %v, %s", werr, err, stderr.String())
			return
		}
		c.result <- string(rest)
	}()
	return c, func() { _ = stdin.Close() }
}

// TestEnsureStoreCertsConcurrent: callers in several processes (and
// goroutines) that call EnsureStoreCerts on one new store at the same time
// all end with the same CA and client pair, which match and verify. With
// hold, the test holds the store's lock while they start and checks, in
// /proc/locks, that every one of them waits in flock before it lets go; so
// they contend on the lock at once, and a caller that does not lock across
// processes is caught.
func TestEnsureStoreCertsConcurrent(t *testing.T) {
	for _, tc := range []struct {
		name                  string
		goroutines, processes int
		hold                  bool
	}{
		{name: "processes released at once", processes: 4},
		{name: "processes queued on the held lock", processes: 4, hold: true},
		{name: "goroutines and processes queued on the held lock", goroutines: 4, processes: 3, hold: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			store := filepath.Join(t.TempDir(), "store", "certs")
			var held *fsutil.Lock
			if tc.hold {
				if err := os.MkdirAll(store, 0o700); err != nil {
					t.Fatal(err)
				}
				var err error
				if held, err = fsutil.LockFile(filepath.Join(store, lockFile)); err != nil {
					t.Fatal(err)
				}
				// On an early failure, let the goroutines waiting for it go.
				t.Cleanup(func() {
					if held != nil {
						_ = held.Unlock()
					}
				})
			}

			var contenders []contender
			var starts []func()
			for i := range tc.processes {
				c, start := startHelper(t, fmt.Sprintf("process %d", i), store)
				contenders = append(contenders, c)
				starts = append(starts, start)
			}
			release := make(chan struct{})
			for i := range tc.goroutines {
				c := contender{name: fmt.Sprintf("goroutine %d", i), result: make(chan string, 1)}
				go func() {
					<-release
					c.result <- ensureAndCheck(store)
				}()
				contenders = append(contenders, c)
			}
			// Every helper is ready: let them all go.
			for _, start := range starts {
				start()
			}
			close(release)

			if tc.hold {
				lockPath := filepath.Join(store, lockFile)
				want := tc.goroutines + tc.processes
				deadline := time.Now().Add(20 * time.Second)
				for n := 0; n < want; n = fsutiltest.BlockedOn(t, lockPath) {
					for _, c := range contenders {
						select {
						case r := <-c.result:
							t.Fatalf("%s finished while the store was locked: %s", c.name, r)
						default:
						}
					}
					if time.Now().After(deadline) {
						t.Fatalf("after 20s %d callers wait for the store's lock, want %d", n, want)
					}
					time.Sleep(time.Millisecond)
				}
				err := held.Unlock()
				held = nil
				if err != nil {
					t.Fatal(err)
				}
			}

			results := map[string]string{}
			for _, c := range contenders {
				select {
				case results[c.name] = <-c.result:
				case <-time.After(30 * time.Second):
					t.Fatalf("%s did not finish within 30s", c.name)
				}
			}
			final := ensureAndCheck(store)
			if strings.HasPrefix(final, "error") {
				t.Fatal(final)
			}
			for _, name := range slices.Sorted(maps.Keys(results)) {
				if r := results[name]; r != final {
					t.Errorf("%s saw %s, want %s", name, r, final)
				}
			}
			ca := mustRead(t, filepath.Join(store, CAFile))
			if n := len(pemTypes(ca)); n != 1 {
				t.Errorf("ca.pem holds %d blocks, want 1", n)
			}
			entries, err := os.ReadDir(store)
			if err != nil {
				t.Fatal(err)
			}
			var names []string
			for _, e := range entries {
				names = append(names, e.Name())
			}
			if want := []string{lockFile, CAKeyFile, CAFile, CertFile, KeyFile}; !slices.Equal(names, want) {
				t.Errorf("store holds %v, want %v", names, want)
			}
		})
	}
}
