// Package agentproto is the protocol between `ward agent` and the Ward
// server: its paths, the audiences of the attestations an agent presents,
// and the JSON it exchanges. Both sides import it, so a rename breaks a
// test. It knows nothing of ARM, IMDS or storage.
//
// An agent proves which machine it serves in one of two ways:
//
//   - a plain machine signs a short assertion (a JWT, ES256, RS256 or PS256)
//     with the key pair `ward agent join` generated on it: header x5t#S256 =
//     the thumbprint of the self-signed certificate it registered, iss = sub
//     = the machine's GUID, aud = MachineAudience(wardURL), exp at most
//     MaxAssertionLifetime ahead; the private key never leaves the machine;
//   - a Kubernetes node's agent presents the projected service-account
//     token of NodeNamespace/NodeServiceAccount (or ..-<pool>) from its
//     cluster's Ward-hosted issuer, with audience NodeAudience.
//
// Either goes in the Authorization header as "Bearer <jwt>".
package agentproto

import (
	"errors"
	"strings"
	"time"
)

// Paths of the agent API on the Ward server.
const (
	PathJoin  = "/ward/v1/agent/join"
	PathToken = "/ward/v1/agent/token"
	PathState = "/ward/v1/agent/state"
)

// Kubernetes names of the node agent.
const (
	// NodeAudience is the audience of the service-account token a node
	// agent presents (the DaemonSet's projected volume requests it).
	NodeAudience = "api://WardAgent"
	// NodeNamespace and NodeServiceAccount name the DaemonSet's service
	// account; it attests the node pool DefaultPool. A pool p's agents use
	// NodeServiceAccount + "-" + p.
	NodeNamespace      = "ward-system"
	NodeServiceAccount = "ward-agent"
	// DefaultPool is the node pool every cluster has (AKS's first pool).
	DefaultPool = "nodepool1"
)

// NodeSubject is the token subject of the agent of a node pool.
func NodeSubject(pool string) string {
	sa := NodeServiceAccount
	if !strings.EqualFold(pool, DefaultPool) {
		sa += "-" + pool
	}
	return "system:serviceaccount:" + NodeNamespace + ":" + sa
}

// PoolFromSubject returns the node pool a service-account subject attests,
// or false when the subject is not a Ward agent's.
func PoolFromSubject(sub string) (string, bool) {
	sa, ok := strings.CutPrefix(sub, "system:serviceaccount:"+NodeNamespace+":")
	switch {
	case !ok:
		return "", false
	case sa == NodeServiceAccount:
		return DefaultPool, true
	}
	pool, ok := strings.CutPrefix(sa, NodeServiceAccount+"-")
	if !ok || pool == "" {
		return "", false
	}
	return pool, true
}

// MachineAudience is the audience of a machine's signed assertion.
func MachineAudience(wardURL string) string {
	return strings.TrimSuffix(wardURL, "/") + "/ward/v1/agent"
}

// MaxAssertionLifetime bounds a machine assertion's exp, as certificate
// assertions to the token endpoint are bounded.
const MaxAssertionLifetime = 10 * time.Minute

// JoinTokenPrefix starts every join token: wj1.<machine GUID>.<secret>.
const JoinTokenPrefix = "wj1."

// JoinRequest registers a machine's public key with its one-time join token.
type JoinRequest struct {
	JoinToken string `json:"joinToken"`
	// Certificate is the base64 DER of the self-signed certificate of the
	// key the agent generated; its SHA-256 thumbprint names it from then on.
	Certificate string `json:"certificate"`
}

// JoinResponse tells the agent which machine it now is.
type JoinResponse struct {
	MachineID  string `json:"machineId"`
	ResourceID string `json:"resourceId"`
	TenantID   string `json:"tenantId"`
	// Audience is what the agent's assertions must name as aud: Ward's
	// public URL may differ from the URL the agent reaches it at.
	Audience string `json:"audience"`
}

// TokenRequest asks for an access token of one of the machine's
// identities; at most one selector is set, none for the default identity.
type TokenRequest struct {
	Resource   string `json:"resource"`
	ClientID   string `json:"clientId,omitempty"`
	ObjectID   string `json:"objectId,omitempty"`
	ResourceID string `json:"resourceId,omitempty"`
}

// TokenResponse is an access token with the identity it is for.
type TokenResponse struct {
	AccessToken string   `json:"accessToken"`
	ExpiresOn   int64    `json:"expiresOn"` // Unix seconds
	NotBefore   int64    `json:"notBefore"`
	Resource    string   `json:"resource"`
	Identity    Identity `json:"identity"`
}

// Identity is one managed identity the machine (or node pool) has.
type Identity struct {
	// Kind is system, user or kubelet.
	Kind     string `json:"kind"`
	ClientID string `json:"clientId"`
	ObjectID string `json:"objectId"`
	// ResourceID is the user-assigned identity's resource ID ("" for a
	// system-assigned identity).
	ResourceID string `json:"resourceId,omitempty"`
	// Default marks the identity a request without a selector gets.
	Default bool `json:"default,omitempty"`
	// Reason, on an identity of State.Refused, says why it is not served.
	Reason string `json:"reason,omitempty"`
}

// State is what the agent serves: the machine (or node pool) and its
// identities now. The agent polls it with If-None-Match; Ward answers 304
// while nothing changed and 401 once the machine or its credential is gone.
type State struct {
	Kind           string            `json:"kind"` // machine or node
	ResourceID     string            `json:"resourceId"`
	Name           string            `json:"name"`
	Location       string            `json:"location"`
	SubscriptionID string            `json:"subscriptionId"`
	ResourceGroup  string            `json:"resourceGroup"`
	Tags           map[string]string `json:"tags"`
	Identities     []Identity        `json:"identities"`
	// Refused are identities attached to the machine (or node pool) that
	// Ward does not serve, each with its Reason: a user-assigned identity
	// deleted and re-created under the same name since it was attached (a
	// different principal). The agent answers a request for one with the
	// reason instead of "Identity not found".
	Refused []Identity `json:"refused,omitempty"`
}

// Error is the agent API's error body.
type Error struct {
	Code        string `json:"error"`
	Description string `json:"error_description"`
}

// Error codes of the agent API.
const (
	CodeInvalidRequest   = "invalid_request"
	CodeUnauthorized     = "unauthorized_client" // attestation refused: revoked, deleted or never valid
	CodeIdentityNotFound = "identity_not_found"
	CodeJoinRefused      = "join_refused"
	CodeServerError      = "server_error"
)

// ErrIdentityNotFound means the selector names no identity of the subject.
var ErrIdentityNotFound = errors.New("identity not found")

// ErrAmbiguous means no selector was given and the subject has no default
// identity (several user-assigned identities, no system identity).
var ErrAmbiguous = errors.New("multiple user-assigned identities exist, please specify the clientId / resourceId of the identity in the token request")

// Select picks the identity a request names by client ID, object ID or
// resource ID (at most one), or the default one. It never returns an
// identity the subject does not have.
func Select(ids []Identity, clientID, objectID, resourceID string) (Identity, error) {
	for _, id := range ids {
		switch {
		case clientID != "" && strings.EqualFold(id.ClientID, clientID),
			objectID != "" && strings.EqualFold(id.ObjectID, objectID),
			resourceID != "" && id.ResourceID != "" && strings.EqualFold(id.ResourceID, resourceID):
			return id, nil
		case clientID == "" && objectID == "" && resourceID == "" && id.Default:
			return id, nil
		}
	}
	if clientID == "" && objectID == "" && resourceID == "" && len(ids) > 1 {
		return Identity{}, ErrAmbiguous
	}
	return Identity{}, ErrIdentityNotFound
}

// RefusedError is the answer to a request for an identity the subject has
// attached but Ward does not serve (State.Refused); it is also
// ErrIdentityNotFound, so callers that know only that still refuse.
type RefusedError struct{ Identity Identity }

func (e *RefusedError) Error() string { return e.Identity.Reason }

// Is makes a RefusedError an ErrIdentityNotFound.
func (e *RefusedError) Is(target error) bool { return target == ErrIdentityNotFound }

// Choose is Select over the served identities, and when it finds none, a
// RefusedError naming the refused identity the request would have got.
func Choose(ids, refused []Identity, clientID, objectID, resourceID string) (Identity, error) {
	id, err := Select(ids, clientID, objectID, resourceID)
	if err == nil {
		return id, nil
	}
	if r, rerr := Select(refused, clientID, objectID, resourceID); rerr == nil {
		return Identity{}, &RefusedError{Identity: r}
	}
	return Identity{}, err
}
