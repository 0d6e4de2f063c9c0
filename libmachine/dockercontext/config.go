package dockercontext

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/machine-cli/machine/internal/fsutil"
)

// currentKey is config.json's member naming the current context.
const currentKey = "currentContext"

// ConfigError is returned when config.json cannot be read or is not a JSON
// object; the file is left as it was.
type ConfigError struct {
	Path string
	Err  error
}

// Error names the file and says it was not changed.
func (e *ConfigError) Error() string {
	return fmt.Sprintf("docker config %s: %v; fix or move the file (machine left it untouched)", e.Path, e.Err)
}

// Unwrap returns the cause.
func (e *ConfigError) Unwrap() error { return e.Err }

// Current returns the current context: config.json's currentContext, or
// DefaultName when it is missing or empty (as when there is no config.json).
// It does not look at DOCKER_CONTEXT or DOCKER_HOST.
func (s *Store) Current() (string, error) {
	data, _, err := s.readConfig()
	if err != nil {
		return "", err
	}
	cur, err := currentOf(data)
	if err != nil {
		return "", &ConfigError{Path: s.ConfigPath(), Err: err}
	}
	if cur == "" {
		return DefaultName, nil
	}
	return cur, nil
}

// SetCurrent makes name the current context; DefaultName or "" removes
// currentContext, which makes "default" current. Every other byte of
// config.json stays as it was; the file is replaced atomically (through a
// symbolic link, as the docker CLI does), keeping its mode, or made with
// mode 0600. Nothing is written when the current context is name already;
// changed says whether config.json changed.
func (s *Store) SetCurrent(name string) (changed bool, err error) {
	return s.update(func(string) string { return name })
}

// ResetIfCurrent makes docker's default context current when name is the
// current context, reading config.json once, as SetCurrent writes it;
// changed says whether it did.
func (s *Store) ResetIfCurrent(name string) (changed bool, err error) {
	return s.update(func(cur string) string {
		if cur == name {
			return ""
		}
		return cur
	})
}

// update sets currentContext to what next returns for the current one
// ("" for default), writing config.json only when that changes it.
func (s *Store) update(next func(current string) string) (bool, error) {
	data, mode, err := s.readConfig()
	if err != nil {
		return false, err
	}
	cur, err := currentOf(data)
	if err != nil {
		return false, &ConfigError{Path: s.ConfigPath(), Err: err}
	}
	name := next(cur)
	if name == DefaultName {
		name = ""
	}
	if name != "" && name != cur {
		if err := ValidateName(name); err != nil {
			return false, err
		}
	}
	out, changed, err := setCurrent(data, name)
	if err != nil {
		return false, &ConfigError{Path: s.ConfigPath(), Err: err}
	}
	if !changed {
		return false, nil
	}
	path := s.ConfigPath()
	if target, err := filepath.EvalSymlinks(path); err == nil {
		path = target
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return false, fmt.Errorf("docker config: %w", err)
	}
	if err := fsutil.WriteFileAtomic(path, out, mode); err != nil {
		return false, fmt.Errorf("docker config: %w", err)
	}
	return true, nil
}

// readConfig returns config.json's content (nil when it does not exist)
// and the mode to write it back with.
func (s *Store) readConfig() ([]byte, fs.FileMode, error) {
	path := s.ConfigPath()
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, 0o600, nil
	}
	if err != nil {
		return nil, 0, &ConfigError{Path: path, Err: err}
	}
	mode := fs.FileMode(0o600)
	if fi, err := os.Stat(path); err == nil {
		mode = fi.Mode().Perm()
	}
	return data, mode, nil
}

// member is one member of a JSON object, by byte offsets in the document.
type member struct {
	key                            string
	keyStart, valueStart, valueEnd int
	value                          json.RawMessage
}

// object is a parsed JSON object document: its members in order, and the
// offsets just after its '{' and of its '}'.
type object struct {
	members     []member
	open, close int
}

// parseObject reads a document holding one JSON object, remembering where
// each member is. A document of white space only is an empty object.
func parseObject(data []byte) (*object, error) {
	if len(bytes.TrimSpace(data)) == 0 {
		return nil, nil
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	tok, err := dec.Token()
	if err != nil {
		return nil, fmt.Errorf("invalid JSON: %w", err)
	}
	if d, ok := tok.(json.Delim); !ok || d != '{' {
		return nil, errors.New("not a JSON object")
	}
	o := &object{open: int(dec.InputOffset())}
	prev := o.open
	for dec.More() {
		m := member{keyStart: skipSeparators(data, prev)}
		tok, err := dec.Token()
		if err != nil {
			return nil, fmt.Errorf("invalid JSON: %w", err)
		}
		key, ok := tok.(string)
		if !ok {
			return nil, fmt.Errorf("invalid JSON: unexpected %v", tok)
		}
		m.key = key
		if err := dec.Decode(&m.value); err != nil {
			return nil, fmt.Errorf("invalid JSON: %w", err)
		}
		m.valueEnd = int(dec.InputOffset())
		m.valueStart = m.valueEnd - len(m.value)
		o.members = append(o.members, m)
		prev = m.valueEnd
	}
	if _, err := dec.Token(); err != nil { // the closing '}'
		return nil, fmt.Errorf("invalid JSON: %w", err)
	}
	o.close = int(dec.InputOffset()) - 1
	if tok, err := dec.Token(); err != io.EOF {
		if err != nil {
			return nil, fmt.Errorf("invalid JSON after the object: %w", err)
		}
		return nil, fmt.Errorf("invalid JSON: %v after the object", tok)
	}
	return o, nil
}

// skipSeparators returns the offset of the first byte at or after i that is
// neither JSON white space nor a comma.
func skipSeparators(data []byte, i int) int {
	for i < len(data) {
		switch data[i] {
		case ' ', '\t', '\r', '\n', ',':
			i++
		default:
			return i
		}
	}
	return i
}

// currentOf returns currentContext of config.json data ("" when absent or
// null). As Go's decoder, the last of duplicate members counts.
func currentOf(data []byte) (string, error) {
	o, err := parseObject(data)
	if err != nil || o == nil {
		return "", err
	}
	cur := ""
	for _, m := range o.members {
		if m.key != currentKey {
			continue
		}
		var s *string
		if err := json.Unmarshal(m.value, &s); err != nil {
			return "", fmt.Errorf("%s is not a string", currentKey)
		}
		cur = ""
		if s != nil {
			cur = *s
		}
	}
	return cur, nil
}

// setCurrent returns config.json data with currentContext set to name, or
// removed when name is "", every other byte unchanged; changed is false
// (and out is data) when nothing had to change. A new member goes last,
// indented like the member before it.
func setCurrent(data []byte, name string) (out []byte, changed bool, err error) {
	o, err := parseObject(data)
	if err != nil {
		return nil, false, err
	}
	if o == nil {
		if name == "" {
			return data, false, nil
		}
		return []byte("{\n\t" + currentMember(name, ": ") + "\n}"), true, nil
	}
	cur, err := currentOf(data)
	if err != nil {
		return nil, false, err
	}
	if cur == name && countKey(o) <= 1 {
		return data, false, nil
	}
	// Cut the first currentContext until one is left (none to unset),
	// parsing again after each cut: the last one, which counts, stays.
	keep := 1
	if name == "" {
		keep = 0
	}
	out = data
	for countKey(o) > keep {
		out = removeMember(out, o, firstKey(o))
		if o, err = parseObject(out); err != nil {
			return nil, false, err
		}
	}
	if name == "" {
		return out, true, nil
	}
	value, err := json.Marshal(name)
	if err != nil {
		return nil, false, err
	}
	if i := firstKey(o); i >= 0 {
		m := o.members[i]
		return splice(out, m.valueStart, m.valueEnd, value), true, nil
	}
	if len(o.members) == 0 {
		return splice(out, o.open, o.close, []byte("\n\t"+currentMember(name, ": ")+"\n")), true, nil
	}
	last := o.members[len(o.members)-1]
	sep, colon := ",", ":"
	if newline, indent, ok := lineIndent(out, last.keyStart); ok {
		sep, colon = ","+newline+indent, ": "
	} else if bytes.Contains(out[last.keyStart:last.valueStart], []byte(": ")) {
		sep, colon = ", ", ": "
	}
	return splice(out, last.valueEnd, last.valueEnd, []byte(sep+currentMember(name, colon))), true, nil
}

// countKey returns how many currentContext members o has.
func countKey(o *object) int {
	n := 0
	for _, m := range o.members {
		if m.key == currentKey {
			n++
		}
	}
	return n
}

// firstKey returns the index of o's first currentContext member, or -1.
func firstKey(o *object) int {
	for i, m := range o.members {
		if m.key == currentKey {
			return i
		}
	}
	return -1
}

// currentMember renders the currentContext member with the given
// separator between key and value.
func currentMember(name, colon string) string {
	v, _ := json.Marshal(name)
	return `"` + currentKey + `"` + colon + string(v)
}

// lineIndent returns the white space between the start of the line holding
// offset i and i, and the line break before it ("\n" or "\r\n"), when
// nothing else precedes i on its line.
func lineIndent(data []byte, i int) (newline, indent string, ok bool) {
	j := i
	for j > 0 && (data[j-1] == ' ' || data[j-1] == '\t') {
		j--
	}
	if j == 0 || data[j-1] != '\n' {
		return "", "", false
	}
	newline = "\n"
	if j > 1 && data[j-2] == '\r' {
		newline = "\r\n"
	}
	return newline, string(data[j:i]), true
}

// removeMember cuts member i of o out of data with the separator that joins
// it to its neighbours.
func removeMember(data []byte, o *object, i int) []byte {
	switch {
	case i > 0:
		return splice(data, o.members[i-1].valueEnd, o.members[i].valueEnd, nil)
	case len(o.members) > 1:
		return splice(data, o.members[0].keyStart, o.members[1].keyStart, nil)
	default:
		return splice(data, o.open, o.close, nil)
	}
}

// splice returns data with [from, to) replaced by with.
func splice(data []byte, from, to int, with []byte) []byte {
	out := make([]byte, 0, len(data)-(to-from)+len(with))
	out = append(out, data[:from]...)
	out = append(out, with...)
	return append(out, data[to:]...)
}
