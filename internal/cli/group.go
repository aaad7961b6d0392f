package cli

import (
	"context"
	"errors"
	"fmt"
	"os"

	"github.com/spf13/cobra"
	"github.com/ward-id/ward/client"
	"golang.org/x/term"
)

func groupCmd(g *Globals) *cobra.Command {
	cmd := &cobra.Command{Use: "group", Short: "Manage resource groups"}
	var name, location string
	var tags []string
	var yes bool

	create := &cobra.Command{
		Use: "create", Short: "Create a new resource group, or update an existing one",
		Args: cobra.ArbitraryArgs,
		PreRunE: func(cmd *cobra.Command, args []string) error {
			tags = append(tags, args...)
			return requireFlags(cmd, "name", "location")
		},
		RunE: g.run(func(ctx context.Context, c *client.Client, sub string) (any, error) {
			t, err := parseTags(tags)
			if err != nil {
				return nil, err
			}
			rg, _, err := c.CreateOrUpdateGroup(ctx, sub, name, location, t)
			return rg, err
		}),
	}
	create.Flags().StringVarP(&name, "name", "n", "", "name of the new resource group")
	create.Flags().StringVarP(&location, "location", "l", "", "location, e.g. westeurope")
	create.Flags().StringArrayVar(&tags, "tags", nil, "space-separated tags: key[=value]")

	show := &cobra.Command{
		Use: "show", Short: "Get a resource group",
		PreRunE: func(cmd *cobra.Command, args []string) error { return requireFlags(cmd, "name") },
		RunE: g.run(func(ctx context.Context, c *client.Client, sub string) (any, error) {
			return c.GetGroup(ctx, sub, name)
		}),
	}
	show.Flags().StringVarP(&name, "name", "n", "", "name of the resource group")

	list := &cobra.Command{
		Use: "list", Short: "List resource groups",
		RunE: g.run(func(ctx context.Context, c *client.Client, sub string) (any, error) {
			return c.ListGroups(ctx, sub)
		}),
	}

	del := &cobra.Command{
		Use: "delete", Short: "Delete a resource group and everything in it",
		PreRunE: func(cmd *cobra.Command, args []string) error {
			if err := requireFlags(cmd, "name"); err != nil {
				return err
			}
			if !yes && !term.IsTerminal(int(os.Stdin.Fd())) {
				return errors.New("deleting a resource group deletes everything in it: pass --yes/-y to confirm when not running interactively")
			}
			if !yes && !confirm(cmd, "Are you sure you want to perform this operation? (y/n): ") {
				return errors.New("operation cancelled")
			}
			return nil
		},
		RunE: g.run(func(ctx context.Context, c *client.Client, sub string) (any, error) {
			found, err := c.DeleteGroup(ctx, sub, name)
			if err == nil && !found {
				err = &client.Error{StatusCode: 404, Code: "ResourceGroupNotFound", Message: "Resource group '" + name + "' could not be found."}
			}
			return nil, err
		}),
	}
	del.Flags().StringVarP(&name, "name", "n", "", "name of the resource group")
	del.Flags().BoolVarP(&yes, "yes", "y", false, "do not prompt for confirmation")

	cmd.AddCommand(create, show, list, del)
	return cmd
}

func confirm(cmd *cobra.Command, prompt string) bool {
	cmd.PrintErr(prompt)
	var answer string
	_, _ = fmt.Fscanln(cmd.InOrStdin(), &answer)
	return answer == "y" || answer == "Y" || answer == "yes"
}
