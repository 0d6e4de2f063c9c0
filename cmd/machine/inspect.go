package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
	"text/template"

	"github.com/urfave/cli/v2"
)

func inspectCommand(env *cliEnv) *cli.Command {
	return &cli.Command{
		Name:      "inspect",
		Usage:     "Print a machine's configuration as JSON",
		ArgsUsage: "[NAME]",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "format", Aliases: []string{"f"}, Usage: "Go template over the config (e.g. '{{.Driver.IPAddress}}'; funcs: json, prettyjson)"},
		},
		Action: func(c *cli.Context) error {
			api, name, err := env.oneMachine(c)
			if err != nil {
				return err
			}
			h, err := api.Store.Load(name)
			if err != nil {
				return err
			}
			raw, err := json.Marshal(h)
			if err != nil {
				return err
			}
			out, err := renderInspect(raw, c.String("format"))
			if err != nil {
				return err
			}
			_, err = env.stdout.Write(out)
			return err
		},
	}
}

// renderInspect prints a machine's config as indented JSON, or through a
// template evaluated over the decoded config.
func renderInspect(raw []byte, format string) ([]byte, error) {
	if format == "" {
		var buf bytes.Buffer
		if err := json.Indent(&buf, raw, "", "    "); err != nil {
			return nil, err
		}
		buf.WriteByte('\n')
		return buf.Bytes(), nil
	}
	funcs := template.FuncMap{
		"json": func(v any) (string, error) {
			b, err := json.Marshal(v)
			return string(b), err
		},
		"prettyjson": func(v any) (string, error) {
			b, err := json.MarshalIndent(v, "", "    ")
			return string(b), err
		},
	}
	tmpl, err := template.New("inspect").Funcs(funcs).Option("missingkey=error").Parse(format)
	if err != nil {
		return nil, fmt.Errorf("--format: %w", err)
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var v map[string]any
	if err := dec.Decode(&v); err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	if err := tmpl.Execute(&buf, v); err != nil {
		return nil, fmt.Errorf("--format: %s", strings.TrimPrefix(err.Error(), "template: "))
	}
	buf.WriteByte('\n')
	return buf.Bytes(), nil
}
