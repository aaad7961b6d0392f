package cli

import (
	"fmt"
	"strings"

	"github.com/spf13/cobra"
)

// UnknownSubcommand refuses a command line that names a subcommand a
// command group does not have. Cobra only checks this at the root: below
// it, 'ward role definition frobnicate --help' would print the group's help
// and 'ward role definition frobnicate' would exit 0, as if the command
// existed.
func UnknownSubcommand(root *cobra.Command, args []string) error {
	cmd, rest, err := root.Find(args)
	if err != nil || cmd == root || !cmd.HasSubCommands() || cmd.Runnable() {
		return nil // cobra reports these itself
	}
	words := positional(cmd, rest)
	if len(words) == 0 {
		return nil
	}
	var names []string
	for _, c := range cmd.Commands() {
		if c.IsAvailableCommand() {
			names = append(names, c.Name())
		}
	}
	msg := fmt.Sprintf("%q is not a command of %q", words[0], cmd.CommandPath())
	if cmd.SuggestionsMinimumDistance <= 0 {
		cmd.SuggestionsMinimumDistance = 2
	}
	if s := cmd.SuggestionsFor(words[0]); len(s) > 0 {
		msg += fmt.Sprintf("; did you mean %s?", strings.Join(s, " or "))
	}
	return fmt.Errorf("%s (its commands: %s; see '%s --help')", msg, strings.Join(names, ", "), cmd.CommandPath())
}

// positional returns the arguments that are neither flags nor flag values,
// reading flags as cmd (with its inherited flags) declares them; an unknown
// flag takes the next word as its value unless that starts with '-', as
// pflag reads unknown flags.
func positional(cmd *cobra.Command, args []string) []string {
	takesValue := func(long, short string) (known, value bool) {
		f := cmd.Flags().Lookup(long)
		if f == nil && long != "" {
			f = cmd.InheritedFlags().Lookup(long)
		}
		if f == nil && short != "" {
			if f = cmd.Flags().ShorthandLookup(short); f == nil {
				f = cmd.InheritedFlags().ShorthandLookup(short)
			}
		}
		if f == nil {
			return false, false
		}
		return true, f.NoOptDefVal == ""
	}
	var out []string
	for i := 0; i < len(args); i++ {
		a := args[i]
		switch {
		case a == "--":
			return append(out, args[i+1:]...)
		case strings.HasPrefix(a, "--"):
			if strings.Contains(a, "=") || a == "--help" {
				continue
			}
			known, value := takesValue(a[2:], "")
			if (known && value) || (!known && i+1 < len(args) && !strings.HasPrefix(args[i+1], "-")) {
				i++
			}
		case strings.HasPrefix(a, "-") && len(a) > 1:
			if len(a) > 2 || a == "-h" {
				continue // -ovalue, or help
			}
			known, value := takesValue("", a[1:])
			if (known && value) || (!known && i+1 < len(args) && !strings.HasPrefix(args[i+1], "-")) {
				i++
			}
		default:
			out = append(out, a)
		}
	}
	return out
}
