package registry

import (
	"fmt"
	"net/http"
	"net/http/httputil"
	"net/url"

	"github.com/ward-id/ward/internal/storage"
)

// Upstream serves /v2/ from a registry run as its own process: requests
// keep their login server Host (the registry writes it into Location
// headers and its challenge names it), bodies stream both ways.
func Upstream(raw string) (Backend, error) {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("--registry-upstream %q must be an http(s) URL of a registry", raw)
	}
	return upstream{&httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) {
			pr.SetURL(u)
			pr.Out.Host = pr.In.Host
			pr.SetXForwarded()
		},
		FlushInterval: -1,
	}}, nil
}

type upstream struct{ proxy *httputil.ReverseProxy }

func (u upstream) ServeRegistry(w http.ResponseWriter, r *http.Request, _ storage.Registry) {
	u.proxy.ServeHTTP(w, r)
}
