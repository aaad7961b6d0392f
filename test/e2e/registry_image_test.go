package e2e

import (
	"archive/tar"
	"bytes"
	"debug/elf"
	"encoding/json"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
)

var (
	staticOnce sync.Once
	staticBin  string
	staticErr  error
)

// staticWardBin is a ward binary the image can run: the test's own when it
// is static, else the same package built again with CGO_ENABLED=0 (the
// build `ward image build` asks for).
func staticWardBin(t *testing.T) string {
	t.Helper()
	staticOnce.Do(func() {
		if isStatic(wardBin) {
			staticBin = wardBin
			return
		}
		staticBin = filepath.Join(filepath.Dir(wardBin), "ward-static")
		build := exec.Command("go", "build", "-o", staticBin, "github.com/ward-id/ward/cmd/ward")
		build.Env = append(os.Environ(), "CGO_ENABLED=0")
		var out bytes.Buffer
		build.Stdout, build.Stderr = &out, &out
		if err := build.Run(); err != nil {
			staticErr = &buildError{err: err, out: out.String()}
		}
	})
	if staticErr != nil {
		t.Fatal(staticErr)
	}
	return staticBin
}

type buildError struct {
	err error
	out string
}

func (e *buildError) Error() string { return "build a static ward: " + e.err.Error() + "\n" + e.out }

func isStatic(path string) bool {
	f, err := elf.Open(path)
	if err != nil {
		return false
	}
	defer f.Close()
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			return false
		}
	}
	return true
}

// TestWardImage builds Ward's own image with `ward image build` (no
// container daemon) from a static build of the test's ward, pushes it as
// an AcrPush service principal signed in with `ward login`, pulls it back
// with go-containerregistry as an AcrPull one through the null-GUID login,
// and checks the layer holds the binary byte for byte, the CA bundle, and
// the entrypoint; the tarball it wrote is the same image; an AcrPull
// identity cannot push; show-install names the pushed image.
func TestWardImage(t *testing.T) {
	t.Parallel()
	skipIfShort(t, "builds a second, static ward binary")
	w := startWard(t, "")
	f := w.registryFixture(t, "img-rg", "wardimages")
	pusher, puller := w.newPrincipal(t, "image-pusher"), w.newPrincipal(t, "image-puller")
	w.assign(t, pusher.ObjectID, f.id, "8311e382-0749-4cb8-b61a-304f252e45ec") // AcrPush
	w.assign(t, puller.ObjectID, f.id, "7f951dda-4ed3-4680-a7ca-43fe172d538d") // AcrPull
	caFile := filepath.Join(w.dataDir, "ca.pem")

	cli := newFlowCLI(t, filepath.Dir(w.dataDir))
	// A dynamically linked ward is refused: the image has no C library.
	if !isStatic(wardBin) {
		if msg := cli.fails("image", "build", "--binary", wardBin, "--output-file", filepath.Join(t.TempDir(), "x.tar")); !strings.Contains(msg, "dynamically linked") || !strings.Contains(msg, "CGO_ENABLED=0") {
			t.Fatalf("image build of a dynamic binary: %s", msg)
		}
	}
	if msg := cli.fails("image", "build", "--push", "ward:v1"); !strings.Contains(msg, "names no registry") {
		t.Fatalf("--push without a registry: %s", msg)
	}
	bin := staticWardBin(t)

	// As the AcrPush principal: build, write the tarball, push (the tag
	// defaults to this ward's version).
	cli.ok("login", "--service-principal", "-u", pusher.AppID, "-p", pusher.Secret, "--tenant", w.admin.TenantID)
	tarFile := filepath.Join(t.TempDir(), "ward.tar")
	var built map[string]any
	out := cli.ok("image", "build", "--binary", bin, "--ca-file", caFile, "--push", f.loginServer+"/ward", "--output-file", tarFile)
	if err := json.Unmarshal([]byte(out), &built); err != nil {
		t.Fatalf("image build printed %s: %v", out, err)
	}
	tag, _ := built["tag"].(string)
	digest, _ := built["digest"].(string)
	if tag == "" || built["pushed"] != f.loginServer+"/ward:"+tag || built["image"] != f.loginServer+"/ward@"+digest || built["platform"] != "linux/"+runtime.GOARCH {
		t.Fatalf("image build = %v", built)
	}

	// As the AcrPull principal: pull it back.
	ref, err := name.ParseReference(f.loginServer + "/ward:" + tag)
	if err != nil {
		t.Fatal(err)
	}
	pullAuth := remote.WithAuth(&authn.Basic{Username: "00000000-0000-0000-0000-000000000000", Password: w.exchange(t, f, puller)})
	tr := remote.WithTransport(f.client.Transport)
	img, err := remote.Image(ref, pullAuth, tr)
	if err != nil {
		t.Fatalf("pull as AcrPull: %v", err)
	}
	if d, _ := img.Digest(); d.String() != digest {
		t.Fatalf("pulled %s, built %s", d, digest)
	}
	cf, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	if cf.OS != "linux" || cf.Architecture != runtime.GOARCH || strings.Join(cf.Config.Entrypoint, " ") != "/ward" || cf.Config.User != "65532:65532" {
		t.Errorf("config: %s/%s entrypoint %q user %q", cf.OS, cf.Architecture, cf.Config.Entrypoint, cf.Config.User)
	}
	if mt, _ := img.MediaType(); mt != "application/vnd.oci.image.manifest.v1+json" {
		t.Errorf("manifest media type %s, want OCI", mt)
	}
	layers, err := img.Layers()
	if err != nil || len(layers) != 1 {
		t.Fatalf("layers: %d %v", len(layers), err)
	}
	files := layerFiles(t, layers[0])
	wantBin, _ := os.ReadFile(bin)
	wantCA, _ := os.ReadFile(caFile)
	if got := files["ward"]; !bytes.Equal(got, wantBin) {
		t.Errorf("/ward in the layer: %d bytes, want the %d bytes of %s", len(got), len(wantBin), bin)
	}
	if got := files["etc/ssl/certs/ca-certificates.crt"]; !bytes.Equal(got, wantCA) {
		t.Errorf("CA bundle in the layer: %q", got)
	}

	// The tarball written beside holds the same config and layer (docker's
	// tarball format records no manifest of its own, so its digest differs).
	fromTar, err := tarball.ImageFromPath(tarFile, nil)
	if err != nil {
		t.Fatal(err)
	}
	tarConfig, _ := fromTar.ConfigName()
	pushedConfig, _ := img.ConfigName()
	tarLayers, _ := fromTar.Layers()
	if tarConfig != pushedConfig || len(tarLayers) != 1 {
		t.Errorf("tarball config %s (%d layers), pushed %s", tarConfig, len(tarLayers), pushedConfig)
	} else if a, b := digestOf(t, tarLayers[0]), digestOf(t, layers[0]); a != b {
		t.Errorf("tarball layer %s, pushed %s", a, b)
	}

	// AcrPull does not push: with go-containerregistry, and with the command.
	other, _ := name.ParseReference(f.loginServer + "/ward:pulled")
	if err := remote.Write(other, img, pullAuth, tr); !isStatus(err, 401) {
		t.Fatalf("push as AcrPull: %v, want 401", err)
	}
	cli.ok("login", "--service-principal", "-u", puller.AppID, "-p", puller.Secret, "--tenant", w.admin.TenantID)
	if msg := cli.fails("image", "build", "--binary", bin, "--push", f.loginServer+"/ward:mine"); !strings.Contains(msg, "pushing needs AcrPush") {
		t.Fatalf("image build --push as AcrPull: %s", msg)
	}
	cli.ok("logout")

	// show-install (as the admin) names the image pushed into the registry the cluster's nodes pull from.
	cli.ok("aks", "create", "-n", "c1", "-g", "img-rg", "--attach-acr", "wardimages")
	manifests := cli.ok("aks", "show-install", "-n", "c1", "-g", "img-rg")
	if n := strings.Count(manifests, "image: "+f.loginServer+"/ward:"+tag+"\n"); n != 2 {
		t.Fatalf("show-install names %s/ward:%s %d times, want the webhook and the agent:\n%s", f.loginServer, tag, n, manifests)
	}
}

func digestOf(t *testing.T, l interface{ Digest() (v1.Hash, error) }) string {
	t.Helper()
	d, err := l.Digest()
	if err != nil {
		t.Fatal(err)
	}
	return d.String()
}

// layerFiles reads a layer's regular files.
func layerFiles(t *testing.T, l interface{ Uncompressed() (io.ReadCloser, error) }) map[string][]byte {
	t.Helper()
	rc, err := l.Uncompressed()
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	tr := tar.NewReader(rc)
	out := map[string][]byte{}
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return out
		}
		if err != nil {
			t.Fatal(err)
		}
		if h.Typeflag == tar.TypeReg {
			b, err := io.ReadAll(tr)
			if err != nil {
				t.Fatal(err)
			}
			out[h.Name] = b
		}
	}
}
