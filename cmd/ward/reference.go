package main

import (
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"
)

// writeReference writes the command reference (docs/cli.md) from the
// command tree itself, so the reference cannot drift from the flags the
// binary takes: every command in the order help lists it, its usage line,
// what it does, and its flags with their defaults (a group's persistent
// flags once, under the group).
func writeReference(w io.Writer, root *cobra.Command) error {
	var b strings.Builder
	b.WriteString("# Command reference\n\n")
	b.WriteString("Generated from `ward`'s command tree by `go test ./cmd/ward -run TestCLIReference -update`;\n")
	b.WriteString("do not edit by hand. `ward <command> --help` prints the same.\n\n")
	var walk func(c *cobra.Command)
	walk = func(c *cobra.Command) {
		for _, sub := range c.Commands() {
			if !sub.IsAvailableCommand() {
				continue
			}
			fmt.Fprintf(&b, "## %s\n\n%s\n\n", sub.CommandPath(), strings.TrimSpace(sub.Short))
			if sub.Runnable() {
				fmt.Fprintf(&b, "```\n%s\n```\n\n", sub.UseLine())
			}
			if flags := sub.LocalNonPersistentFlags().FlagUsages(); flags != "" {
				fmt.Fprintf(&b, "```\n%s```\n\n", flags)
			}
			if flags := sub.PersistentFlags().FlagUsages(); flags != "" {
				fmt.Fprintf(&b, "Every `%s` command also takes:\n\n```\n%s```\n\n", sub.CommandPath(), flags)
			}
			walk(sub)
		}
	}
	walk(root)
	_, err := io.WriteString(w, strings.TrimRight(b.String(), "\n")+"\n")
	return err
}
