package store

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"reflect"
	"strings"

	"github.com/machine-cli/machine/internal/fsutil"
	"github.com/machine-cli/machine/libmachine/host"
)

// Load reads machine name's config.json.
//
// Errors: one wrapping ErrNotExist when the machine's directory is missing;
// a *VersionError when ConfigVersion is not host.ConfigVersion (a missing
// ConfigVersion counts as 0); a *CorruptError when config.json is missing,
// empty, not a JSON object, does not match host.Host, has a Driver that is
// not a JSON object, or names another machine than its directory.
//
// The returned Host's HostOptions and its EngineOptions, SwarmOptions and
// AuthOptions are never nil: missing or null sections are filled with zero
// values.
func (s *Store) Load(name string) (*host.Host, error) {
	if err := checkName(name); err != nil {
		return nil, err
	}
	dir := s.MachineDir(name)
	if _, err := os.Stat(dir); errors.Is(err, fs.ErrNotExist) {
		return nil, &notExistError{name: name}
	} else if err != nil {
		return nil, fmt.Errorf("machine %q: %w", name, err)
	}
	path := s.MachinePath(name, ConfigFile)
	data, err := os.ReadFile(path)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			err = fmt.Errorf("%s is missing: %w", ConfigFile, fs.ErrNotExist)
		}
		return nil, &CorruptError{Name: name, Path: path, Err: err}
	}
	h, err := decodeHost(name, path, data)
	if err != nil {
		var verr *VersionError
		if errors.As(err, &verr) {
			return nil, err
		}
		return nil, &CorruptError{Name: name, Path: path, Err: err}
	}
	return h, nil
}

// decodeHost parses and checks a config.json of machine name.
func decodeHost(name, path string, data []byte) (*host.Host, error) {
	trimmed := bytes.TrimSpace(data)
	if len(trimmed) == 0 {
		return nil, errors.New("the file is empty")
	}
	if trimmed[0] != '{' {
		return nil, errors.New("not a JSON object")
	}
	// Read the version alone first: older versions have other shapes, and
	// their decoding errors would hide the real reason.
	var probe struct{ ConfigVersion *int }
	if err := json.Unmarshal(data, &probe); err != nil {
		return nil, fmt.Errorf("invalid JSON: %w", err)
	}
	version := 0
	if probe.ConfigVersion != nil {
		version = *probe.ConfigVersion
	}
	if version != host.ConfigVersion {
		return nil, &VersionError{Name: name, Path: path, Version: version}
	}
	var h host.Host
	if err := json.Unmarshal(data, &h); err != nil {
		return nil, fmt.Errorf("invalid JSON: %w", err)
	}
	if !isObject(h.Driver) {
		return nil, errors.New("the Driver section is missing or not a JSON object")
	}
	if h.Name != name {
		return nil, fmt.Errorf("it names machine %q, not %q", h.Name, name)
	}
	fillOptions(&h)
	return &h, nil
}

// fillOptions replaces nil option sections by empty ones, so callers can
// dereference them.
func fillOptions(h *host.Host) {
	if h.HostOptions == nil {
		h.HostOptions = &host.Options{}
	}
	o := h.HostOptions
	if o.EngineOptions == nil {
		o.EngineOptions = &host.EngineOptions{}
	}
	if o.SwarmOptions == nil {
		o.SwarmOptions = &host.SwarmOptions{}
	}
	if o.AuthOptions == nil {
		o.AuthOptions = &host.AuthOptions{}
	}
}

// isObject reports whether raw is a JSON object.
func isObject(raw json.RawMessage) bool {
	t := bytes.TrimSpace(raw)
	return len(t) > 0 && t[0] == '{' && json.Valid(t)
}

// Save writes h to machines/<h.Name>/config.json, creating the machine's
// directory (0700) when needed. The file (0600) is replaced atomically: a
// reader or a crash sees the old content or the new, never a mix.
//
// The JSON is docker-machine's: json.MarshalIndent with four spaces, no
// trailing newline, ConfigVersion set to host.ConfigVersion whatever
// h.ConfigVersion holds (h is not modified). Fields that host.Host does not
// know, found in the config.json being replaced at the top level or in
// HostOptions, EngineOptions, SwarmOptions or AuthOptions (rancher/machine's
// HostOptions.CustomInstallScript, fields of a newer tool), are kept where
// they were, so that saving does not lose another tool's settings.
//
// Save refuses a name that is not a single path element and a Driver that is
// not a JSON object, since Load would refuse them.
func (s *Store) Save(h *host.Host) error {
	if h == nil {
		return errors.New("save: no host")
	}
	if err := checkName(h.Name); err != nil {
		return err
	}
	if !isObject(h.Driver) {
		return fmt.Errorf("save machine %q: the driver config is not a JSON object", h.Name)
	}
	c := *h
	c.ConfigVersion = host.ConfigVersion
	data, err := json.Marshal(&c)
	if err != nil {
		return fmt.Errorf("save machine %q: %w", h.Name, err)
	}
	dir := s.MachineDir(h.Name)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("save machine %q: %w", h.Name, err)
	}
	path := s.MachinePath(h.Name, ConfigFile)
	if old, err := os.ReadFile(path); err == nil {
		data = mergeUnknown(data, old, hostFields)
	}
	var out bytes.Buffer
	if err := json.Indent(&out, data, "", "    "); err != nil {
		return fmt.Errorf("save machine %q: %w", h.Name, err)
	}
	if err := fsutil.WriteFileAtomic(path, out.Bytes(), 0o600); err != nil {
		return fmt.Errorf("save machine %q: %w", h.Name, err)
	}
	return nil
}

// fieldSet is the JSON member names a struct knows, and for those members
// that are themselves structs whose unknown members Save keeps, their
// fieldSet.
type fieldSet struct {
	names  []string
	nested map[string]*fieldSet
}

// hostFields describes host.Host. Driver is not nested: it is the driver's,
// and Save writes it as given.
var hostFields = &fieldSet{
	names: jsonNames(reflect.TypeFor[host.Host]()),
	nested: map[string]*fieldSet{
		"HostOptions": {
			names: jsonNames(reflect.TypeFor[host.Options]()),
			nested: map[string]*fieldSet{
				"EngineOptions": {names: jsonNames(reflect.TypeFor[host.EngineOptions]())},
				"SwarmOptions":  {names: jsonNames(reflect.TypeFor[host.SwarmOptions]())},
				"AuthOptions":   {names: jsonNames(reflect.TypeFor[host.AuthOptions]())},
			},
		},
	},
}

// jsonNames returns the member names encoding/json uses for struct type t.
func jsonNames(t reflect.Type) []string {
	var names []string
	for f := range t.Fields() {
		if !f.IsExported() {
			continue
		}
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		switch name {
		case "-":
			continue
		case "":
			name = f.Name
		}
		names = append(names, name)
	}
	return names
}

// known reports whether key matches one of the names, case-insensitively as
// encoding/json matches members to fields.
func (set *fieldSet) known(key string) bool {
	for _, n := range set.names {
		if strings.EqualFold(n, key) {
			return true
		}
	}
	return false
}

// member is one member of a JSON object.
type member struct {
	key string
	val json.RawMessage
}

// objectMembers splits a JSON object into its members, in order.
func objectMembers(data []byte) ([]member, bool) {
	dec := json.NewDecoder(bytes.NewReader(data))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return nil, false
	}
	var ms []member
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, false
		}
		key, ok := tok.(string)
		if !ok {
			return nil, false
		}
		var val json.RawMessage
		if err := dec.Decode(&val); err != nil {
			return nil, false
		}
		ms = append(ms, member{key, val})
	}
	if _, err := dec.Token(); err != nil {
		return nil, false
	}
	return ms, true
}

// mergeUnknown returns the JSON object cur with the members of the object old
// that set does not know inserted after the known member they followed in
// old, and recurses into the nested objects set names. When either is not an
// object, cur is returned unchanged.
func mergeUnknown(cur, old []byte, set *fieldSet) []byte {
	cm, ok := objectMembers(cur)
	if !ok {
		return cur
	}
	om, ok := objectMembers(old)
	if !ok {
		return cur
	}
	// The last old member matching a key is the one encoding/json used.
	lastOld := func(key string) (json.RawMessage, bool) {
		for i := len(om) - 1; i >= 0; i-- {
			if strings.EqualFold(om[i].key, key) {
				return om[i].val, true
			}
		}
		return nil, false
	}
	for i := range cm {
		sub, ok := set.nested[cm[i].key]
		if !ok {
			continue
		}
		if ov, ok := lastOld(cm[i].key); ok {
			cm[i].val = mergeUnknown(cm[i].val, ov, sub)
		}
	}
	anchor := -1 // index in cm after which the next unknown member goes
	for _, m := range om {
		if set.known(m.key) {
			for j := range cm {
				if strings.EqualFold(cm[j].key, m.key) {
					anchor = j
					break
				}
			}
			continue
		}
		if j := indexKey(cm, m.key); j >= 0 {
			cm[j].val = m.val // a duplicate: the last one wins, in the first's place
			continue
		}
		cm = append(cm, member{})
		copy(cm[anchor+2:], cm[anchor+1:])
		cm[anchor+1] = m
		anchor++
	}
	var b bytes.Buffer
	b.WriteByte('{')
	for i, m := range cm {
		if i > 0 {
			b.WriteByte(',')
		}
		k, _ := json.Marshal(m.key)
		b.Write(k)
		b.WriteByte(':')
		b.Write(m.val)
	}
	b.WriteByte('}')
	return b.Bytes()
}

// indexKey returns the index of the member with exactly key, or -1.
func indexKey(ms []member, key string) int {
	for i, m := range ms {
		if m.key == key {
			return i
		}
	}
	return -1
}
