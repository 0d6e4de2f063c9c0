// Package shell renders the output of `machine env`: lines that set (or
// unset) environment variables in a given shell, followed by a comment
// telling the user how to evaluate them. For ordinary values the lines are
// docker-machine's, byte for byte (commands/env.go in docker/machine):
//
//	bash, sh, zsh   export NAME="value"          unset NAME
//	fish            set -gx NAME "value";        set -e NAME;
//	powershell      $Env:NAME = "value"          Remove-Item Env:\\NAME
//	cmd             SET NAME=value               SET NAME=
//	tcsh            setenv NAME "value";         unsetenv NAME;
//	emacs           (setenv "NAME" "value")      (setenv "NAME" nil)
//
// followed by the hint, e.g. for bash:
//
//	# Run this command to configure your shell:
//	# eval $(machine env n1)
//
// where, as in docker-machine, the first line ends with a space after
// "shell:".
//
// # Quoting
//
// Values that docker-machine's quoting would break (because they hold
// quotes, "$", backslashes and the like) are quoted so that the shell sees
// the value unchanged:
//
//   - bash, sh, zsh: a value holding any of $ ` " \ ! is put in single quotes
//     instead, where everything is literal, history expansion of ! included;
//     a single quote in it closes the quotes, is escaped and reopens them (see
//     below).
//   - fish: \, " and $ are escaped with a backslash inside the double quotes;
//     a newline is written as \n outside them, so every line stays whole.
//   - powershell: `, $, " and the typographic double quotes are escaped with a
//     backtick; newline and carriage return are written `n and `r.
//   - cmd: a value holding any of & | < > ^ ( ) % ! or leading or trailing
//     blanks is written SET "NAME=value", which keeps & | < > ^ ( ) literal.
//     cmd has no way to write ", a newline or a carriage return in a value:
//     Set refuses them. % and ! stay special when the line is typed or pasted
//     at a prompt (not when run through the FOR /f of the hint), and an empty
//     value unsets the variable, as cmd's SET does.
//   - tcsh: a value holding any of $ ` " \ ! is put in single quotes, like
//     bash, and each ! in it is written '\!' (closing and reopening the
//     quotes), since tcsh expands history even inside single quotes and in
//     sourced files and eval; Set refuses line breaks.
//   - emacs: \ and " are escaped with a backslash in the Lisp string, and a
//     newline or carriage return is written \n or \r.
//
// For example, in bash:
//
//	export DOCKER_CERT_PATH="/home/John Smith/.docker/machine/machines/n1"
//	export A='say "hi" to $USER'
//	export B='it'\''s $HOME'
//	export C="it's"
//
// The POSIX hint is docker-machine's `eval $(machine env n1)`, whose unquoted
// command substitution squeezes runs of blanks and newlines inside values
// into single spaces; `eval "$(machine env n1)"` keeps every value exactly.
// tcsh's eval `machine env n1` squeezes blanks the same way and also expands
// braces in values ({a,b}, even {a}); `source` of the saved output keeps
// every value exactly.
//
// Every line of the output stays one line, so that the hint's comment lines
// cannot spill into commands: a hint argument holding a newline is written
// in ANSI-C quotes ($'a\nb') for bash, sh and zsh (which bash, zsh, ksh and
// POSIX.1-2024 shells read; dash 0.5.12 does not), and the emacs hint's Lisp
// string escapes it. cmd and tcsh have no way to write one, so Render refuses
// a hint command line holding a line break for them, as Set refuses such a
// value. A tcsh hint cannot run a command whose arguments hold a backquote:
// csh cannot nest them inside eval `...`.
//
// Values may not hold NUL bytes and names must be [A-Za-z_][A-Za-z0-9_]*:
// Set, Unset and Render refuse others.
package shell

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
)

// Shell writes environment assignments in one shell's syntax.
type Shell interface {
	// Name is the shell's canonical name, as Get takes it.
	Name() string
	// Set returns the line (without newline) setting variable name to value.
	// It fails for an invalid name or a value the shell cannot express.
	Set(name, value string) (string, error)
	// Unset returns the line (without newline) removing variable name. It
	// fails for an invalid name.
	Unset(name string) (string, error)
	// Hint returns the two comment lines (separated by a newline, without a
	// final one) telling the user how to evaluate the output of command,
	// the program and its arguments, e.g. {"machine", "env", "n1"}. Each
	// shell wraps the command its way (eval $(...), eval (...), & ... |
	// Invoke-Expression, FOR /f ...) and quotes arguments that need it.
	Hint(command []string) string
}

// ErrUnknownShell is wrapped by Get's error for a name it does not know.
var ErrUnknownShell = errors.New("unknown shell")

// Var is one environment variable to set or unset.
type Var struct {
	// Name is the variable's name, e.g. DOCKER_HOST.
	Name string
	// Value is the variable's value; Render ignores it when unsetting.
	Value string
}

// Render writes to w the lines setting vars in order, or with unset the
// lines unsetting them, and then, when command is not empty, the hint for
// command (see Shell.Hint). Each line ends with a newline. Nothing is written
// when a variable, or for cmd and tcsh a command line holding a line break,
// is refused: the output is built first and written at once.
func Render(w io.Writer, sh Shell, vars []Var, unset bool, command []string) error {
	var b bytes.Buffer
	for _, v := range vars {
		var line string
		var err error
		if unset {
			line, err = sh.Unset(v.Name)
		} else {
			line, err = sh.Set(v.Name, v.Value)
		}
		if err != nil {
			return err
		}
		b.WriteString(line)
		b.WriteByte('\n')
	}
	if len(command) > 0 {
		hint := sh.Hint(command)
		breaks := "\n"
		if n := sh.Name(); n == "cmd" || n == "tcsh" {
			breaks = "\r\n"
		}
		if _, last, _ := strings.Cut(hint, "\n"); strings.ContainsAny(last, breaks) {
			return fmt.Errorf("%s output cannot hold a line break: the command line in its hint has one", sh.Name())
		}
		b.WriteString(hint)
		b.WriteByte('\n')
	}
	_, err := w.Write(b.Bytes())
	return err
}

// shells are the supported shells by canonical name.
var shells = map[string]*shell{
	"bash":       posixShell("bash"),
	"sh":         posixShell("sh"),
	"zsh":        posixShell("zsh"),
	"fish":       fishShell,
	"powershell": powershellShell,
	"cmd":        cmdShell,
	"tcsh":       tcshShell,
	"emacs":      emacsShell,
}

// aliases map other names Get accepts, and $SHELL basenames Detect sees, to
// canonical names.
var aliases = map[string]string{
	"pwsh": "powershell",
	"csh":  "tcsh",
	"ksh":  "sh",
	"mksh": "sh",
	"dash": "sh",
	"ash":  "sh",
}

// Names returns the canonical names of the supported shells, sorted.
func Names() []string {
	names := make([]string, 0, len(shells))
	for n := range shells {
		names = append(names, n)
	}
	slices.Sort(names)
	return names
}

// Get returns the shell called name: one of Names(), or pwsh (powershell),
// csh (tcsh), ksh, mksh, dash or ash (sh). An unknown name gives an error
// wrapping ErrUnknownShell that lists the supported names.
func Get(name string) (Shell, error) {
	if c, ok := aliases[name]; ok {
		name = c
	}
	if s, ok := shells[name]; ok {
		return s, nil
	}
	return nil, fmt.Errorf("%w %q: use one of %s", ErrUnknownShell, name, strings.Join(Names(), ", "))
}

// Detect guesses the user's shell from the environment: the base name of
// $SHELL (without ".exe"), mapped to its canonical name as Get does, and
// "bash" when that shell is not supported; when $SHELL is unset,
// "powershell" if $PSModulePath is set, else "bash". $SHELL names the login
// shell, not necessarily the running one (pwsh started from bash still sees
// SHELL=/bin/bash), and on Windows PSModulePath is set in cmd too: users of
// other shells pass --shell. getenv is usually os.Getenv; nil means
// os.Getenv.
func Detect(getenv func(string) string) string {
	if getenv == nil {
		getenv = os.Getenv
	}
	if sh := getenv("SHELL"); sh != "" {
		base := sh[strings.LastIndexAny(sh, `/\`)+1:]
		base = strings.TrimSuffix(strings.ToLower(base), ".exe")
		if s, err := Get(base); err == nil {
			return s.Name()
		}
		return "bash"
	}
	if getenv("PSModulePath") != "" {
		return "powershell"
	}
	return "bash"
}

// shell is a Shell described by its syntax.
type shell struct {
	name string
	// set returns the line setting a checked name to a checked value.
	set func(name, value string) (string, error)
	// unset returns the line unsetting a checked name.
	unset func(name string) string
	// comment starts the hint lines.
	comment string
	// quoteArg quotes one argument of the hint command when it needs it.
	quoteArg func(arg string) string
	// wrap turns the hint command line into the command the user runs.
	wrap func(cmdline string) string
}

// Name implements Shell.
func (s *shell) Name() string { return s.name }

// Set implements Shell: it checks name and value, then renders the line.
func (s *shell) Set(name, value string) (string, error) {
	if err := checkName(name); err != nil {
		return "", err
	}
	if strings.IndexByte(value, 0) >= 0 {
		return "", fmt.Errorf("variable %s: a value cannot hold a NUL byte", name)
	}
	return s.set(name, value)
}

// Unset implements Shell.
func (s *shell) Unset(name string) (string, error) {
	if err := checkName(name); err != nil {
		return "", err
	}
	return s.unset(name), nil
}

// Hint implements Shell, in docker-machine's words (and trailing space).
func (s *shell) Hint(command []string) string {
	args := make([]string, len(command))
	for i, a := range command {
		args[i] = s.quoteArg(a)
	}
	return fmt.Sprintf("%s Run this command to configure your shell: \n%s %s", s.comment, s.comment, s.wrap(strings.Join(args, " ")))
}

// checkName accepts the portable environment variable names.
func checkName(name string) error {
	ok := name != ""
	for i, c := range name {
		if !(c == '_' || 'A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || i > 0 && '0' <= c && c <= '9') {
			ok = false
			break
		}
	}
	if !ok {
		return fmt.Errorf("invalid environment variable name %q", name)
	}
	return nil
}

// plainArg reports whether a hint argument needs no quoting in any shell.
func plainArg(a string) bool {
	if a == "" {
		return false
	}
	for _, c := range a {
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || strings.ContainsRune("_+=:./-", c)) {
			return false
		}
	}
	return true
}

// posixShell is bash, sh or zsh.
func posixShell(name string) *shell {
	return &shell{
		name:     name,
		set:      func(n, v string) (string, error) { return "export " + n + "=" + posixQuote(v), nil },
		unset:    func(n string) string { return "unset " + n },
		comment:  "#",
		quoteArg: posixArg,
		wrap:     func(c string) string { return "eval $(" + c + ")" },
	}
}

// posixQuote double-quotes v as docker-machine does, or single-quotes it when
// double quotes would not keep it literal.
func posixQuote(v string) string {
	if strings.ContainsAny(v, "$`\"\\!") {
		return singleQuote(v)
	}
	return `"` + v + `"`
}

// singleQuote puts v in POSIX single quotes.
func singleQuote(v string) string {
	return `'` + strings.ReplaceAll(v, `'`, `'\''`) + `'`
}

// posixArg quotes a hint argument for a POSIX shell, in ANSI-C quotes when
// it holds a newline, which no other POSIX quoting writes on one line.
func posixArg(a string) string {
	if strings.ContainsRune(a, '\n') {
		return "$'" + strings.NewReplacer(`\`, `\\`, `'`, `\'`, "\n", `\n`, "\r", `\r`).Replace(a) + "'"
	}
	return posixShellArg(a)
}

// posixShellArg quotes a hint argument for /bin/sh, in plain POSIX quotes.
func posixShellArg(a string) string {
	if plainArg(a) {
		return a
	}
	return posixQuote(a)
}

var fishShell = &shell{
	name:     "fish",
	set:      func(n, v string) (string, error) { return "set -gx " + n + " " + fishQuote(v) + ";", nil },
	unset:    func(n string) string { return "set -e " + n + ";" },
	comment:  "#",
	quoteArg: func(a string) string { return quoteIfNeeded(a, fishQuote) },
	wrap:     func(c string) string { return "eval (" + c + ")" },
}

// fishQuote double-quotes v for fish, writing newlines outside the quotes.
func fishQuote(v string) string {
	r := strings.NewReplacer(`\`, `\\`, `"`, `\"`, `$`, `\$`, "\n", `"\n"`)
	return `"` + r.Replace(v) + `"`
}

var powershellShell = &shell{
	name:     "powershell",
	set:      func(n, v string) (string, error) { return "$Env:" + n + " = " + powershellQuote(v), nil },
	unset:    func(n string) string { return `Remove-Item Env:\\` + n },
	comment:  "#",
	quoteArg: func(a string) string { return quoteIfNeeded(a, powershellQuote) },
	wrap:     func(c string) string { return "& " + c + " | Invoke-Expression" },
}

// powershellQuote double-quotes v for PowerShell.
func powershellQuote(v string) string {
	r := strings.NewReplacer("`", "``", "$", "`$", `"`, "`\"",
		"\u201c", "`\u201c", "\u201d", "`\u201d", "\u201e", "`\u201e",
		"\n", "`n", "\r", "`r")
	return `"` + r.Replace(v) + `"`
}

var cmdShell = &shell{
	name:    "cmd",
	set:     cmdSet,
	unset:   func(n string) string { return "SET " + n + "=" },
	comment: "REM",
	// cmd cannot escape a " inside quotes; such arguments come out broken.
	quoteArg: func(a string) string { return quoteIfNeeded(a, func(s string) string { return `"` + s + `"` }) },
	wrap:     func(c string) string { return "\t@FOR /f \"tokens=*\" %i IN ('" + c + "') DO @%i" },
}

// cmdSet writes SET NAME=value, or SET "NAME=value" when the value holds
// characters special to cmd.
func cmdSet(n, v string) (string, error) {
	if strings.ContainsAny(v, "\"\r\n") {
		return "", fmt.Errorf("variable %s: cmd cannot set a value holding a double quote or a line break", n)
	}
	if strings.ContainsAny(v, "&|<>^()%!") || strings.TrimSpace(v) != v {
		return `SET "` + n + "=" + v + `"`, nil
	}
	return "SET " + n + "=" + v, nil
}

var tcshShell = &shell{
	name:     "tcsh",
	set:      tcshSet,
	unset:    func(n string) string { return "unsetenv " + n + ";" },
	comment:  ":",
	quoteArg: tcshArg,
	wrap:     func(c string) string { return "eval `" + c + "`" },
}

// tcshSet writes setenv NAME "value";, single-quoting values that csh's
// double quotes would not keep literal.
func tcshSet(n, v string) (string, error) {
	if strings.ContainsAny(v, "\r\n") {
		return "", fmt.Errorf("variable %s: tcsh output cannot hold a line break", n)
	}
	return "setenv " + n + " " + tcshQuote(v) + ";", nil
}

// tcshQuote double-quotes v, or single-quotes it when csh's double quotes
// would not keep it literal. History expansion sees a ! even inside single
// quotes, so each one is written outside them, escaped: 'a'\!'b'.
func tcshQuote(v string) string {
	if strings.ContainsAny(v, "$`\"\\!") {
		return `'` + strings.NewReplacer(`'`, `'\''`, `!`, `'\!'`).Replace(v) + `'`
	}
	return `"` + v + `"`
}

// tcshArg quotes a hint argument for tcsh.
func tcshArg(a string) string {
	if plainArg(a) {
		return a
	}
	return tcshQuote(a)
}

var emacsShell = &shell{
	name:    "emacs",
	set:     func(n, v string) (string, error) { return `(setenv "` + n + `" ` + lispString(v) + ")", nil },
	unset:   func(n string) string { return `(setenv "` + n + `" nil)` },
	comment: ";;",
	// The command line goes through /bin/sh inside a Lisp string, which
	// keeps newlines escaped on one line.
	quoteArg: posixShellArg,
	wrap: func(c string) string {
		return "(with-temp-buffer (shell-command " + lispString(c) + " (current-buffer)) (eval-buffer))"
	},
}

// lispString writes v as an Emacs Lisp string on one line.
func lispString(v string) string {
	return `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`, "\r", `\r`).Replace(v) + `"`
}

// quoteIfNeeded applies quote to a hint argument that is not plain.
func quoteIfNeeded(a string, quote func(string) string) string {
	if plainArg(a) {
		return a
	}
	return quote(a)
}
