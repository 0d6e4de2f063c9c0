package virtualbox

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"

	"github.com/machine-cli/machine/drivers"
)

// Binary is VBoxManage's name.
const Binary = "VBoxManage"

// Runner runs VBoxManage: the command line (Command), or a recording fake
// in tests. Run returns the command's standard output; a command that
// fails returns an *Error.
type Runner interface {
	Run(ctx context.Context, args ...string) (string, error)
}

// ErrNotInstalled: VBoxManage was not found.
var ErrNotInstalled = errors.New(Binary + " not found")

// FindVBoxManage finds VBoxManage as docker-machine does: on Windows in
// VBOX_INSTALL_PATH or VBOX_MSI_INSTALL_PATH (what VirtualBox's installer
// sets) first, then on PATH. The error says what to install.
func FindVBoxManage(goos string, getenv func(string) string, lookPath func(string) (string, error)) (string, error) {
	if goos == "windows" {
		for _, v := range []string{"VBOX_INSTALL_PATH", "VBOX_MSI_INSTALL_PATH"} {
			if dir := getenv(v); dir != "" {
				if p, err := lookPath(filepath.Join(dir, Binary+".exe")); err == nil {
					return p, nil
				}
			}
		}
	}
	if p, err := lookPath(Binary); err == nil {
		return p, nil
	}
	return "", fmt.Errorf("%w on PATH: install VirtualBox 6.1 or 7 (https://www.virtualbox.org/wiki/Downloads), or put the directory that holds %s on PATH", ErrNotInstalled, Binary)
}

// Command runs the VBoxManage at Path.
type Command struct {
	Path string
	// Debug, when not nil, gets each command line with its output: the
	// driver's stderr, which `machine --debug` shows.
	Debug io.Writer
}

// Run runs VBoxManage with args. VBoxManage sometimes exits 0 after
// printing an error (docker-machine met "VT-x is not available" so), so an
// "error:" line on stderr fails the command too.
func (c Command) Run(ctx context.Context, args ...string) (string, error) {
	cmd := exec.CommandContext(ctx, c.Path, args...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	if c.Debug != nil {
		fmt.Fprintf(c.Debug, "virtualbox: %s %s\n", Binary, strings.Join(quoteArgs(args), " "))
		for _, out := range []*bytes.Buffer{&stdout, &stderr} {
			for line := range strings.Lines(out.String()) {
				fmt.Fprintf(c.Debug, "virtualbox:   %s\n", strings.TrimRight(line, "\r\n"))
			}
		}
	}
	if cerr := ctx.Err(); cerr != nil {
		return "", fmt.Errorf("%s %s: %w", Binary, first(args), cerr)
	}
	if err != nil || errorLineRE.Match(stderr.Bytes()) {
		return stdout.String(), ParseError(args, stderr.String(), err)
	}
	return stdout.String(), nil
}

func first(args []string) string {
	if len(args) == 0 {
		return ""
	}
	return args[0]
}

func quoteArgs(args []string) []string {
	out := make([]string, len(args))
	for i, a := range args {
		if a == "" || strings.ContainsAny(a, " \t\"'\\") {
			a = fmt.Sprintf("%q", a)
		}
		out[i] = a
	}
	return out
}

// Error is a failed VBoxManage command, read from what it printed:
//
//	VBoxManage: error: Could not find a registered machine named 'dev'
//	VBoxManage: error: Details: code VBOX_E_OBJECT_NOT_FOUND (0x80bb0001), component VirtualBoxWrap, interface IVirtualBox, callee nsISupports
//	VBoxManage: error: Context: "FindMachine(...)" at line 2621 of file VBoxManageInfo.cpp
//
// or, without extended error information,
//
//	VBoxManage: error: Code E_ACCESSDENIED (0x80070005) - Access denied (extended info not available)
type Error struct {
	// Args is the command line after VBoxManage.
	Args []string
	// Messages are the error lines but the Details, Code and Context
	// ones, in order.
	Messages []string
	// Code is the COM result code ("VBOX_E_OBJECT_NOT_FOUND",
	// "E_ACCESSDENIED", "NS_ERROR_FAILURE"), or "".
	Code string
	// Status is the first VirtualBox status in the messages
	// ("VERR_VMX_IN_VMX_ROOT_MODE"), or "".
	Status string
	// Exit is the process's failure (exit status), or nil.
	Exit error
}

var (
	errorLineRE  = regexp.MustCompile(`(?m)^VBoxManage(?:\.exe)?: error: `)
	detailsRE    = regexp.MustCompile(`^Details: code ([A-Z0-9_]+)`)
	codeRE       = regexp.MustCompile(`^Code ([A-Z0-9_]+) \(`)
	statusRE     = regexp.MustCompile(`\b(VERR_[A-Z0-9_]+)\b`)
	errorPrefixs = []string{"VBoxManage: error: ", "VBoxManage.exe: error: "}
)

// ParseError reads the error lines of VBoxManage's stderr into an *Error.
// exit is how the process ended (nil when it exited 0 after an error line).
func ParseError(args []string, stderr string, exit error) *Error {
	e := &Error{Args: args, Exit: exit}
	var other []string
	for line := range strings.Lines(stderr) {
		line = strings.TrimSpace(line)
		msg, isErr := "", false
		for _, p := range errorPrefixs {
			if m, ok := strings.CutPrefix(line, p); ok {
				msg, isErr = strings.TrimSpace(m), true
				break
			}
		}
		if !isErr {
			if line != "" && !progressRE.MatchString(line) {
				other = append(other, line)
			}
			continue
		}
		switch {
		case strings.HasPrefix(msg, "Context: "):
		case detailsRE.MatchString(msg):
			e.Code = detailsRE.FindStringSubmatch(msg)[1]
		case codeRE.MatchString(msg):
			e.Code = codeRE.FindStringSubmatch(msg)[1]
			if _, meaning, ok := strings.Cut(msg, " - "); ok {
				e.Messages = append(e.Messages, strings.TrimSuffix(meaning, " (extended info not available)"))
			}
		case msg != "":
			e.Messages = append(e.Messages, msg)
		}
		if e.Status == "" {
			if m := statusRE.FindStringSubmatch(msg); m != nil {
				e.Status = m[1]
			}
		}
	}
	if len(e.Messages) == 0 && len(other) > 0 {
		e.Messages = []string{other[len(other)-1]}
	}
	return e
}

// progressRE matches VBoxManage's progress lines ("0%...10%...100%").
var progressRE = regexp.MustCompile(`^[0-9]+%(\.\.\.[0-9]+%)*\.*$`)

// Error is one line: the command, its first message and the code.
func (e *Error) Error() string {
	msg := "failed"
	if len(e.Messages) > 0 {
		msg = strings.TrimSuffix(e.Messages[0], ".")
	} else if e.Exit != nil {
		msg = e.Exit.Error()
	}
	if e.Code != "" && !strings.Contains(msg, e.Code) {
		msg += " (" + e.Code + ")"
	}
	return fmt.Sprintf("%s %s: %s", Binary, first(e.Args), msg)
}

// Is makes a VBOX_E_OBJECT_NOT_FOUND error match drivers.ErrNotFound.
func (e *Error) Is(target error) bool {
	return target == drivers.ErrNotFound && e.Code == "VBOX_E_OBJECT_NOT_FOUND"
}

// Says reports whether a message contains s.
func (e *Error) Says(s string) bool {
	for _, m := range e.Messages {
		if strings.Contains(m, s) {
			return true
		}
	}
	return false
}

// Has reports whether a message carries the VirtualBox status (one error
// can carry several: "Not in a hypervisor partition (HVP=0)
// (VERR_NEM_NOT_AVAILABLE). VT-x is disabled in the BIOS for all CPU modes
// (VERR_VMX_MSR_ALL_VMX_DISABLED)").
func (e *Error) Has(status string) bool {
	for _, m := range e.Messages {
		for _, s := range statusRE.FindAllString(m, -1) {
			if s == status {
				return true
			}
		}
	}
	return false
}

// asError returns err's *Error, or nil.
func asError(err error) *Error {
	var e *Error
	if errors.As(err, &e) {
		return e
	}
	return nil
}

// isLocked reports whether err says the VM is locked by another session
// (the VirtualBox GUI, another VBoxManage).
func isLocked(err error) bool {
	e := asError(err)
	return e != nil && e.Code == "VBOX_E_INVALID_OBJECT_STATE" && e.Says("locked")
}

// defaultRunner is VBoxManage on this host, its commands logged to stderr.
func defaultRunner(path string) (Runner, error) {
	if path == "" {
		p, err := FindVBoxManage(runtime.GOOS, os.Getenv, exec.LookPath)
		if err != nil {
			return nil, err
		}
		path = p
	}
	return Command{Path: path, Debug: os.Stderr}, nil
}
