package cli

import (
	"context"
	"fmt"
	"io"
	"os/exec"
	"runtime"

	"github.com/spf13/cobra"
)

// consoleCmd is `ward console`: a one-time link to the web console, signed
// in as the principal the CLI acts as.
func consoleCmd(g *Globals) *cobra.Command {
	var open bool
	cmd := &cobra.Command{
		Use:   "console",
		Short: "Print a one-time link that signs a browser in to the Ward console as the CLI's principal (valid once, for two minutes)",
		Long: "ward console asks the server for a one-time sign-in link with the CLI's current credentials and prints it (--open opens it).\n" +
			"The browser session acts as that principal, with exactly its roles; it ends after 30 minutes idle, 8 hours in all, or at sign-out.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := g.connect(cmd)
			if err != nil {
				return err
			}
			return runConsole(cmd.Context(), cmd.OutOrStdout(), c, open)
		},
	}
	cmd.Flags().BoolVar(&open, "open", false, "open the link in the default browser")
	return cmd
}

func runConsole(ctx context.Context, out io.Writer, c *conn, open bool) error {
	link, err := c.client.ConsoleLink(ctx)
	if err != nil {
		return explain(err, c.profile)
	}
	fmt.Fprintln(out, link.URL)
	if open {
		name, args := "xdg-open", []string{link.URL}
		switch runtime.GOOS {
		case "darwin":
			name = "open"
		case "windows":
			name, args = "rundll32", []string{"url.dll,FileProtocolHandler", link.URL}
		}
		if err := exec.CommandContext(ctx, name, args...).Start(); err != nil {
			return fmt.Errorf("open the link: %w (open it yourself; it works once, for two minutes)", err)
		}
	}
	return nil
}
