package azuretest

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
)

// Provisioning states, as ARM spells them.
const (
	stateSucceeded = "Succeeded"
	stateUpdating  = "Updating"
	stateCreating  = "Creating"
	stateDeleting  = "Deleting"
	stateFailed    = "Failed"
)

// resource is one thing the stand-in holds, keyed by its lower-case ID
// (ARM IDs are case-insensitive).
type resource struct {
	id     string     // as first written
	kind   *kind      // what it is
	name   string     // last segment of id
	group  string     // key of its resource group; "" for a group
	parent string     // key of its parent (subnets); "" otherwise
	loc    string     // normalised location (a subnet's is its network's)
	state  string     // provisioning state
	busy   *operation // long-running write under way, if any
	obj    any        // SDK model it answers with, computed fields set on render
	vm     *vmState   // for virtual machines
}

// kind is how the stand-in handles one resource type.
type kind struct {
	typ     string // canonical type, e.g. Microsoft.Network/virtualNetworks
	rp      string // resource provider namespace, for operation URLs
	lro     bool   // PUT and DELETE are long-running
	child   bool   // a child resource (subnets), written with its parent
	created int    // status of a PUT that creates; 0 is 201
	// notFound is the answer to a GET of a missing one; nil is ARM's
	// ResourceNotFound.
	notFound func(c *call) *Error
	// put validates body and stores the resource (old is the existing one,
	// if any), returning it and the work its operation does; under s.mu.
	put func(s *Server, c *call, old *resource, body []byte) (*resource, func(context.Context) *Error, *Error)
	// view sets the computed fields and returns what GET answers; under s.mu.
	view func(s *Server, r *resource, c *call) any
	// inUse refuses the deletion of something still referenced; under s.mu.
	inUse func(s *Server, r *resource) *Error
	// remove runs before the resource goes (a VM's host); not under s.mu.
	remove func(ctx context.Context, s *Server, r *resource) *Error
	// removed tidies up after the resource went; under s.mu.
	removed func(s *Server, r *resource)
	// actions are POST (and GET) sub-paths such as deallocate.
	actions map[string]func(s *Server, w http.ResponseWriter, c *call)
}

// Resource types served.
const (
	typeVNet     = "Microsoft.Network/virtualNetworks"
	typeSubnet   = "Microsoft.Network/virtualNetworks/subnets"
	typeNSG      = "Microsoft.Network/networkSecurityGroups"
	typePublicIP = "Microsoft.Network/publicIPAddresses"
	typeNIC      = "Microsoft.Network/networkInterfaces"
	typeVM       = "Microsoft.Compute/virtualMachines"
	typeDisk     = "Microsoft.Compute/disks"
	typeAvailSet = "Microsoft.Compute/availabilitySets"
	typeGroup    = "Microsoft.Resources/resourceGroups"
	rpNetwork    = "Microsoft.Network"
	rpCompute    = "Microsoft.Compute"
)

// missing is the answer to a GET of c's resource when there is none.
func (k *kind) missing(c *call) *Error {
	if k.notFound != nil {
		return k.notFound(c)
	}
	return notFound(k.typ, c.group, c.name)
}

// parentID is the ID of the parent of a child resource ID (a subnet's
// network).
func parentID(id string) string {
	return id[:strings.LastIndex(id[:strings.LastIndex(id, "/")], "/")]
}

// newKinds are the resource types served, by lower-case type.
func newKinds() map[string]*kind {
	m := map[string]*kind{}
	for _, k := range []*kind{vnetKind(), subnetKind(), nsgKind(), publicIPKind(), nicKind(), vmKind(), diskKind(), availabilitySetKind()} {
		m[strings.ToLower(k.typ)] = k
	}
	return m
}

// call is a parsed ARM request for a resource.
type call struct {
	r        *http.Request
	sub      string
	group    string // resource group name as sent
	groupKey string
	kind     *kind
	name     string
	id       string // canonical ID
	key      string
	action   string // lower-case sub-path after the resource, if any
	api      string
}

// key is the store key of an ARM ID.
func key(id string) string { return strings.ToLower(strings.TrimSuffix(id, "/")) }

// groupID is the ID of a resource group.
func groupID(sub, group string) string {
	return "/subscriptions/" + sub + "/resourceGroups/" + group
}

// serveARM routes an authorised ARM request in a known subscription.
func (s *Server) serveARM(w http.ResponseWriter, r *http.Request, seg []string) {
	eq := strings.EqualFold
	n := len(seg)
	switch {
	case n == 4 && eq(seg[2], "resourcegroups"):
		s.serveGroup(w, r, seg[1], seg[3])
		return
	case n == 5 && eq(seg[2], "resourcegroups") && eq(seg[4], "resources") && r.Method == http.MethodGet:
		s.serveGroupResources(w, seg[1], seg[3])
		return
	case n >= 8 && eq(seg[2], "resourcegroups") && eq(seg[4], "providers"):
		if c := s.parseResource(r, seg); c != nil {
			s.serveResource(w, c)
			return
		}
	case n == 4 && eq(seg[2], "operationresults") && r.Method == http.MethodGet:
		s.serveOperation(w, seg[3], true)
		return
	case n == 8 && eq(seg[2], "providers") && eq(seg[4], "locations") && r.Method == http.MethodGet &&
		(eq(seg[6], "operations") || eq(seg[6], "operationresults")):
		s.serveOperation(w, seg[7], eq(seg[6], "operationresults"))
		return
	case n == 7 && eq(seg[2], "providers") && eq(seg[3], "microsoft.compute") && eq(seg[4], "locations") &&
		eq(seg[6], "vmsizes") && r.Method == http.MethodGet:
		s.serveVMSizes(w, normLocation(seg[5]))
		return
	case n == 5 && eq(seg[2], "providers") && eq(seg[3], "microsoft.compute") && eq(seg[4], "skus") &&
		r.Method == http.MethodGet:
		s.serveSKUs(w, r)
		return
	}
	writeError(w, errorf(http.StatusNotFound, "InvalidResourceType",
		"The resource type could not be found for the path '%s' and api version '%s' (the stand-in serves only what the azure driver uses).",
		r.URL.Path, r.URL.Query().Get("api-version")))
}

// parseResource reads /subscriptions/S/resourceGroups/G/providers/NS/T/N
// [/CHILD/CN][/ACTION]; nil when the stand-in does not serve that type.
func (s *Server) parseResource(r *http.Request, seg []string) *call {
	ks := s.kinds
	t := strings.ToLower(seg[5] + "/" + seg[6])
	k, ok := ks[t]
	if !ok {
		return nil
	}
	id := groupID(seg[1], seg[3]) + "/providers/" + k.typ + "/" + seg[7]
	name, rest := seg[7], seg[8:]
	if len(rest) >= 2 {
		if ck, ok := ks[t+"/"+strings.ToLower(rest[0])]; ok {
			k = ck
			id += "/" + k.typ[strings.LastIndex(k.typ, "/")+1:] + "/" + rest[1]
			name, rest = rest[1], rest[2:]
		}
	}
	c := &call{
		r: r, sub: seg[1], group: seg[3], groupKey: key(groupID(seg[1], seg[3])),
		kind: k, name: name, id: id, key: key(id), api: r.URL.Query().Get("api-version"),
	}
	switch len(rest) {
	case 0:
	case 1:
		c.action = strings.ToLower(rest[0])
		if _, ok := k.actions[c.action]; !ok {
			return nil
		}
	default:
		return nil
	}
	return c
}

// serveResource answers GET, PUT and DELETE of a resource, or one of its
// actions.
func (s *Server) serveResource(w http.ResponseWriter, c *call) {
	if c.action != "" {
		c.kind.actions[c.action](s, w, c)
		return
	}
	switch c.r.Method {
	case http.MethodGet:
		s.get(w, c)
	case http.MethodPut:
		s.put(w, c)
	case http.MethodDelete:
		s.delete(w, c)
	default:
		writeError(w, errorf(http.StatusMethodNotAllowed, "MethodNotAllowed",
			"The stand-in does not serve %s on %s.", c.r.Method, c.kind.typ))
	}
}

// groupFor returns the live resource group of c, or the error ARM answers
// for a missing one; under s.mu.
func (s *Server) groupFor(c *call) (*resource, *Error) {
	g := s.res[c.groupKey]
	if g == nil {
		return nil, groupNotFound(c.group)
	}
	return g, nil
}

// writable refuses a write to a group being deleted, or to a resource (or
// its parent) with a long-running write under way; under s.mu.
func (s *Server) writable(g, r *resource, c *call) *Error {
	if g.state == stateDeleting {
		return errorf(http.StatusConflict, "ResourceGroupBeingDeleted",
			"The resource group '%s' is in deprovisioning state and cannot perform this operation.", c.group)
	}
	if r != nil && r.busy != nil {
		return s.conflict(r.busy)
	}
	if p := s.parentOf(c); p != nil && p.busy != nil {
		return s.conflict(p.busy)
	}
	return nil
}

// parentOf is the live parent of a child resource call, if any; under s.mu.
func (s *Server) parentOf(c *call) *resource {
	if !c.kind.child {
		return nil
	}
	return s.res[key(parentID(c.id))]
}

// get answers GET of a resource.
func (s *Server) get(w http.ResponseWriter, c *call) {
	s.getAs(w, c, func(r *resource) any { return r.kind.view(s, r, c) })
}

// getAs answers GET of the resource of c with view(r), under s.mu, or with
// the 404 of its group or of the resource.
func (s *Server) getAs(w http.ResponseWriter, c *call, view func(r *resource) any) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, e := s.groupFor(c); e != nil {
		writeError(w, e)
		return
	}
	r := s.res[c.key]
	if r == nil {
		writeError(w, c.kind.missing(c))
		return
	}
	writeJSON(w, http.StatusOK, view(r))
}

// put answers PUT of a resource: validated and stored at once, its
// long-running operation then finishing the work.
func (s *Server) put(w http.ResponseWriter, c *call) {
	if c.kind.put == nil {
		writeError(w, errorf(http.StatusMethodNotAllowed, "MethodNotAllowed", "The stand-in does not create %s resources.", c.kind.typ))
		return
	}
	body, err := io.ReadAll(io.LimitReader(c.r.Body, 4<<20))
	if err != nil {
		writeError(w, errorf(http.StatusBadRequest, "InvalidRequestContent", "The request content could not be read: %v", err))
		return
	}
	s.mu.Lock()
	g, e := s.groupFor(c)
	if e == nil {
		e = s.writable(g, s.res[c.key], c)
	}
	if e != nil {
		s.mu.Unlock()
		writeError(w, e)
		return
	}
	old := s.res[c.key]
	r, work, e := c.kind.put(s, c, old, body)
	if e != nil {
		s.mu.Unlock()
		writeError(w, e)
		return
	}
	s.res[c.key] = r
	status := http.StatusOK
	if old == nil {
		status = cmp.Or(c.kind.created, http.StatusCreated)
	}
	if !c.kind.lro {
		r.state = stateSucceeded
		out := snapshot(r.kind.view(s, r, c))
		s.mu.Unlock()
		writeJSON(w, status, out)
		return
	}
	op := s.newOperation(c.sub, c.kind.rp, r.loc, c.api)
	r.busy = op
	if p := s.parentOf(c); p != nil {
		p.busy = op
	}
	if old == nil && c.kind.rp == "Microsoft.Compute" {
		r.state = stateCreating
	} else {
		r.state = stateUpdating
	}
	out := snapshot(r.kind.view(s, r, c))
	s.mu.Unlock()

	s.lroHeaders(w, op, true, false)
	writeJSON(w, status, out)
	s.run(op, work, func(e *Error) {
		r.busy = nil
		if p := s.parentOf(c); p != nil && p.busy == op {
			p.busy = nil
		}
		r.state = stateSucceeded
		if e != nil {
			r.state = stateFailed
		}
		for _, ch := range s.children(r) {
			ch.state = r.state
		}
	})
}

// delete answers DELETE of a resource: 204 when it is not there, 202 and a
// long-running operation when it is.
func (s *Server) delete(w http.ResponseWriter, c *call) {
	s.mu.Lock()
	g, e := s.groupFor(c)
	if e != nil {
		s.mu.Unlock()
		writeError(w, e)
		return
	}
	r := s.res[c.key]
	if r == nil {
		s.mu.Unlock()
		w.WriteHeader(http.StatusNoContent)
		return
	}
	if e := s.writable(g, r, c); e != nil {
		s.mu.Unlock()
		writeError(w, e)
		return
	}
	if r.kind.inUse != nil {
		if e := r.kind.inUse(s, r); e != nil {
			s.mu.Unlock()
			writeError(w, e)
			return
		}
	}
	if !c.kind.lro {
		s.removeTree(r)
		s.mu.Unlock()
		w.WriteHeader(http.StatusOK)
		return
	}
	op := s.newOperation(c.sub, c.kind.rp, r.loc, c.api)
	op.result = http.StatusNoContent
	r.busy = op
	if p := s.parentOf(c); p != nil {
		p.busy = op
	}
	prev := r.state
	r.state = stateDeleting
	s.mu.Unlock()

	s.lroHeaders(w, op, true, true)
	w.WriteHeader(http.StatusAccepted)
	s.run(op, func(ctx context.Context) *Error {
		if r.kind.remove != nil {
			return r.kind.remove(ctx, s, r)
		}
		return nil
	}, func(e *Error) {
		r.busy = nil
		if p := s.parentOf(c); p != nil && p.busy == op {
			p.busy = nil
		}
		if e != nil {
			r.state = prev
			return
		}
		s.removeTree(r)
	})
}

// removeTree drops r and its children from the store; under s.mu.
func (s *Server) removeTree(r *resource) {
	k := key(r.id)
	for ck, c := range s.res {
		if c.parent == k {
			s.removeTree(c)
			delete(s.res, ck)
		}
	}
	if s.res[k] == r {
		delete(s.res, k)
	}
	if r.kind != nil && r.kind.removed != nil {
		r.kind.removed(s, r)
	}
}

// lookup is the live resource with id, if it is of type typ; under s.mu.
func (s *Server) lookup(id, typ string) *resource {
	r := s.res[key(id)]
	if r == nil || r.kind == nil || !strings.EqualFold(r.kind.typ, typ) {
		return nil
	}
	return r
}

// ref resolves a reference from the resource by (in location loc) to id of
// type typ: 400 InvalidResourceReference when it is missing or in another
// region, 409 while it is being deleted; under s.mu.
func (s *Server) ref(id, typ, by, loc string) (*resource, *Error) {
	r := s.lookup(id, typ)
	if r == nil || r.loc != loc {
		return nil, badReference(id, by)
	}
	if r.state == stateDeleting && r.busy != nil {
		return nil, s.conflict(r.busy)
	}
	return r, nil
}

// decode reads a PUT body into v, answering as ARM does for bad JSON.
func decode(body []byte, v any) *Error {
	if err := json.Unmarshal(body, v); err != nil {
		return errorf(http.StatusBadRequest, "InvalidRequestContent",
			"The request content was invalid and could not be deserialized: '%v'.", err)
	}
	return nil
}

// Resources lists the IDs of everything the stand-in holds now: resource
// groups, resources and child resources such as subnets, sorted.
func (s *Server) Resources() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	ids := make([]string, 0, len(s.res))
	for _, r := range s.res {
		ids = append(ids, r.id)
	}
	slices.Sort(ids)
	return ids
}

// Delete removes the resource with id at once, as someone deleting it in
// the portal behind the driver's back: a resource group with everything
// in it, a network with its subnets, a VM with its host (Hooks.DeleteVM;
// its OS disk stays, detached). Nothing checks what still refers to it.
func (s *Server) Delete(id string) error {
	s.mu.Lock()
	r := s.res[key(id)]
	var doomed []*resource
	if r != nil {
		doomed = append(doomed, r)
		for _, c := range s.res {
			if c.group == key(id) {
				doomed = append(doomed, c)
			}
		}
	}
	s.mu.Unlock()
	if r == nil {
		return fmt.Errorf("azuretest: no resource %s", id)
	}
	for _, d := range doomed {
		if d.kind != nil && d.kind.remove != nil {
			if e := d.kind.remove(s.ctx, s, d); e != nil {
				return fmt.Errorf("azuretest: delete %s: %w", d.id, e)
			}
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, d := range doomed {
		s.removeTree(d)
	}
	return nil
}

// tags turns ARM's map of pointers into plain strings.
func tags(m map[string]*string) map[string]string {
	if m == nil {
		return nil
	}
	out := make(map[string]string, len(m))
	for k, v := range m {
		if v != nil {
			out[k] = *v
		}
	}
	return out
}

// ptr is a pointer to v.
func ptr[T any](v T) *T { return &v }

// str is *p, or "" for nil.
func str(p *string) string {
	if p == nil {
		return ""
	}
	return *p
}

// serveGroupResources answers ARM's list of what a resource group holds
// (GET .../resourceGroups/G/resources): its top-level resources with ID,
// name, type, location and tags; child resources (subnets) are not listed,
// as in ARM.
func (s *Server) serveGroupResources(w http.ResponseWriter, sub, group string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	gk := key(groupID(sub, group))
	if s.res[gk] == nil {
		writeError(w, groupNotFound(group))
		return
	}
	type item struct {
		ID       string            `json:"id"`
		Name     string            `json:"name"`
		Type     string            `json:"type"`
		Location string            `json:"location"`
		Tags     map[string]string `json:"tags,omitempty"`
	}
	items := []item{}
	for _, r := range s.res {
		if r.group != gk || r.parent != "" {
			continue
		}
		var t struct {
			Tags map[string]string `json:"tags"`
		}
		if b, err := json.Marshal(r.obj); err == nil {
			_ = json.Unmarshal(b, &t)
		}
		items = append(items, item{ID: r.id, Name: r.name, Type: r.kind.typ, Location: r.loc, Tags: t.Tags})
	}
	slices.SortFunc(items, func(a, b item) int { return strings.Compare(a.ID, b.ID) })
	writeJSON(w, http.StatusOK, map[string]any{"value": items})
}
