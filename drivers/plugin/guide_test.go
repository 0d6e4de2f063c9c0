package plugin

import (
	"os"
	"strings"
	"testing"
)

// TestGuideShowsTheExample: the Go driver in drivers/README.md is
// example/main.go, which the integration tests build and create a machine
// with, so the guide's code compiles and works.
func TestGuideShowsTheExample(t *testing.T) {
	guide, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	code, err := os.ReadFile("example/main.go")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(guide), "```go\n"+string(code)+"```\n") {
		t.Error("drivers/README.md does not show drivers/plugin/example/main.go as it is: copy the file into the guide's go block")
	}
}
