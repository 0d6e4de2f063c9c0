package host

import (
	"errors"
	"fmt"
	"strings"
	"testing"
)

func TestValidateName(t *testing.T) {
	tests := []struct {
		name string
		ok   bool
	}{
		{"n1", true},
		{"swarm01", true},
		{"a", true},
		{"9lives", true},
		{"my.host-01", true},
		{"UPPER", true},
		{"", false},
		{"-dash", false},
		{".dot", false},
		{"under_score", false},
		{"with space", false},
		{"slash/name", false},
		{"../escape", false},
		{"ünicode", false},
		{"tab\tname", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := ValidateName(tc.name)
			if tc.ok && err != nil {
				t.Fatalf("ValidateName(%q) = %v, want nil", tc.name, err)
			}
			if !tc.ok && !errors.Is(err, ErrInvalidName) {
				t.Fatalf("ValidateName(%q) = %v, want ErrInvalidName", tc.name, err)
			}
		})
	}
}

func FuzzValidateName(f *testing.F) {
	for _, s := range []string{"n1", "-x", "a.b-c", "", "a_b"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, name string) {
		if ValidateName(name) != nil {
			return
		}
		// An accepted name is one safe path element.
		for i, r := range name {
			ok := r == '.' || r == '-' || (r >= 'a' && r <= 'z') || (r >= 'A' && r <= 'Z') || (r >= '0' && r <= '9')
			if !ok || (i == 0 && (r == '.' || r == '-')) {
				t.Fatalf("accepted %q", name)
			}
		}
	})
}

func TestValidateNewName(t *testing.T) {
	tests := []struct {
		name     string
		newOK    bool // ValidateNewName accepts it
		existing bool // ValidateName accepts it (a machine another tool made)
	}{
		{"n1", true, true},
		{strings.Repeat("a", 63), true, true},
		{strings.Repeat("a", 30) + "." + strings.Repeat("b", 32), true, true},
		{strings.Repeat("a", 64), false, true},
		{strings.Repeat("x", 80), false, true},
		{"-dash", false, false},
		{"", false, false},
	}
	for _, tc := range tests {
		t.Run(fmt.Sprintf("%.12s-%d", tc.name, len(tc.name)), func(t *testing.T) {
			err := ValidateNewName(tc.name)
			if tc.newOK != (err == nil) {
				t.Errorf("ValidateNewName = %v, want ok=%v", err, tc.newOK)
			}
			if err != nil && !errors.Is(err, ErrInvalidName) {
				t.Errorf("ValidateNewName = %v, want ErrInvalidName", err)
			}
			if got := ValidateName(tc.name) == nil; got != tc.existing {
				t.Errorf("ValidateName ok = %v, want %v", got, tc.existing)
			}
		})
	}
}
