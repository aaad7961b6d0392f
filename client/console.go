package client

import (
	"context"
	"net/http"
)

// ConsoleLink is a one-time link that signs a browser in to the Ward
// console as the client's principal.
type ConsoleLink struct {
	URL       string `json:"url"`
	ExpiresOn string `json:"expiresOn"`
	// SessionExpiresOn is when a session opened with the link ends at the
	// latest: when the token that asked for the link expires (RFC 3339).
	SessionExpiresOn string `json:"sessionExpiresOn,omitempty"`
}

// ConsoleLink asks the server for a one-time console sign-in link (valid
// once, for two minutes) for the principal the client authenticates as.
func (c *Client) ConsoleLink(ctx context.Context) (ConsoleLink, error) {
	var out ConsoleLink
	_, err := c.do(ctx, http.MethodPost, "/console/api/links", "", struct{}{}, &out)
	return out, err
}
