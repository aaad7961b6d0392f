package registry

import (
	"fmt"
	"net/http"
	"net/http/httputil"
	"net/url"
)

// Upstream serves /v2/ from a registry run as its own process: requests
// keep their login server Host (the registry writes it into Location
// headers and its challenge names it), bodies stream both ways.
func Upstream(raw string) (http.Handler, error) {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("--registry-upstream %q must be an http(s) URL of a registry", raw)
	}
	return &httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) {
			pr.SetURL(u)
			pr.Out.Host = pr.In.Host
			pr.SetXForwarded()
		},
		FlushInterval: -1,
	}, nil
}
