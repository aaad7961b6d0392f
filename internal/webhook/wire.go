package webhook

import "github.com/ward-id/ward/internal/audience"

// Every name the webhook reads or writes on the wire, in one place. The
// azure.workload.identity/* names are the open-source webhook's, so
// existing charts and YAML work unchanged; tests spell them literally so a
// rename here fails loudly.
const (
	// LabelUse selects a pod (the MutatingWebhookConfiguration's
	// objectSelector matches it exactly "true").
	LabelUse = "azure.workload.identity/use"

	// Service account annotations.
	AnnotationClientID = "azure.workload.identity/client-id"
	AnnotationTenantID = "azure.workload.identity/tenant-id"

	// Pod annotations (expiration is also read from the service account).
	AnnotationTokenExpiration = "azure.workload.identity/service-account-token-expiration"
	AnnotationSkipContainers  = "azure.workload.identity/skip-containers"

	// AnnotationInjectCA asks for Ward's CA bundle in the token volume and
	// SSL_CERT_FILE pointing at it (a boolean; see Config.CAConfigMap).
	AnnotationInjectCA = "azure.workload.identity/inject-ca"

	// AnnotationInjected is Ward's own record, on the pod, of the values it
	// injected. On reinvocation an env var whose value still equals the
	// recorded one is Ward's and is refreshed; any other value is the user's
	// and is never touched.
	AnnotationInjected = "ward.workload.identity/injected"

	// Environment variables, in the order they are appended.
	EnvClientID      = "AZURE_CLIENT_ID"
	EnvTenantID      = "AZURE_TENANT_ID"
	EnvTokenFile     = "AZURE_FEDERATED_TOKEN_FILE"
	EnvAuthorityHost = "AZURE_AUTHORITY_HOST"
	EnvSSLCertFile   = "SSL_CERT_FILE"

	// The projected token. Ward uses the layout of the open-source webhook
	// before v1.6 — a fixed volume name and the path most hard-coded
	// applications expect — because it does not depend on the pod's name,
	// so reinvocation after a name change can never add a second mount.
	VolumeName    = "azure-identity-token"
	TokenMountDir = "/var/run/secrets/azure/tokens"
	TokenPath     = "azure-identity-token"
	TokenFile     = TokenMountDir + "/" + TokenPath
	CAPath        = "ca.crt"
	CAFile        = TokenMountDir + "/" + CAPath

	// DefaultAudience is the audience Entra ID expects in the assertion.
	DefaultAudience = audience.TokenExchange

	// Token lifetime bounds in seconds.
	DefaultExpiration = 3600
	MinExpiration     = 3600
	MaxExpiration     = 86400

	// DefaultServiceAccount is the one a pod runs as when it names none.
	DefaultServiceAccount = "default"

	// Path of the admission endpoint.
	MutatePath = "/mutate-v1-pod"
)

// Denial messages. The first two keep the open-source webhook's wording
// (scripts grep for it) and add what to do.
const (
	msgSANotFound      = "serviceaccounts %q not found: create service account %q in namespace %q, or set spec.serviceAccountName to one that exists"
	msgBadExpiration   = "annotation %s on the %s: %q is not a whole number of seconds (%v); use a value from 3600 to 86400"
	msgExpirationRange = "annotation %s on the %s: %d is out of range; use a value from 3600 to 86400 seconds"
	msgNoClientID      = "pod uses workload identity (label azure.workload.identity/use) but neither the pod nor service account %q in namespace %q has annotation azure.workload.identity/client-id, so AZURE_CLIENT_ID cannot be set; annotate the service account with the managed identity's client ID (ward identity show -g GROUP -n NAME --query clientId -o tsv)"
	msgBadBool         = "annotation %s: %q is not a boolean; use \"true\" or \"false\""
	msgNoCAConfigMap   = "annotation azure.workload.identity/inject-ca is true but this webhook was started without --ca-configmap, so it has no CA to inject"
	msgVolumeNameTaken = "pod already has a volume named %q that is not a projected service-account token; rename that volume, the name is reserved for the workload identity token"
	msgMountPathTaken  = "container %q already mounts volume %q at %s, so Ward did not add its token mount there; AZURE_FEDERATED_TOKEN_FILE points at %s"
	msgUndecodable     = "couldn't decode the pod: %v"
)
