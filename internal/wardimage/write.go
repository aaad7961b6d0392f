package wardimage

import (
	"fmt"
	"os"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
)

// Write saves img at path: a tarball that `docker load`, `crane push` and
// `ctr image import` read when path ends in .tar, else an OCI image
// layout directory (created, or added to when it already is one). ref is
// the name recorded with it.
func Write(path string, ref name.Reference, img v1.Image) error {
	if strings.HasSuffix(path, ".tar") {
		tag, ok := ref.(name.Tag)
		if !ok {
			return fmt.Errorf("a tarball records a tag, and %s is a digest", ref)
		}
		if err := tarball.WriteToFile(path, tag, img); err != nil {
			return fmt.Errorf("write %s: %w", path, err)
		}
		return nil
	}
	p, err := layout.FromPath(path)
	if err != nil {
		if _, statErr := os.Stat(path); statErr == nil {
			entries, _ := os.ReadDir(path)
			if len(entries) > 0 {
				return fmt.Errorf("%s exists and is not an OCI image layout: %w", path, err)
			}
		}
		if p, err = layout.Write(path, empty.Index); err != nil {
			return fmt.Errorf("write %s: %w", path, err)
		}
	}
	annotations := map[string]string{"org.opencontainers.image.ref.name": ref.Name()}
	if err := p.AppendImage(img, layout.WithAnnotations(annotations)); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}
