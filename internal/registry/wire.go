package registry

import "time"

// Wire names of the ACR token protocol and Ward's registry hosts, in one
// place: tests use the literal strings, so a rename fails loudly.
const (
	// HostClass names the login server hosts on the router.
	HostClass = "registry"
	// HostLabel is the DNS label under Ward's host that login servers
	// live in: <registry>.azurecr.localhost:<port> on loopback.
	HostLabel = "azurecr"

	// NullUsername is the user name ACR accepts with a registry refresh
	// token as the password (docker login, containerd, the kubelet plugin).
	NullUsername = "00000000-0000-0000-0000-000000000000"

	PathExchange = "/oauth2/exchange"
	PathToken    = "/oauth2/token"

	// Grant types of /oauth2/exchange: access_token is the current name,
	// the others are older names that real clients still send.
	GrantAccessToken             = "access_token"
	GrantAccessTokenRefreshToken = "access_token_refresh_token"
	GrantRefreshToken            = "refresh_token"
	// GrantPassword is containerd's grant on /oauth2/token.
	GrantPassword = "password"

	// The RBAC actions a token's access is decided by, at the registry.
	ActionPull   = "Microsoft.ContainerRegistry/registries/pull/read"
	ActionPush   = "Microsoft.ContainerRegistry/registries/push/write"
	ActionDelete = "Microsoft.ContainerRegistry/registries/artifacts/delete"

	// RefreshTokenLifetime is the longest a registry refresh token lives
	// (ACR's is 3 hours); it never outlives the token it was exchanged for.
	RefreshTokenLifetime = 3 * time.Hour
	// AccessTokenLifetime is how long an access token's grants hold: a
	// revoked role stops new tokens at once and old ones within this.
	AccessTokenLifetime = 5 * time.Minute

	// MaxScopes bounds the scopes of one token request, MaxFormBytes its body.
	MaxScopes    = 32
	MaxFormBytes = 64 << 10
)
