package libmachine

import (
	"strings"
	"testing"

	"github.com/machine-cli/machine/drivers"
)

func TestParseFilterErrors(t *testing.T) {
	tests := []struct{ arg, want string }{
		{"name", "use name=REGEXP"},
		{"color=red", "use name=REGEXP"},
		{"=x", "use name=REGEXP"},
		{"label=", "use name=REGEXP"},
		{"label==x", "needs a key"},
		{"name=(", "regular expression"},
	}
	for _, tc := range tests {
		_, err := ParseFilter([]string{tc.arg})
		if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), tc.arg) {
			t.Errorf("ParseFilter(%q): %v, want an error naming it and saying %q", tc.arg, err, tc.want)
		}
	}
}

func TestFilterMatch(t *testing.T) {
	s := Status{Name: "web-1", DriverName: "generic", State: drivers.Running, Cluster: "swarm01", Labels: []string{"env=Prod", "gpu"}}
	tests := []struct {
		filter []string
		want   bool
	}{
		{nil, true},
		{[]string{"name=web"}, true},
		{[]string{"name=^web-[0-9]$"}, true},
		{[]string{"name=WEB"}, false},
		{[]string{"NAME=db", "name=web"}, true},
		{[]string{"driver=GENERIC"}, true},
		{[]string{"driver=azure"}, false},
		{[]string{"state=running"}, true},
		{[]string{"state=stopped"}, false},
		{[]string{"swarm=Swarm01"}, true},
		{[]string{"swarm=web-1"}, false},
		{[]string{"label=env=prod"}, true},
		{[]string{"label=env"}, true},
		{[]string{"label=gpu"}, true},
		{[]string{"label=ENV=prod"}, false},
		{[]string{"label=env=dev"}, false},
		{[]string{"name=web", "driver=azure"}, false},
	}
	for _, tc := range tests {
		f, err := ParseFilter(tc.filter)
		if err != nil {
			t.Fatal(err)
		}
		if got := f.Match(s); got != tc.want {
			t.Errorf("%v matches %+v: %v, want %v", tc.filter, s, got, tc.want)
		}
	}
}
