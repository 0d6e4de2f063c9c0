package main

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"reflect"
	"regexp"
	"strings"
	"text/tabwriter"
	"text/template"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/machine-cli/machine/drivers"
	"github.com/machine-cli/machine/libmachine"
)

// lsDefaultFormat is docker-machine's table.
const lsDefaultFormat = "table {{.Name}}\t{{.Active}}\t{{.DriverName}}\t{{.State}}\t{{.URL}}\t{{.Swarm}}\t{{.DockerVersion}}\t{{.Error}}"

// lsHeaders are the column titles of a "table" format, by field, as
// docker-machine's.
var lsHeaders = map[string]string{
	"Name": "NAME", "Active": "ACTIVE", "ActiveHost": "ACTIVE_HOST", "ActiveSwarm": "ACTIVE_SWARM",
	"DriverName": "DRIVER", "State": "STATE", "URL": "URL", "Swarm": "SWARM", "Error": "ERRORS",
	"DockerVersion": "DOCKER", "ResponseTime": "RESPONSE",
}

func lsCommand(env *cliEnv) *cli.Command {
	return &cli.Command{
		Name:  "ls",
		Usage: "List machines",
		Flags: []cli.Flag{
			&cli.BoolFlag{Name: "quiet", Aliases: []string{"q"}, Usage: "print machine names only"},
			&cli.IntFlag{Name: "timeout", Aliases: []string{"t"}, Value: 10, Usage: "seconds to wait for each machine (all are asked at once)"},
			&cli.StringFlag{Name: "format", Aliases: []string{"f"}, Usage: "Go template for each machine, \"table ...\" for columns with titles (fields: .Name .Active .ActiveHost .ActiveSwarm .DriverName .State .URL .Swarm .DockerVersion .Error .ResponseTime)"},
			&cli.StringSliceFlag{Name: "filter", Usage: "filter `KEY=VALUE` on name (a regular expression), driver, state, swarm (the swarm's first machine) or label (an engine label, KEY or KEY=VALUE); repeatable"},
		},
		Action: func(c *cli.Context) error {
			if c.NArg() > 0 {
				return fmt.Errorf("ls takes no arguments, got %q; use --filter name=NAME", strings.Join(c.Args().Slice(), " "))
			}
			filter, err := libmachine.ParseFilter(c.StringSlice("filter"))
			if err != nil {
				return err
			}
			if c.Int("timeout") < 1 {
				return fmt.Errorf("--timeout %d: give the seconds to wait for each machine, 1 or more", c.Int("timeout"))
			}
			timeout := time.Duration(c.Int("timeout")) * time.Second
			format, err := parseLSFormat(c.String("format"))
			if err != nil {
				return err
			}
			api, err := env.machine(c)
			if err != nil {
				return err
			}
			if c.Bool("quiet") {
				names, err := api.Names(c.Context, timeout, filter)
				if err != nil {
					return err
				}
				for _, n := range names {
					fmt.Fprintln(env.stdout, n)
				}
				return nil
			}
			st, err := api.List(c.Context, timeout, filter)
			if err != nil {
				return err
			}
			return format.render(env.stdout, lsRows(st, os.Getenv("DOCKER_HOST")))
		},
	}
}

// lsRow is one line of `ls`, with docker-machine's field names for -f.
type lsRow struct {
	Name, Active, DriverName, State, URL, Swarm, DockerVersion, Error string
	// ActiveHost is whether DOCKER_HOST points at the machine.
	ActiveHost bool
	// ActiveSwarm is whether DOCKER_HOST points at the machine and it
	// manages its swarm, so that docker's swarm commands reach the swarm.
	ActiveSwarm bool
	// ResponseTime is how long the machine took to answer.
	ResponseTime time.Duration
}

// lsRows turns statuses into rows, marking the ones DOCKER_HOST points at.
func lsRows(st []libmachine.Status, dockerHost string) []lsRow {
	rows := make([]lsRow, 0, len(st))
	for _, s := range st {
		r := lsRow{Name: s.Name, Active: "-", DriverName: s.DriverName, State: s.State.String(),
			URL: s.URL, Swarm: s.Swarm, DockerVersion: s.DockerVersion, Error: s.Error, ResponseTime: s.ResponseTime}
		// As docker-machine: only a running machine is active.
		if s.State == drivers.Running && s.URL != "" && s.URL == dockerHost {
			r.Active, r.ActiveHost, r.ActiveSwarm = "*", true, s.Manager
		}
		if r.DriverName == "" {
			r.DriverName = "unknown"
		}
		rows = append(rows, r)
	}
	return rows
}

// lsFormat is a parsed --format.
type lsFormat struct {
	tmpl *template.Template
	// table is set for "table ..." formats: columns aligned, with titles.
	table bool
}

// parseLSFormat reads --format as docker-machine does: an optional "table"
// prefix, and the two-character sequences \t and \n standing for a tab and
// a newline. Each machine's line ends with a newline.
func parseLSFormat(format string) (lsFormat, error) {
	if format == "" {
		format = lsDefaultFormat
	}
	var f lsFormat
	if rest, ok := strings.CutPrefix(format, "table"); ok {
		f.table, format = true, rest
	}
	format = strings.NewReplacer(`\t`, "\t", `\n`, "\n").Replace(strings.Trim(format, " "))
	tmpl, err := template.New("ls").Option("missingkey=error").Parse(format + "\n")
	if err != nil {
		return lsFormat{}, fmt.Errorf("--format: %w", err)
	}
	f.tmpl = tmpl
	// A field that does not exist fails here, before any machine is asked.
	if err := f.render(io.Discard, []lsRow{{}}); err != nil {
		if m := unknownField.FindStringSubmatch(err.Error()); m != nil {
			return lsFormat{}, fmt.Errorf("--format: no field .%s; the fields are %s", m[1], strings.Join(lsFields(), " "))
		}
		return lsFormat{}, err
	}
	return f, nil
}

// unknownField picks the field's name out of text/template's error for a
// field that does not exist.
var unknownField = regexp.MustCompile(`can't evaluate field (\w+) in type`)

// lsFields are the fields --format can use, as ".Name".
func lsFields() []string {
	t := reflect.TypeFor[lsRow]()
	fields := make([]string, t.NumField())
	for i := range fields {
		fields[i] = "." + t.Field(i).Name
	}
	return fields
}

// render prints rows with f: a table has a title line and aligned columns.
// Nothing is written unless every row renders.
func (f lsFormat) render(w io.Writer, rows []lsRow) error {
	var buf bytes.Buffer
	var out io.Writer = &buf
	var tw *tabwriter.Writer
	if f.table {
		tw = tabwriter.NewWriter(&buf, 5, 1, 3, ' ', 0)
		out = tw
		if err := f.tmpl.Execute(out, lsHeaders); err != nil {
			return fmt.Errorf("--format: %w", err)
		}
	}
	for _, r := range rows {
		if err := f.tmpl.Execute(out, r); err != nil {
			return fmt.Errorf("--format: %w", err)
		}
	}
	if tw != nil {
		if err := tw.Flush(); err != nil {
			return err
		}
	}
	_, err := w.Write(buf.Bytes())
	return err
}
