// Command ward is Ward's one binary: the server (ward serve) and the
// az-shaped management CLI.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/spf13/cobra"
	"github.com/ward-id/ward/internal/cli"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	root := newRoot()
	if err := cli.UnknownSubcommand(root, os.Args[1:]); err != nil {
		cli.FormatError(os.Stderr, err)
		os.Exit(2)
	}
	if err := root.ExecuteContext(ctx); err != nil {
		cli.FormatError(os.Stderr, err)
		os.Exit(1)
	}
}

// newRoot is the whole command tree: the server's commands and the CLI's.
func newRoot() *cobra.Command {
	root := &cobra.Command{
		Use:           "ward",
		Short:         "Ward: a self-hosted, Entra ID–compatible identity platform for workloads",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	g := &cli.Globals{}
	root.AddCommand(serveCmd(), webhookCmd(), benchCmd(), adminCmd())
	root.AddCommand(agentCmd())
	root.AddCommand(cli.Commands(g)...)
	return root
}
