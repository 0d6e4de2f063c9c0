package libmachine

import (
	"fmt"
	"regexp"
	"slices"
	"strings"
)

// Filter selects machines for List and Names, with docker-machine's
// `ls --filter` keys. Within a key any value may match; every key given
// must match. The zero Filter selects every machine.
type Filter struct {
	// Names are regular expressions, any of which a machine's name
	// contains (unanchored, as docker-machine's).
	Names []*regexp.Regexp
	// Drivers are driver names, compared without case.
	Drivers []string
	// States are state names (Running, Stopped, Error, Timeout, ...),
	// compared without case.
	States []string
	// Swarms name swarms by their first machine, compared without case.
	Swarms []string
	// Labels are engine labels, KEY (any value) or KEY=VALUE (the value
	// compared without case, as docker-machine does).
	Labels []string
}

// filterKeys are the keys ParseFilter takes.
var filterKeys = []string{"name", "driver", "state", "swarm", "label"}

// ParseFilter reads `--filter KEY=VALUE` arguments; keys are taken in any
// case.
func ParseFilter(args []string) (Filter, error) {
	var f Filter
	for _, a := range args {
		k, v, ok := strings.Cut(a, "=")
		k = strings.ToLower(k)
		if !ok || v == "" || !slices.Contains(filterKeys, k) {
			return Filter{}, fmt.Errorf("--filter %q: use name=REGEXP, driver=DRIVER, state=STATE, swarm=NAME or label=KEY[=VALUE]", a)
		}
		switch k {
		case "name":
			re, err := regexp.Compile(v)
			if err != nil {
				return Filter{}, fmt.Errorf("--filter %q: the name is a regular expression: %w", a, err)
			}
			f.Names = append(f.Names, re)
		case "driver":
			f.Drivers = append(f.Drivers, v)
		case "state":
			f.States = append(f.States, v)
		case "swarm":
			f.Swarms = append(f.Swarms, v)
		case "label":
			if strings.HasPrefix(v, "=") {
				return Filter{}, fmt.Errorf("--filter %q: the label needs a key: label=KEY or label=KEY=VALUE", a)
			}
			f.Labels = append(f.Labels, v)
		}
	}
	return f, nil
}

// NeedsState reports whether f filters on state, which only a live look
// at each machine tells.
func (f Filter) NeedsState() bool { return len(f.States) > 0 }

// Match reports whether s passes every filter.
func (f Filter) Match(s Status) bool { return f.keepStatic(s) && f.keepState(s) }

// keepStatic reports whether s passes every filter but state, which need
// only what the store says.
func (f Filter) keepStatic(s Status) bool {
	return anyMatch(f.Names, func(re *regexp.Regexp) bool { return re.MatchString(s.Name) }) &&
		anyMatch(f.Drivers, func(d string) bool { return strings.EqualFold(d, s.DriverName) }) &&
		anyMatch(f.Swarms, func(n string) bool { return s.Cluster != "" && strings.EqualFold(n, s.Cluster) }) &&
		anyMatch(f.Labels, func(l string) bool { return hasLabel(s.Labels, l) })
}

// keepState reports whether s passes the state filter.
func (f Filter) keepState(s Status) bool {
	return anyMatch(f.States, func(st string) bool { return strings.EqualFold(st, s.State.String()) })
}

// anyMatch is true when vals is empty or one of them matches.
func anyMatch[T any](vals []T, match func(T) bool) bool {
	return len(vals) == 0 || slices.ContainsFunc(vals, match)
}

// hasLabel reports whether labels (KEY=VALUE, or KEY) hold want: KEY, or
// KEY=VALUE with the value compared without case.
func hasLabel(labels []string, want string) bool {
	wk, wv, withValue := strings.Cut(want, "=")
	for _, l := range labels {
		k, v, _ := strings.Cut(l, "=")
		if k == wk && (!withValue || strings.EqualFold(v, wv)) {
			return true
		}
	}
	return false
}
