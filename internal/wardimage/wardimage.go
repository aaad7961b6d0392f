// Package wardimage builds the OCI image of Ward itself without a
// container daemon: one layer holding a static ward binary (and optionally
// a CA bundle) on an empty base, with the binary as the entrypoint. The
// build is reproducible: the same binary and bundle give the same digest,
// so an image built to a file and one pushed are the same image.
package wardimage

import (
	"archive/tar"
	"bytes"
	"crypto/x509"
	"debug/buildinfo"
	"debug/elf"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"os"
	"regexp"
	"runtime/debug"
	"strings"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// Paths and names inside the image. The deploy manifests and the docs
// rely on them.
const (
	// BinaryPath is where the ward binary is, and the entrypoint.
	BinaryPath = "/ward"
	// CABundlePath is where --ca-file goes: the first file Go's crypto/x509
	// reads on Linux, so ward in the image trusts it with no SSL_CERT_FILE.
	CABundlePath = "/etc/ssl/certs/ca-certificates.crt"
	// User is the image's default user, the non-root user the manifests
	// run as (runAsUser 65532); the agent's DaemonSet overrides it.
	User = "65532:65532"
	// Repository is the repository the documented image name uses:
	// <login server>/ward:<Tag()>.
	Repository = "ward"
	// mainPackage is the package a ward binary is built from.
	mainPackage = "github.com/ward-id/ward/cmd/ward"
)

// Config is what goes into the image.
type Config struct {
	// Binary is the path of a static Linux ward binary.
	Binary string
	// CABundle is an optional PEM file of CA certificates, installed at
	// CABundlePath.
	CABundle string
	// Version is recorded in the org.opencontainers.image.version label;
	// empty means Tag().
	Version string
}

// Build checks the binary and returns the image. Layers are read from the
// files when the image is written or pushed, so the files must stay put
// until then.
func Build(cfg Config) (v1.Image, error) {
	platform, err := Platform(cfg.Binary)
	if err != nil {
		return nil, err
	}
	bin, err := os.Stat(cfg.Binary)
	if err != nil {
		return nil, err
	}
	var ca []byte
	if cfg.CABundle != "" {
		if ca, err = readBundle(cfg.CABundle); err != nil {
			return nil, err
		}
	}
	binary := cfg.Binary
	layer, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) { return layerTar(binary, bin.Size(), ca) },
		tarball.WithMediaType(types.OCILayer))
	if err != nil {
		return nil, fmt.Errorf("build the layer: %w", err)
	}
	version := cfg.Version
	if version == "" {
		version = Tag()
	}
	img, err := mutate.Append(mutate.MediaType(empty.Image, types.OCIManifestSchema1), mutate.Addendum{Layer: layer,
		History: v1.History{CreatedBy: "ward image build", Comment: "ward " + version}})
	if err != nil {
		return nil, err
	}
	img = mutate.ConfigMediaType(img, types.OCIConfigJSON)
	cf, err := img.ConfigFile()
	if err != nil {
		return nil, err
	}
	cf = cf.DeepCopy()
	cf.OS, cf.Architecture, cf.Variant = platform.OS, platform.Architecture, platform.Variant
	cf.Config = v1.Config{Entrypoint: []string{BinaryPath}, User: User, WorkingDir: "/",
		Labels: map[string]string{"org.opencontainers.image.title": "ward", "org.opencontainers.image.version": version}}
	return mutate.ConfigFile(img, cf)
}

// layerTar is the layer's uncompressed tar stream: the directories, the
// binary and the CA bundle, owned by root, with a fixed time so the
// digest depends on the content only.
func layerTar(binary string, size int64, ca []byte) (io.ReadCloser, error) {
	f, err := os.Open(binary)
	if err != nil {
		return nil, err
	}
	pr, pw := io.Pipe()
	go func() {
		defer f.Close()
		tw := tar.NewWriter(pw)
		mtime := time.Unix(0, 0).UTC()
		write := func(h *tar.Header, body io.Reader) error {
			h.ModTime, h.Format = mtime, tar.FormatPAX
			if err := tw.WriteHeader(h); err != nil {
				return err
			}
			if body == nil {
				return nil
			}
			n, err := io.Copy(tw, body)
			if err == nil && n != h.Size {
				err = fmt.Errorf("%s changed while it was read: %d bytes, want %d", binary, n, h.Size)
			}
			return err
		}
		err := write(&tar.Header{Name: strings.TrimPrefix(BinaryPath, "/"), Typeflag: tar.TypeReg, Mode: 0o755, Size: size}, f)
		if err == nil && ca != nil {
			for _, d := range []string{"etc/", "etc/ssl/", "etc/ssl/certs/"} {
				if err = write(&tar.Header{Name: d, Typeflag: tar.TypeDir, Mode: 0o755}, nil); err != nil {
					break
				}
			}
			if err == nil {
				err = write(&tar.Header{Name: strings.TrimPrefix(CABundlePath, "/"), Typeflag: tar.TypeReg, Mode: 0o644, Size: int64(len(ca))}, bytes.NewReader(ca))
			}
		}
		if err == nil {
			err = tw.Close()
		}
		pw.CloseWithError(err)
	}()
	return pr, nil
}

// readBundle reads a PEM file that must hold at least one certificate, and
// nothing that is not one (a private key in a trust bundle is a mistake
// worth refusing).
func readBundle(path string) ([]byte, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read the CA bundle: %w", err)
	}
	n := 0
	for rest := b; ; {
		var block *pem.Block
		block, rest = pem.Decode(rest)
		if block == nil {
			break
		}
		if block.Type != "CERTIFICATE" {
			return nil, fmt.Errorf("the CA bundle %s holds a %s block: only certificates belong in it", path, block.Type)
		}
		if _, err := x509.ParseCertificate(block.Bytes); err != nil {
			return nil, fmt.Errorf("the CA bundle %s: %w", path, err)
		}
		n++
	}
	if n == 0 {
		return nil, fmt.Errorf("the CA bundle %s holds no PEM certificate", path)
	}
	return b, nil
}

// ErrNotStatic is returned for a dynamically linked binary: the image has
// no C library for it to load.
var ErrNotStatic = errors.New("the binary is dynamically linked")

// Platform reads the OS and architecture the binary was built for from its
// Go build information, and checks that it is ward, for Linux, and static.
func Platform(binary string) (v1.Platform, error) {
	info, err := buildinfo.ReadFile(binary)
	if err != nil {
		return v1.Platform{}, fmt.Errorf("%s is not a Go binary: %w", binary, err)
	}
	if info.Path != mainPackage {
		return v1.Platform{}, fmt.Errorf("%s is %s, not ward (%s)", binary, info.Path, mainPackage)
	}
	s := map[string]string{}
	for _, kv := range info.Settings {
		s[kv.Key] = kv.Value
	}
	if s["GOOS"] != "linux" {
		return v1.Platform{}, fmt.Errorf("%s is built for %s: build ward for Linux (CGO_ENABLED=0 GOOS=linux go build -o bin/ward ./cmd/ward)", binary, s["GOOS"])
	}
	p := v1.Platform{OS: "linux", Architecture: s["GOARCH"]}
	if p.Architecture == "arm" && s["GOARM"] != "" {
		p.Variant = "v" + strings.Split(s["GOARM"], ",")[0]
	}
	f, err := elf.Open(binary)
	if err != nil {
		return v1.Platform{}, fmt.Errorf("%s: %w", binary, err)
	}
	defer f.Close()
	for _, prog := range f.Progs {
		if prog.Type == elf.PT_INTERP {
			return v1.Platform{}, fmt.Errorf("%s: %w (CGO_ENABLED=%s): the image has no C library; build it with CGO_ENABLED=0 go build -o bin/ward ./cmd/ward",
				binary, ErrNotStatic, s["CGO_ENABLED"])
		}
	}
	return p, nil
}

var tagUnsafe = regexp.MustCompile(`[^A-Za-z0-9_.-]`)

// Tag is this ward's version as an image tag: the module version when the
// build recorded one, else the VCS revision (12 hex digits, "-dirty" for a
// modified tree), else "dev".
func Tag() string {
	info, ok := debug.ReadBuildInfo()
	if !ok {
		return "dev"
	}
	return tagOf(info)
}

func tagOf(info *debug.BuildInfo) string {
	if v := info.Main.Version; v != "" && v != "(devel)" {
		return sanitize(v)
	}
	s := map[string]string{}
	for _, kv := range info.Settings {
		s[kv.Key] = kv.Value
	}
	rev := s["vcs.revision"]
	if rev == "" {
		return "dev"
	}
	if len(rev) > 12 {
		rev = rev[:12]
	}
	if s["vcs.modified"] == "true" {
		rev += "-dirty"
	}
	return sanitize(rev)
}

// sanitize makes v a valid tag: [A-Za-z0-9_][A-Za-z0-9_.-]{0,127}
// (v1.2.3+dirty becomes v1.2.3-dirty).
func sanitize(v string) string {
	v = tagUnsafe.ReplaceAllString(v, "-")
	v = strings.TrimLeft(v, ".-")
	if len(v) > 128 {
		v = v[:128]
	}
	if v == "" {
		return "dev"
	}
	return v
}
