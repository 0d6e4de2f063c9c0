package provision

import (
	"fmt"
	"strings"
)

// OSRelease is what /etc/os-release says about the host's OS.
type OSRelease struct {
	ID              string   // "debian"; "linux" when unset
	IDLike          []string // ID_LIKE, closest first: ["debian"]
	Name            string   // "Debian GNU/Linux"; "Linux" when unset
	PrettyName      string   // "Debian GNU/Linux 12 (bookworm)"; "Linux" when unset
	VersionID       string   // "12"
	VersionCodename string   // "bookworm"
	// Fields holds every assignment, unquoted.
	Fields map[string]string
}

// ParseOSRelease parses an os-release(5) file: KEY=VALUE lines, blank lines
// and # comments, values unquoted and unescaped as by a shell (double
// quotes with backslash escapes of $ " \ ` and newline, single quotes,
// backslash outside quotes). Lines that are not assignments are skipped, as
// systemd does; an unterminated quote is an error.
func ParseOSRelease(data []byte) (OSRelease, error) {
	fields := map[string]string{}
	s := string(data)
	line := 1
	for i := 0; i < len(s); {
		// One line: skip leading blanks, comments and blank lines.
		for i < len(s) && (s[i] == ' ' || s[i] == '\t' || s[i] == '\r') {
			i++
		}
		if i >= len(s) {
			break
		}
		if s[i] == '\n' || s[i] == '#' {
			i = skipLine(s, i, &line)
			continue
		}
		eq := strings.IndexAny(s[i:], "=\n")
		if eq < 0 || s[i+eq] == '\n' {
			i = skipLine(s, i, &line) // not an assignment
			continue
		}
		key := strings.TrimSpace(s[i : i+eq])
		startLine := line
		value, next, err := parseValue(s, i+eq+1, &line)
		if err != nil {
			return OSRelease{}, fmt.Errorf("os-release line %d: %w", startLine, err)
		}
		i = next
		if validKey(key) {
			fields[key] = value
		}
	}

	rel := OSRelease{
		ID:              fields["ID"],
		IDLike:          strings.Fields(fields["ID_LIKE"]),
		Name:            fields["NAME"],
		PrettyName:      fields["PRETTY_NAME"],
		VersionID:       fields["VERSION_ID"],
		VersionCodename: fields["VERSION_CODENAME"],
		Fields:          fields,
	}
	if rel.ID == "" {
		rel.ID = "linux"
	}
	if rel.Name == "" {
		rel.Name = "Linux"
	}
	if rel.PrettyName == "" {
		rel.PrettyName = "Linux"
	}
	return rel, nil
}

func skipLine(s string, i int, line *int) int {
	if j := strings.IndexByte(s[i:], '\n'); j >= 0 {
		*line++
		return i + j + 1
	}
	return len(s)
}

// parseValue reads a value starting at s[i] up to an unquoted newline and
// returns it and the index after that newline.
func parseValue(s string, i int, line *int) (string, int, error) {
	var b strings.Builder
	trailing := 0 // unquoted blanks at the end of b, dropped at the end
	for i < len(s) && (s[i] == ' ' || s[i] == '\t') {
		i++
	}
	for i < len(s) {
		c := s[i]
		switch {
		case c == '\n':
			*line++
			return b.String()[:b.Len()-trailing], i + 1, nil
		case c == '\\':
			trailing = 0
			if i+1 < len(s) {
				if s[i+1] == '\n' {
					*line++ // line continuation
				} else {
					b.WriteByte(s[i+1])
				}
				i += 2
				continue
			}
			i++
		case c == '"':
			trailing = 0
			i++
			for {
				if i >= len(s) {
					return "", 0, fmt.Errorf("unterminated double quote")
				}
				c := s[i]
				if c == '"' {
					i++
					break
				}
				if c == '\\' && i+1 < len(s) && strings.IndexByte("$\"\\`\n", s[i+1]) >= 0 {
					if s[i+1] == '\n' {
						*line++
					} else {
						b.WriteByte(s[i+1])
					}
					i += 2
					continue
				}
				if c == '\n' {
					*line++
				}
				b.WriteByte(c)
				i++
			}
		case c == '\'':
			trailing = 0
			end := strings.IndexByte(s[i+1:], '\'')
			if end < 0 {
				return "", 0, fmt.Errorf("unterminated single quote")
			}
			v := s[i+1 : i+1+end]
			*line += strings.Count(v, "\n")
			b.WriteString(v)
			i += end + 2
		default:
			if c == ' ' || c == '\t' || c == '\r' {
				trailing++
			} else {
				trailing = 0
			}
			b.WriteByte(c)
			i++
		}
	}
	return b.String()[:b.Len()-trailing], len(s), nil
}

func validKey(k string) bool {
	if k == "" || k[0] >= '0' && k[0] <= '9' {
		return false
	}
	for _, r := range k {
		if !(r == '_' || r >= 'A' && r <= 'Z' || r >= 'a' && r <= 'z' || r >= '0' && r <= '9') {
			return false
		}
	}
	return true
}
