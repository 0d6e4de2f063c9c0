package azuretest

import (
	"context"
	"io"
	"net/http"
	"strings"

	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/resources/armresources/v4"
)

// serveGroup answers PUT, GET, HEAD and DELETE of a resource group.
func (s *Server) serveGroup(w http.ResponseWriter, r *http.Request, sub, name string) {
	id := groupID(sub, name)
	switch r.Method {
	case http.MethodPut:
		s.putGroup(w, r, id, name)
	case http.MethodGet, http.MethodHead:
		s.mu.Lock()
		g := s.res[key(id)]
		var out any
		if g != nil {
			out = snapshot(groupView(g))
		}
		s.mu.Unlock()
		switch {
		case r.Method == http.MethodHead && g == nil:
			w.WriteHeader(http.StatusNotFound)
		case r.Method == http.MethodHead:
			w.WriteHeader(http.StatusNoContent)
		case g == nil:
			writeError(w, groupNotFound(name))
		default:
			writeJSON(w, http.StatusOK, out)
		}
	case http.MethodDelete:
		s.deleteGroup(w, r, sub, id, name)
	default:
		writeError(w, errorf(http.StatusMethodNotAllowed, "MethodNotAllowed", "The stand-in does not serve %s on resource groups.", r.Method))
	}
}

// putGroup creates a resource group (201) or updates its tags (200),
// synchronously, as ARM does.
func (s *Server) putGroup(w http.ResponseWriter, r *http.Request, id, name string) {
	body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	if err != nil {
		writeError(w, errorf(http.StatusBadRequest, "InvalidRequestContent", "The request content could not be read: %v", err))
		return
	}
	var in armresources.ResourceGroup
	if e := decode(body, &in); e != nil {
		writeError(w, e)
		return
	}
	loc := normLocation(str(in.Location))
	if loc == "" {
		writeError(w, errorf(http.StatusBadRequest, "LocationRequired", "The location property is required for this definition."))
		return
	}
	if !s.knownLocation(loc) {
		writeError(w, errorf(http.StatusBadRequest, "LocationNotAvailableForResourceGroup",
			"The provided location '%s' is not available for resource group. List of available regions is '%s'.",
			str(in.Location), strings.Join(s.opts.Locations, ",")))
		return
	}
	s.mu.Lock()
	g := s.res[key(id)]
	status := http.StatusOK
	switch {
	case g == nil:
		status = http.StatusCreated
		g = &resource{id: id, name: name, loc: loc, state: stateSucceeded, obj: &armresources.ResourceGroup{
			ID: ptr(id), Name: ptr(name), Type: ptr(typeGroup), Location: ptr(loc),
		}}
		s.res[key(id)] = g
	case g.state == stateDeleting:
		s.mu.Unlock()
		writeError(w, errorf(http.StatusConflict, "ResourceGroupBeingDeleted",
			"The resource group '%s' is in deprovisioning state and cannot perform this operation.", name))
		return
	case g.loc != loc:
		s.mu.Unlock()
		writeError(w, errorf(http.StatusConflict, "InvalidResourceGroupLocation",
			"Invalid resource group location '%s'. The Resource group already exists in location '%s'.", loc, g.loc))
		return
	}
	g.obj.(*armresources.ResourceGroup).Tags = in.Tags
	out := snapshot(groupView(g))
	s.mu.Unlock()
	writeJSON(w, status, out)
}

// groupView is a resource group as ARM shows it; under s.mu.
func groupView(g *resource) *armresources.ResourceGroup {
	o := g.obj.(*armresources.ResourceGroup)
	o.Properties = &armresources.ResourceGroupProperties{ProvisioningState: ptr(g.state)}
	return o
}

// deleteGroup starts the deletion of a resource group and everything in
// it: 202 with a Location to poll, 404 when there is no such group.
func (s *Server) deleteGroup(w http.ResponseWriter, r *http.Request, sub, id, name string) {
	s.mu.Lock()
	g := s.res[key(id)]
	if g == nil {
		s.mu.Unlock()
		writeError(w, groupNotFound(name))
		return
	}
	if g.busy != nil {
		op := g.busy
		s.mu.Unlock()
		// ARM accepts a repeated deletion and points at the same operation.
		s.lroHeaders(w, op, false, true)
		w.WriteHeader(http.StatusAccepted)
		return
	}
	op := s.newOperation(sub, "", g.loc, r.URL.Query().Get("api-version"))
	g.busy, g.state = op, stateDeleting
	s.mu.Unlock()

	s.lroHeaders(w, op, false, true)
	w.WriteHeader(http.StatusAccepted)
	s.run(op, func(ctx context.Context) *Error { return s.emptyGroup(ctx, g) }, func(e *Error) {
		g.busy = nil
		if e != nil {
			g.state = stateSucceeded
			return
		}
		s.removeTree(g)
	})
}

// emptyGroup deletes what is in group g, the VMs' hosts first (through
// their kind's remove), as ARM's group deletion does.
func (s *Server) emptyGroup(ctx context.Context, g *resource) *Error {
	gk := key(g.id)
	s.mu.Lock()
	var members []*resource
	for _, r := range s.res {
		if r.group == gk {
			members = append(members, r)
		}
	}
	s.mu.Unlock()
	var failed []*Error
	var ids []string
	for _, r := range members {
		if r.kind.remove == nil {
			continue
		}
		if e := r.kind.remove(ctx, s, r); e != nil {
			failed = append(failed, e)
			ids = append(ids, r.id)
		}
	}
	if len(failed) > 0 {
		e := errorf(http.StatusConflict, "ResourceGroupDeletionBlocked",
			"Deletion of resource group '%s' failed as resources with identifiers '%s' could not be deleted. The provisioning state of the resource group will be rolled back.",
			g.name, strings.Join(ids, ","))
		e.Details = failed
		return e
	}
	s.mu.Lock()
	for _, r := range members {
		s.removeTree(r)
	}
	s.mu.Unlock()
	return nil
}
