package main

import (
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"text/tabwriter"
	"text/template"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/machine-cli/machine/libmachine"
)

func lsCommand(env *cliEnv) *cli.Command {
	return &cli.Command{
		Name:  "ls",
		Usage: "List machines",
		Flags: []cli.Flag{
			&cli.BoolFlag{Name: "quiet", Aliases: []string{"q"}, Usage: "print machine names only"},
			&cli.IntFlag{Name: "timeout", Aliases: []string{"t"}, Value: 10, Usage: "seconds to wait for each machine's state"},
			&cli.StringFlag{Name: "format", Aliases: []string{"f"}, Usage: "Go template for each machine (fields: .Name .Active .DriverName .State .URL .Swarm .DockerVersion .Error)"},
			&cli.StringSliceFlag{Name: "filter", Usage: "filter `KEY=VALUE` on name, driver, state, swarm (the swarm's first machine) or label (an engine label, key=value); repeatable"},
		},
		Action: func(c *cli.Context) error {
			if c.NArg() > 0 {
				return fmt.Errorf("ls takes no arguments, got %q; use --filter name=NAME", strings.Join(c.Args().Slice(), " "))
			}
			filters, err := parseFilters(c.StringSlice("filter"))
			if err != nil {
				return err
			}
			var tmpl *template.Template
			if f := c.String("format"); f != "" {
				if tmpl, err = template.New("ls").Parse(f); err != nil {
					return fmt.Errorf("--format: %w", err)
				}
			}
			api, err := env.machine(c)
			if err != nil {
				return err
			}
			if c.Bool("quiet") && len(filters) == 0 {
				names, err := api.Store.List()
				if err != nil {
					return err
				}
				for _, n := range names {
					fmt.Fprintln(env.stdout, n)
				}
				return nil
			}
			st, err := api.List(c.Context, time.Duration(c.Int("timeout"))*time.Second)
			if err != nil {
				return err
			}
			rows := lsRows(st, os.Getenv("DOCKER_HOST"), filters)
			switch {
			case c.Bool("quiet"):
				for _, r := range rows {
					fmt.Fprintln(env.stdout, r.Name)
				}
				return nil
			case tmpl != nil:
				for _, r := range rows {
					if err := tmpl.Execute(env.stdout, r); err != nil {
						return fmt.Errorf("--format: %w", err)
					}
					fmt.Fprintln(env.stdout)
				}
				return nil
			}
			return renderLS(env.stdout, rows)
		},
	}
}

// lsRow is one line of `ls`, with docker-machine's field names for -f.
type lsRow struct {
	Name, Active, DriverName, State, URL, Swarm, DockerVersion, Error string

	labels  []string
	cluster string
}

// lsRows turns statuses into rows, marking the one DOCKER_HOST points at.
func lsRows(st []libmachine.Status, dockerHost string, filters map[string][]string) []lsRow {
	var rows []lsRow
	for _, s := range st {
		r := lsRow{Name: s.Name, Active: "-", DriverName: s.DriverName, State: s.State.String(),
			URL: s.URL, Swarm: s.Swarm, DockerVersion: s.DockerVersion, Error: s.Error,
			labels: s.Labels, cluster: s.Cluster}
		if s.URL != "" && s.URL == dockerHost {
			r.Active = "*"
		}
		if r.DriverName == "" {
			r.DriverName = "unknown"
		}
		if matches(r, filters) {
			rows = append(rows, r)
		}
	}
	return rows
}

// filterKeys are the keys --filter takes, as docker-machine's.
var filterKeys = []string{"name", "driver", "state", "swarm", "label"}

func parseFilters(in []string) (map[string][]string, error) {
	out := map[string][]string{}
	for _, f := range in {
		k, v, ok := strings.Cut(f, "=")
		k = strings.ToLower(k)
		if !ok || !slices.Contains(filterKeys, k) || v == "" {
			return nil, fmt.Errorf("--filter %q: use name=NAME, driver=DRIVER, state=STATE, swarm=NAME or label=KEY=VALUE", f)
		}
		out[k] = append(out[k], v)
	}
	return out, nil
}

// matches reports whether a row passes the filters: any value of a key
// matches, and every key must.
func matches(r lsRow, filters map[string][]string) bool {
	for k, vals := range filters {
		hit := false
		for _, v := range vals {
			switch k {
			case "name":
				hit = hit || strings.EqualFold(r.Name, v)
			case "driver":
				hit = hit || strings.EqualFold(r.DriverName, v)
			case "state":
				hit = hit || strings.EqualFold(r.State, v)
			case "swarm":
				hit = hit || r.cluster == v
			case "label":
				hit = hit || slices.Contains(r.labels, v)
			}
		}
		if !hit {
			return false
		}
	}
	return true
}

// renderLS prints the table docker-machine prints.
func renderLS(w io.Writer, rows []lsRow) error {
	tw := tabwriter.NewWriter(w, 5, 1, 3, ' ', 0)
	fmt.Fprintln(tw, "NAME\tACTIVE\tDRIVER\tSTATE\tURL\tSWARM\tDOCKER\tERRORS")
	for _, r := range rows {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", r.Name, r.Active, r.DriverName, r.State, r.URL, r.Swarm, r.DockerVersion, r.Error)
	}
	return tw.Flush()
}
