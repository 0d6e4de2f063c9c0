package libmachine

import (
	"context"
	"errors"
	"fmt"
	"os"

	"github.com/machine-cli/machine/libmachine/dockercontext"
)

// ErrNoDockerConfig is returned by Use and Unuse when the client has no
// docker configuration directory (Client.Contexts is nil).
var ErrNoDockerConfig = errors.New("docker contexts: no docker configuration directory; set DOCKER_CONFIG or HOME")

// ContextConflictError says that a docker context with a machine's name
// exists and was not made by machine for this store, so machine leaves it
// alone.
type ContextConflictError struct {
	// Name is the context's (and the machine's) name.
	Name string
	// Owner is the machine store the context belongs to; empty when
	// machine did not make it.
	Owner string
	// Err is why the context could not be read, when it is broken.
	Err error
}

// Error names the context, whose it is and how to resolve the conflict.
func (e *ContextConflictError) Error() string {
	what := fmt.Sprintf("docker context %q exists and was not made by machine", e.Name)
	switch {
	case e.Err != nil:
		what = e.Err.Error()
	case e.Owner != "":
		what = fmt.Sprintf("docker context %q exists and belongs to the machine store %s", e.Name, e.Owner)
	}
	return fmt.Sprintf("%s; to register machine %s instead, run `docker context rm %s`, then `machine use %s`", what, e.Name, e.Name, e.Name)
}

// Unwrap returns why the context could not be read, if it was that.
func (e *ContextConflictError) Unwrap() error { return e.Err }

// ContextNameError says that a machine's name cannot be a docker context
// name ("default", or a single character).
type ContextNameError struct {
	Name string
	Err  error
}

// Error says why and what to use instead.
func (e *ContextNameError) Error() string {
	return fmt.Sprintf("machine %s cannot be a docker context: %v; use `eval $(machine env %s)` instead", e.Name, e.Err, e.Name)
}

// Unwrap returns the docker rule that the name breaks.
func (e *ContextNameError) Unwrap() error { return e.Err }

// SyncContext registers machine name as the docker context of the same name,
// or refreshes the context it registered before: its endpoint (the
// machine's Docker URL) and its TLS material (copies of the CA, client
// certificate and key in the machine's directory, as `docker context
// create` copies them). Call it after anything that changes a machine's
// address or certificates (create, regenerate-certs, provision), holding
// the machine's lock (Store.Lock) as those do: SyncContext does not take it.
//
// A context of that name that machine did not make for this store is left
// alone: the error is a *ContextConflictError. A name docker does not allow
// for contexts gives a *ContextNameError. Without Client.Contexts it does
// nothing.
func (c *Client) SyncContext(ctx context.Context, name string) error {
	if c.Contexts == nil {
		return nil
	}
	h, ep, err := c.Endpoint(ctx, name)
	if err != nil {
		return err
	}
	return c.writeContext(name, h.DriverName, ep.URL)
}

// writeContext writes machine name's context, unless another one has the
// name.
func (c *Client) writeContext(name, driverName, dockerURL string) error {
	if err := dockercontext.ValidateName(name); err != nil {
		return &ContextNameError{Name: name, Err: err}
	}
	cur, err := c.Contexts.Get(name)
	switch {
	case errors.Is(err, dockercontext.ErrNotExist):
	case err != nil:
		return &ContextConflictError{Name: name, Err: err}
	case !cur.OwnedBy(c.Store.Root):
		return &ContextConflictError{Name: name, Owner: cur.Owner}
	}
	mc := c.CertPaths(name)
	var t dockercontext.TLS
	for _, f := range []struct {
		path string
		to   *[]byte
	}{{mc.CACert, &t.CA}, {mc.ClientCert, &t.Cert}, {mc.ClientKey, &t.Key}} {
		b, err := os.ReadFile(f.path)
		if err != nil {
			return fmt.Errorf("docker context %s: %w", name, err)
		}
		*f.to = b
	}
	return c.Contexts.Write(dockercontext.Context{
		Name:        name,
		Description: fmt.Sprintf("machine %s (driver %s)", name, driverName),
		Host:        dockerURL,
		Owner:       c.Store.Root,
		TLS:         t,
	})
}

// registerContext is create's last step: machine name becomes a docker
// context. The machine is made whatever happens here, so failures are
// warnings.
func (c *Client) registerContext(name, driverName, dockerURL string) {
	if c.Contexts == nil {
		return
	}
	var nameErr *ContextNameError
	switch err := c.writeContext(name, driverName, dockerURL); {
	case err == nil:
		c.logf("Registered docker context %s: `docker --context %s ...`, or `machine use %s` to make it current.", name, name, name)
	case errors.As(err, &nameErr):
		c.logf("No docker context for %s: %v.", name, nameErr.Err)
	default: // a conflict, or the files could not be written
		c.logf("warning: %v", err)
	}
}

// refreshContext rewrites machine name's docker context after its address
// or certificates changed, when machine made that context for this store;
// it registers none that is missing (`machine use` does). The machine is
// changed whatever happens here, so failures are warnings.
func (c *Client) refreshContext(name, driverName, dockerURL string) {
	if c.Contexts == nil {
		return
	}
	cur, err := c.Contexts.Get(name)
	if err != nil || !cur.OwnedBy(c.Store.Root) {
		return
	}
	if err := c.writeContext(name, driverName, dockerURL); err != nil {
		c.logf("warning: %v", err)
	}
}

// unregisterContext is rm's last step: machine name's docker context goes,
// if machine made it for this store; when it was the current context,
// docker's default becomes current again. The machine is gone whatever
// happens here, so failures are warnings.
func (c *Client) unregisterContext(name string) {
	if c.Contexts == nil {
		return
	}
	cur, err := c.Contexts.Get(name)
	switch {
	case errors.Is(err, dockercontext.ErrNotExist):
		return
	case err != nil:
		c.logf("warning: %v; machine left it alone", err)
		return
	case !cur.OwnedBy(c.Store.Root):
		if c.Debug != nil {
			fmt.Fprintf(c.Debug, "docker context %s was not made by machine for this store; left alone\n", name)
		}
		return
	}
	if reset, err := c.Contexts.ResetIfCurrent(name); err != nil {
		c.logf("warning: %v", err)
	} else if reset {
		c.logf("Docker context %s was the current one; docker uses its default context again.", name)
	}
	if err := c.Contexts.Remove(name); err != nil {
		c.logf("warning: %v", err)
	}
}

// Use makes machine name the docker CLI's current context, registering or
// refreshing its context first (for machines made before contexts, or by
// docker-machine). A broken config.json is reported before anything is
// written.
func (c *Client) Use(ctx context.Context, name string) error {
	if c.Contexts == nil {
		return ErrNoDockerConfig
	}
	if _, err := c.Contexts.Current(); err != nil {
		return err
	}
	// Waits for a create or rm of name under way: a half-made machine
	// gets no context.
	unlock, err := c.Store.Lock(name)
	if err != nil {
		return err
	}
	defer unlock()
	if err := c.SyncContext(ctx, name); err != nil {
		return err
	}
	_, err = c.Contexts.SetCurrent(name)
	return err
}

// Unuse makes docker's default context current again (removes
// currentContext from config.json) and returns the context that was
// current.
func (c *Client) Unuse() (previous string, err error) {
	if c.Contexts == nil {
		return "", ErrNoDockerConfig
	}
	previous, err = c.Contexts.Current()
	if err != nil {
		return "", err
	}
	if _, err := c.Contexts.SetCurrent(dockercontext.DefaultName); err != nil {
		return "", err
	}
	return previous, nil
}
