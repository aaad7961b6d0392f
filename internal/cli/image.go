package cli

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
	"github.com/spf13/cobra"
	"github.com/ward-id/ward/client"
	"github.com/ward-id/ward/internal/wardimage"
)

func imageCmd(g *Globals) *cobra.Command {
	cmd := &cobra.Command{Use: "image", Short: "Ward's own container image, built without a container daemon"}
	cmd.AddCommand(imageBuildCmd(g))
	return cmd
}

// imageBuild is `ward image build`: the OCI image of a static ward binary
// (this one by default), written to a file and/or pushed to a Ward
// registry as the signed-in identity.
type imageBuild struct {
	binary, caFile, output, push, acr, group string
}

func imageBuildCmd(g *Globals) *cobra.Command {
	v := &imageBuild{}
	cmd := &cobra.Command{Use: "build", Args: cobra.NoArgs,
		Short: "Build the OCI image of ward (one layer: the binary as /ward, and a CA bundle) and write it to a file or push it to a registry",
		Example: "  ward image build --acr myregistry                         # pushes <login server>/ward:" + wardimage.Tag() + "\n" +
			"  ward image build --push myregistry.azurecr.localhost:8443/ward:v1 --ca-file ca.pem\n" +
			"  ward image build --output ward.tar                         # docker load / crane push / ctr image import",
		PreRunE: func(cmd *cobra.Command, _ []string) error { return v.check() },
		RunE: func(cmd *cobra.Command, _ []string) error {
			if v.push == "" && v.acr == "" {
				res, err := v.run(cmd.Context(), nil)
				if err != nil {
					return err
				}
				return render(cmd.OutOrStdout(), res, g.Output, g.Query)
			}
			return g.runConn(func(ctx context.Context, c *conn) (any, error) { return v.run(ctx, c) })(cmd, nil)
		}}
	f := cmd.Flags()
	f.StringVar(&v.binary, "binary", "", "the ward binary to put in the image: static, for Linux (default: this ward)")
	f.StringVar(&v.caFile, "ca-file", "", "PEM bundle installed at "+wardimage.CABundlePath+" (e.g. Ward's ca.pem, or the system bundle plus it)")
	f.StringVar(&v.output, "output-file", "", "write the image here: a tarball if the name ends in .tar, else an OCI image layout directory")
	f.StringVar(&v.push, "push", "", "push to this reference (no tag: :"+wardimage.Tag()+", this ward's version) as the signed-in identity, which needs AcrPush at the registry")
	f.StringVar(&v.acr, "acr", "", "push to the registry of this name as <login server>/"+wardimage.Repository+":"+wardimage.Tag())
	f.StringVarP(&v.group, "resource-group", "g", "", "the --acr registry's resource group (default: found in the subscription)")
	return cmd
}

func (v *imageBuild) check() error {
	if v.output == "" && v.push == "" && v.acr == "" {
		return errors.New("say where the image goes: --output-file FILE, --push REFERENCE or --acr REGISTRY")
	}
	if v.push != "" && v.acr != "" {
		return errors.New("--push and --acr both name where to push: give one")
	}
	// A reference with no registry host would go to Docker Hub.
	if host, _, path := strings.Cut(v.push, "/"); v.push != "" && (!path || !strings.ContainsAny(host, ".:") && host != "localhost") {
		return fmt.Errorf("--push %s names no registry: give the login server, e.g. --push myregistry.azurecr.localhost:8443/%s, or --acr REGISTRY", v.push, wardimage.Repository)
	}
	return nil
}

func (v *imageBuild) run(ctx context.Context, c *conn) (any, error) {
	bin := v.binary
	if bin == "" {
		self, err := os.Executable()
		if err != nil {
			return nil, fmt.Errorf("find this ward binary (pass --binary): %w", err)
		}
		bin = self
	}
	target := v.push
	if v.acr != "" {
		r, err := findRegistry(ctx, c, v.group, v.acr)
		if err != nil {
			return nil, err
		}
		target = r.Properties.LoginServer + "/" + wardimage.Repository
	}
	if target == "" {
		target = wardimage.Repository
	}
	ref, err := imageRef(target)
	if err != nil {
		return nil, err
	}
	img, err := wardimage.Build(wardimage.Config{Binary: bin, CABundle: v.caFile})
	if err != nil {
		return nil, err
	}
	digest, err := img.Digest()
	if err != nil {
		return nil, err
	}
	cf, err := img.ConfigFile()
	if err != nil {
		return nil, err
	}
	out := map[string]any{"digest": digest.String(), "platform": cf.Platform().String(), "tag": ref.Identifier()}
	if v.output != "" {
		if err := wardimage.Write(v.output, ref, img); err != nil {
			return nil, err
		}
		out["outputFile"] = v.output
	}
	if c != nil {
		if err := pushImage(ctx, c, ref, img); err != nil {
			return nil, err
		}
		out["image"] = ref.Context().Name() + "@" + digest.String()
		out["pushed"] = ref.Name()
	}
	return out, nil
}

// imageRef parses a reference, giving it this ward's version as the tag
// when it names none.
func imageRef(s string) (name.Reference, error) {
	ref, err := name.ParseReference(s, name.WithDefaultTag(wardimage.Tag()))
	if err != nil {
		return nil, fmt.Errorf("image reference %q: %w", s, err)
	}
	return ref, nil
}

// pushImage pushes img as the signed-in identity: its token exchanged at
// the registry for a refresh token, used as docker's login is (the null
// GUID and the token), over the CLI's transport (Ward's CA, *.localhost).
func pushImage(ctx context.Context, c *conn, ref name.Reference, img v1.Image) error {
	loginServer := ref.Context().RegistryStr()
	rt, err := registryRefreshToken(ctx, c, loginServer)
	if err != nil {
		return err
	}
	auth := &authn.Basic{Username: client.RegistryNullUsername, Password: rt}
	err = remote.Write(ref, img, remote.WithAuth(auth), remote.WithTransport(c.creds.HTTP.Transport), remote.WithContext(ctx))
	var te *transport.Error
	if errors.As(err, &te) && (te.StatusCode == 401 || te.StatusCode == 403) {
		return fmt.Errorf("the registry refused the push to %s as %s (%w): pushing needs AcrPush, Contributor or Owner at the registry", ref.Context(), c.creds.ClientID, err)
	}
	if err != nil {
		return fmt.Errorf("push %s: %w", ref, err)
	}
	return nil
}

// registryRefreshToken is what az acr login does for the signed-in
// identity: an Entra token for the registry audience, exchanged at the
// login server for a registry refresh token.
func registryRefreshToken(ctx context.Context, c *conn, loginServer string) (string, error) {
	cred := &client.ClientCredentials{AuthorityHost: c.creds.AuthorityHost, TenantID: c.creds.TenantID, ClientID: c.creds.ClientID,
		ClientSecret: c.creds.ClientSecret, Resource: registryResource, HTTP: c.creds.HTTP}
	aad, err := cred.Token(ctx)
	if err != nil {
		return "", err
	}
	return client.RegistryRefreshToken(ctx, c.creds.HTTP, loginServer, c.tenant, aad)
}
