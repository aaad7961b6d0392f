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
			"The browser session acts as that principal, with exactly its roles. It ends when the CLI's token expires (at most 8 hours), after 30 minutes idle,\n" +
			"at sign-out, or at once when the principal or the credential the CLI signed in with is removed. A session cannot make links: run ward console again.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := g.connect(cmd)
			if err != nil {
				return err
			}
			return runConsole(cmd.Context(), cmd.OutOrStdout(), cmd.ErrOrStderr(), c, open)
		},
	}
	cmd.Flags().BoolVar(&open, "open", false, "open the link in the default browser")
	return cmd
}

func runConsole(ctx context.Context, out, errOut io.Writer, c *conn, open bool) error {
	link, err := c.client.ConsoleLink(ctx)
	if err != nil {
		return explain(err, c.profile)
	}
	fmt.Fprintln(out, link.URL)
	if link.SessionExpiresOn != "" {
		fmt.Fprintf(errOut, "The link works once, until %s; the session it opens ends by %s, when this token expires.\n", link.ExpiresOn, link.SessionExpiresOn)
	}
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
