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
	cmd.AddCommand(
		g.command("create", "Create a new resource group, or update an existing one", &groupCreate{}),
		g.command("show", "Get a resource group", &groupShow{}),
		g.command("list", "List resource groups", &groupList{}),
		g.command("delete", "Delete a resource group and everything in it", &groupDelete{}))
	return cmd
}

// groupName is --name/-n of one resource group.
type groupName struct{ name string }

func (r *groupName) flags(cmd *cobra.Command) {
	cmd.Flags().StringVarP(&r.name, "name", "n", "", "name of the resource group")
}

func (r *groupName) check(cmd *cobra.Command) error { return requireFlags(cmd, "name") }

// groupCreate is `ward group create`.
type groupCreate struct {
	tagWords
	name, location string
}

func (v *groupCreate) flags(cmd *cobra.Command) {
	cmd.Flags().StringVarP(&v.name, "name", "n", "", "name of the new resource group")
	cmd.Flags().StringVarP(&v.location, "location", "l", "", "location, e.g. westeurope")
	v.tagWords.bind(cmd, "space-separated tags: key[=value]")
}

func (v *groupCreate) check(cmd *cobra.Command) error {
	return requireFlags(cmd, "name", "location")
}

func (*groupCreate) inSubscription() {}

func (v *groupCreate) run(ctx context.Context, _ env, c *conn) (any, error) {
	t, err := parseTags(v.tags)
	if err != nil {
		return nil, err
	}
	rg, _, err := c.client.CreateOrUpdateGroup(ctx, c.sub, v.name, v.location, t)
	return rg, err
}

// groupShow is `ward group show`.
type groupShow struct{ groupName }

func (*groupShow) inSubscription() {}

func (v *groupShow) run(ctx context.Context, _ env, c *conn) (any, error) {
	return c.client.GetGroup(ctx, c.sub, v.name)
}

// groupList is `ward group list`.
type groupList struct{}

func (v *groupList) flags(*cobra.Command) {}

func (*groupList) inSubscription() {}

func (v *groupList) run(ctx context.Context, _ env, c *conn) (any, error) {
	return c.client.ListGroups(ctx, c.sub)
}

// groupDelete is `ward group delete`: it asks first, unless --yes.
type groupDelete struct {
	groupName
	yes bool
}

func (v *groupDelete) flags(cmd *cobra.Command) {
	v.groupName.flags(cmd)
	cmd.Flags().BoolVarP(&v.yes, "yes", "y", false, "do not prompt for confirmation")
}

func (v *groupDelete) check(cmd *cobra.Command) error {
	if err := v.groupName.check(cmd); err != nil {
		return err
	}
	if !v.yes && !term.IsTerminal(int(os.Stdin.Fd())) {
		return errors.New("deleting a resource group deletes everything in it: pass --yes/-y to confirm when not running interactively")
	}
	if !v.yes && !confirm(cmd, "Are you sure you want to perform this operation? (y/n): ") {
		return errors.New("operation cancelled")
	}
	return nil
}

func (*groupDelete) inSubscription() {}

func (v *groupDelete) run(ctx context.Context, _ env, c *conn) (any, error) {
	found, err := c.client.DeleteGroup(ctx, c.sub, v.name)
	if err == nil && !found {
		err = &client.Error{StatusCode: 404, Code: "ResourceGroupNotFound", Message: "Resource group '" + v.name + "' could not be found."}
	}
	return nil, err
}

func confirm(cmd *cobra.Command, prompt string) bool {
	cmd.PrintErr(prompt)
	var answer string
	_, _ = fmt.Fscanln(cmd.InOrStdin(), &answer)
	return answer == "y" || answer == "Y" || answer == "yes"
}
