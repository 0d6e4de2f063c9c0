package azuretest

import (
	"net/http"
)

// place checks where a resource is written: a location the stand-in
// serves, and the same one as before when it already exists. It returns
// the normalised location; under s.mu.
func (s *Server) place(c *call, old *resource, loc *string) (string, *Error) {
	l := normLocation(str(loc))
	switch {
	case l == "":
		return "", errorf(http.StatusBadRequest, "LocationRequired", "The location property is required for this definition.")
	case !s.knownLocation(l):
		return "", s.locationNotAvailable(str(loc), c.kind.typ)
	case old != nil && old.loc != l:
		return "", errorf(http.StatusConflict, "InvalidResourceLocation",
			"The resource '%s' already exists in location '%s' in resource group '%s'. A resource with the same name cannot be created in location '%s'. Please select a new resource name.",
			c.name, old.loc, c.group, l)
	}
	return l, nil
}

// newResource is the store entry for a new top-level resource of c; under
// s.mu.
func newResource(c *call, loc string, obj any) *resource {
	return &resource{id: c.id, kind: c.kind, name: c.name, group: c.groupKey, loc: loc, obj: obj}
}

// etag is a fresh weak entity tag, as the network resource provider sends.
func etag() *string { return ptr(`W/"` + newID() + `"`) }
