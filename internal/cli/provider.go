package cli

import (
	"context"

	"github.com/spf13/cobra"
)

// `ward provider` and `ward feature`: resource-provider registration and
// preview features, as az has them. Ward serves every namespace it knows
// and has every feature on whatever their state: register and unregister
// only set the state that show and list read back (as Azure reports it),
// so that a guide's `az provider register` / `az feature register` lines,
// and scripts that undo them, run unchanged.

func providerCmd(g *Globals) *cobra.Command {
	cmd := &cobra.Command{Use: "provider", Short: "Resource providers: Ward serves every namespace it knows registered in every subscription"}
	cmd.AddCommand(
		g.command("register", "Register a resource provider (Ward serves it either way; kept for az compatibility)", &providerRegister{}),
		g.command("unregister", "Unregister a resource provider (Ward serves it either way; kept for az compatibility)", &providerUnregister{}),
		g.command("show", "Show a resource provider's registration and resource types", &providerShow{}),
		g.command("list", "List resource providers", &providerList{}))
	return cmd
}

// providerNamespace is --namespace/-n of one provider.
type providerNamespace struct{ namespace string }

func (r *providerNamespace) flags(cmd *cobra.Command) {
	cmd.Flags().StringVarP(&r.namespace, "namespace", "n", "", "resource provider namespace, e.g. Microsoft.ContainerService")
}

func (r *providerNamespace) check(cmd *cobra.Command) error { return requireFlags(cmd, "namespace") }

// providerRegister is `ward provider register`; like az, it prints nothing.
type providerRegister struct {
	providerNamespace
	wait bool
}

func (v *providerRegister) flags(cmd *cobra.Command) {
	v.providerNamespace.flags(cmd)
	cmd.Flags().BoolVar(&v.wait, "wait", false, "accepted for az compatibility: registration in Ward is immediate")
}

func (*providerRegister) inSubscription() {}

func (v *providerRegister) run(ctx context.Context, _ env, c *conn) (any, error) {
	_, err := c.client.RegisterProvider(ctx, c.sub, v.namespace)
	return nil, err
}

// providerUnregister is `ward provider unregister`; like az, it prints
// nothing.
type providerUnregister struct {
	providerNamespace
	wait bool
}

func (v *providerUnregister) flags(cmd *cobra.Command) {
	v.providerNamespace.flags(cmd)
	cmd.Flags().BoolVar(&v.wait, "wait", false, "accepted for az compatibility: unregistration in Ward is immediate")
}

func (*providerUnregister) inSubscription() {}

func (v *providerUnregister) run(ctx context.Context, _ env, c *conn) (any, error) {
	_, err := c.client.UnregisterProvider(ctx, c.sub, v.namespace)
	return nil, err
}

// providerShow is `ward provider show`.
type providerShow struct{ providerNamespace }

func (*providerShow) inSubscription() {}

func (v *providerShow) run(ctx context.Context, _ env, c *conn) (any, error) {
	return c.client.GetProvider(ctx, c.sub, v.namespace)
}

// providerList is `ward provider list`.
type providerList struct{}

func (*providerList) flags(*cobra.Command) {}

func (*providerList) inSubscription() {}

func (v *providerList) run(ctx context.Context, _ env, c *conn) (any, error) {
	return c.client.ListProviders(ctx, c.sub)
}

func featureCmd(g *Globals) *cobra.Command {
	cmd := &cobra.Command{Use: "feature", Short: "Preview features: Ward has every feature on"}
	cmd.AddCommand(
		g.command("register", "Register a preview feature (on in Ward either way; kept for az compatibility)", &featureRegister{}),
		g.command("unregister", "Unregister a preview feature (on in Ward either way; kept for az compatibility)", &featureUnregister{}),
		g.command("show", "Show a preview feature's state", &featureShow{}),
		g.command("list", "List preview features", &featureList{}))
	return cmd
}

// featureName is --namespace and --name/-n of one feature.
type featureName struct{ namespace, name string }

func (r *featureName) flags(cmd *cobra.Command) {
	cmd.Flags().StringVar(&r.namespace, "namespace", "", "resource provider namespace, e.g. Microsoft.ContainerService")
	cmd.Flags().StringVarP(&r.name, "name", "n", "", "feature name, e.g. EnableWorkloadIdentityPreview")
}

func (r *featureName) check(cmd *cobra.Command) error { return requireFlags(cmd, "namespace", "name") }

// featureRegister is `ward feature register`.
type featureRegister struct{ featureName }

func (*featureRegister) inSubscription() {}

func (v *featureRegister) run(ctx context.Context, _ env, c *conn) (any, error) {
	return c.client.RegisterFeature(ctx, c.sub, v.namespace, v.name)
}

// featureUnregister is `ward feature unregister`.
type featureUnregister struct{ featureName }

func (*featureUnregister) inSubscription() {}

func (v *featureUnregister) run(ctx context.Context, _ env, c *conn) (any, error) {
	return c.client.UnregisterFeature(ctx, c.sub, v.namespace, v.name)
}

// featureShow is `ward feature show`.
type featureShow struct{ featureName }

func (*featureShow) inSubscription() {}

func (v *featureShow) run(ctx context.Context, _ env, c *conn) (any, error) {
	return c.client.GetFeature(ctx, c.sub, v.namespace, v.name)
}

// featureList is `ward feature list`.
type featureList struct{ namespace string }

func (v *featureList) flags(cmd *cobra.Command) {
	cmd.Flags().StringVar(&v.namespace, "namespace", "", "only this resource provider namespace's features")
}

func (*featureList) inSubscription() {}

func (v *featureList) run(ctx context.Context, _ env, c *conn) (any, error) {
	return c.client.ListFeatures(ctx, c.sub, v.namespace)
}
