package agent

import "time"

// Wire names of the protocols the agent serves, as the unmodified SDKs
// send them (reference: protocols.md §4, real-clients.md §3.3). Tests use
// the literal values, so a rename fails loudly.
const (
	// IMDS.
	PathIMDSToken    = "/metadata/identity/oauth2/token"
	PathIMDSInstance = "/metadata/instance"
	HeaderMetadata   = "Metadata"
	// A proxy's headers: the agent refuses a request carrying any (IMDS
	// refuses X-Forwarded-For).
	HeaderForwarded     = "X-Forwarded-For"
	HeaderForwardedRFC  = "Forwarded" // RFC 7239
	HeaderForwardedHost = "X-Forwarded-Host"
	DefaultIMDSAddr     = "169.254.169.254:80"
	IMDSAddress         = "169.254.169.254"

	// App Service (api-version 2019-08-01): IDENTITY_ENDPOINT points at
	// PathAppServiceToken; IDENTITY_HEADER is the secret.
	PathAppServiceToken = "/msi/token"
	HeaderIdentity      = "X-IDENTITY-HEADER"

	// App Service's older protocol (api-version 2017-09-01), which az 2.45
	// (msrestazure) and Azure ML clients speak: MSI_ENDPOINT points at
	// PathAppServiceToken and MSI_SECRET (the same secret) is sent in the
	// "secret" header; the selector is "clientid"; expires_on is a date.
	AppService2017      = "2017-09-01"
	HeaderSecret2017    = "secret"
	ParamClientID2017   = "clientid"
	expiresOn2017Layout = "01/02/2006 15:04:05 -07:00"

	// Azure Arc (api-version 2020-06-01): IDENTITY_ENDPOINT =
	// http://127.0.0.1:40342/metadata/identity/oauth2/token and
	// IMDS_ENDPOINT = http://127.0.0.1:40342; the first request is answered
	// 401 with WWW-Authenticate: Basic realm=<ArcTokenDir>/<random>.key.
	DefaultArcAddr     = "127.0.0.1:40342"
	DefaultArcTokenDir = "/var/opt/azcmagent/tokens"
	ArcTokenGroup      = "himds"
	// arcKeyLifetime is how long a challenge file's secret is valid; each
	// is used once.
	arcKeyLifetime = time.Minute
	// maxArcChallenges bounds outstanding challenge files.
	maxArcChallenges = 256

	// Query parameters.
	ParamAPIVersion = "api-version"
	ParamResource   = "resource"
	ParamClientID   = "client_id"
	ParamObjectID   = "object_id"
	ParamPrincipal  = "principal_id"
	ParamMSIResID   = "msi_res_id"
	ParamMIResID    = "mi_res_id"

	// Azure's documented managed identity limits per VM: 20 requests per
	// second and 5 concurrent requests.
	DefaultRateLimit     = 20
	DefaultMaxConcurrent = 5

	// Tokens are served from the cache until this long before they expire.
	RefreshBefore = 5 * time.Minute
	// DefaultPollInterval is how often the agent asks Ward whether its
	// machine and identities changed (a conditional GET; 304 when not):
	// a deletion or detachment stops serving within this plus one round
	// trip.
	DefaultPollInterval = 400 * time.Millisecond
	// DefaultMaxStale is how long the agent keeps serving when it cannot
	// reach Ward; past it, requests fail until Ward answers again.
	DefaultMaxStale = 5 * time.Minute
)

// Environment variables the SDKs read (for the operator's instructions).
const (
	EnvIdentityEndpoint = "IDENTITY_ENDPOINT"
	EnvIdentityHeader   = "IDENTITY_HEADER"
	EnvIMDSEndpoint     = "IMDS_ENDPOINT"
	EnvMSIEndpoint      = "MSI_ENDPOINT"
	EnvMSISecret        = "MSI_SECRET"
)

// Files of the agent's state directory (ward agent join writes them).
const (
	FileKey     = "agent.key"    // PKCS#8 PEM, mode 0600: never leaves the machine
	FileCert    = "agent.crt"    // the self-signed certificate registered with Ward
	FileMachine = "machine.json" // which machine, Ward's URL and the assertion audience
	FileCA      = "ca.pem"       // Ward's CA, when join was given one
)
