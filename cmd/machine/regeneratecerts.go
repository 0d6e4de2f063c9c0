package main

import (
	"fmt"
	"strings"

	"github.com/urfave/cli/v2"
)

func regenerateCertsCommand(env *cliEnv) *cli.Command {
	return &cli.Command{
		Name:  "regenerate-certs",
		Usage: "Regenerate TLS certificates for machines",
		Description: "Gives each machine a new server certificate for its current address, its name and its --tls-san names,\n" +
			"and restarts dockerd on it. It mends a machine whose address changed.",
		ArgsUsage: "NAME...",
		Flags: []cli.Flag{
			&cli.BoolFlag{Name: "force", Aliases: []string{"f"}, Usage: "do not ask for confirmation"},
			&cli.BoolFlag{Name: "client-certs", Usage: "also renew the store's CA and client certificate (the other machines then need regenerate-certs too)"},
		},
		Action: func(c *cli.Context) error {
			api, err := env.machine(c)
			if err != nil {
				return err
			}
			list := names(c)
			clientCerts := c.Bool("client-certs")
			others, err := api.CheckRegenerate(list, clientCerts)
			if err != nil {
				return err
			}
			if clientCerts {
				fmt.Fprint(env.stderr, clientCertsWarning(others))
			}
			if !c.Bool("force") {
				fmt.Fprintf(env.stderr, "About to regenerate the TLS certificates of %s: dockerd restarts on the new certificate, stopping the containers that have no restart policy.\n", strings.Join(list, ", "))
				ok, err := askYesNo(c.Context, env, "no certificates regenerated", "pass -f to regenerate without asking")
				if err != nil {
					return err
				}
				if !ok {
					return fmt.Errorf("not confirmed: no certificates regenerated (pass -f to regenerate without asking)")
				}
			}
			if clientCerts {
				if err := api.RenewStoreCerts(); err != nil {
					return err
				}
			}
			return eachMachine(list, func(name string) error {
				if err := api.RegenerateCerts(c.Context, name); err != nil {
					return err
				}
				fmt.Fprintf(env.stderr, "Regenerated the certificates of %s.\n", name)
				return nil
			})
		},
	}
}

// clientCertsWarning says what renewing the store's CA means for the
// machines others, whose server certificates the old CA signed.
func clientCertsWarning(others []string) string {
	const what = "WARNING: --client-certs replaces the store's CA and client certificate.\n"
	if len(others) == 0 {
		return what + "No other machine's certificate was signed by the old CA.\n"
	}
	return what + fmt.Sprintf("The server certificates of %s were signed by the old CA: they need new ones too. Until you run\n"+
		"  machine regenerate-certs %s\n"+
		"env, ls and config refuse them, and dockerd on them refuses the new client certificate.\n",
		strings.Join(others, ", "), strings.Join(others, " "))
}
