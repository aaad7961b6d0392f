package cli

import (
	"strings"
	"testing"

	"github.com/ward-id/ward/internal/wardimage"
)

// TestImageBuildCheck: where the image goes is checked before anything is
// built, and a reference with no registry host (which would go to Docker
// Hub) is refused.
func TestImageBuildCheck(t *testing.T) {
	for _, tc := range []struct {
		name string
		v    imageBuild
		want string // "" = accepted
	}{
		{"nowhere", imageBuild{}, "say where the image goes"},
		{"a file", imageBuild{output: "ward.tar"}, ""},
		{"a login server", imageBuild{push: "myregistry.azurecr.localhost:8443/ward"}, ""},
		{"a login server with a tag", imageBuild{push: "myregistry.azurecr.io/team/ward:v1"}, ""},
		{"localhost", imageBuild{push: "localhost/ward"}, ""},
		{"a registry by name", imageBuild{acr: "myregistry"}, ""},
		{"both", imageBuild{push: "r.example/ward", acr: "myregistry"}, "give one"},
		{"no registry", imageBuild{push: "ward:v1"}, "names no registry"},
		{"a Docker Hub path", imageBuild{push: "library/ward"}, "names no registry"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.v.check()
			if tc.want == "" && err != nil || tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)) {
				t.Fatalf("check(%+v) = %v, want %q", tc.v, err, tc.want)
			}
		})
	}
	ref, err := imageRef("myregistry.azurecr.localhost:8443/ward")
	if err != nil || ref.Identifier() != wardimage.Tag() {
		t.Fatalf("a reference without a tag gets this ward's: %v %v", ref, err)
	}
}
