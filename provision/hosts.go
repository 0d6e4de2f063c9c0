package provision

import "strings"

// ensureHostsEntry returns /etc/hosts content with a "127.0.1.1 name" line
// (Debian's convention for the host's own name): the first 127.0.1.1 line
// is replaced, or one is added. changed is false when content already
// maps 127.0.1.1 to exactly name.
func ensureHostsEntry(content, name string) (updated string, changed bool) {
	want := "127.0.1.1 " + name
	lines := strings.Split(strings.TrimSuffix(content, "\n"), "\n")
	if content == "" {
		lines = nil
	}
	for i, l := range lines {
		f := strings.Fields(l)
		if len(f) == 0 || f[0] != "127.0.1.1" {
			continue
		}
		if len(f) == 2 && f[1] == name {
			return content, false
		}
		lines[i] = want
		return strings.Join(lines, "\n") + "\n", true
	}
	return strings.Join(append(lines, want), "\n") + "\n", true
}
