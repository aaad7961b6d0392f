package cli

import (
	"context"
	"io"

	"github.com/spf13/cobra"
)

// verb is one command: a struct that owns its flags and a run that talks
// to the server only through the connection, so that what a verb checks,
// parses and renders is tested without a server (internal/cli), and its
// flows against a running server end to end (test/e2e/cli_verbs_test.go).
type verb interface {
	// flags registers the verb's flags on cmd, bound to its own fields.
	flags(cmd *cobra.Command)
	// run does the work; a non-nil result is rendered with -o/--query.
	run(ctx context.Context, e env, c *conn) (any, error)
}

// checker is a verb that validates its flags before connecting (cobra's
// PreRunE): missing required flags fail without reading credentials.
type checker interface {
	check(cmd *cobra.Command) error
}

// subscriber is a verb that acts in a subscription: runVerb refuses to run
// it, saying how to select one, when none is, so that its run may use
// c.sub (never an empty ID that would produce /subscriptions//...).
type subscriber interface {
	inSubscription()
}

// runVerb runs v, after checking the subscription a subscriber needs.
func runVerb(ctx context.Context, v verb, e env, c *conn) (any, error) {
	if _, ok := v.(subscriber); ok {
		if _, err := c.subscription(); err != nil {
			return nil, err
		}
	}
	return v.run(ctx, e, c)
}

// wordTaker is a verb that reads positional words, as az reads stray words
// after --tags as more tags; it gets them before check.
type wordTaker interface {
	words(args []string)
}

// env is what a verb's run may use besides the API.
type env struct {
	out    io.Writer // where results that are not rendered go (manifests, flags)
	errOut io.Writer // warnings
	// changed reports whether the flag name was given on the command line.
	changed func(name string) bool
}

// command builds the cobra command of a verb.
func (g *Globals) command(use, short string, v verb) *cobra.Command {
	cmd := &cobra.Command{Use: use, Short: short}
	v.flags(cmd)
	wt, takesWords := v.(wordTaker)
	ch, checks := v.(checker)
	if takesWords {
		cmd.Args = cobra.ArbitraryArgs
	}
	if takesWords || checks {
		cmd.PreRunE = func(cmd *cobra.Command, args []string) error {
			if takesWords {
				wt.words(args)
			}
			if checks {
				return ch.check(cmd)
			}
			return nil
		}
	}
	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		e := env{out: cmd.OutOrStdout(), errOut: cmd.ErrOrStderr(), changed: cmd.Flags().Changed}
		return g.runConn(func(ctx context.Context, c *conn) (any, error) { return runVerb(ctx, v, e, c) })(cmd, args)
	}
	return cmd
}

// noArgs makes cmd refuse positional words.
func noArgs(cmd *cobra.Command) *cobra.Command {
	cmd.Args = cobra.NoArgs
	return cmd
}

// viewsOf renders a client list call's items as az prints them ([] for
// none), or passes on its error.
func viewsOf[T any](view func(T) map[string]any) func([]T, error) (any, error) {
	return func(items []T, err error) (any, error) {
		if err != nil {
			return nil, err
		}
		return views(items, view), nil
	}
}

// inGroup is a list verb's -g: one resource group, or the whole
// subscription.
type inGroup struct{ group string }

func (v *inGroup) flags(cmd *cobra.Command) {
	cmd.Flags().StringVarP(&v.group, "resource-group", "g", "", "resource group (default: the whole subscription)")
}

func (*inGroup) inSubscription() {}

// viewOf renders a client call's result as az prints it, or passes on
// its error: return viewOf(identityView)(c.client.GetIdentity(...)).
func viewOf[T any](view func(T) map[string]any) func(T, error) (any, error) {
	return func(x T, err error) (any, error) {
		if err != nil {
			return nil, err
		}
		return view(x), nil
	}
}
