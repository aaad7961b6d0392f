// Package storage defines Ward's persistent state: the domain types and the
// one Storage interface that every backend implements. Backends live below
// (storage/sql serves SQLite and PostgreSQL); storagetest is the conformance
// suite each of them must pass.
package storage

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/ward-id/ward/internal/agentproto"
)

// Sentinel errors callers branch on with errors.Is.
var (
	// ErrNotFound: the object does not exist.
	ErrNotFound = errors.New("not found")
	// ErrAlreadyExists: a create collided with an existing object.
	ErrAlreadyExists = errors.New("already exists")
	// ErrConflict: a concurrent transaction touched the same data; the write
	// was not applied and may be retried.
	ErrConflict = errors.New("concurrent write conflict")
	// ErrParentNotFound: the parent of the object being written does not exist.
	ErrParentNotFound = errors.New("parent not found")
	// ErrInvalidCursor: a Page's After is not a cursor a list handed out
	// (altered, cut, or made up by the caller).
	ErrInvalidCursor = errors.New("invalid page cursor")
)

// Tenant is an Entra-style directory.
type Tenant struct {
	ID          string
	DisplayName string
	CreatedAt   time.Time
}

// Subscription is an ARM subscription inside a tenant.
type Subscription struct {
	ID          string
	TenantID    string
	DisplayName string
	State       string // "Enabled"
	CreatedAt   time.Time
}

// ServicePrincipal is an application identity that can hold client secrets.
type ServicePrincipal struct {
	ObjectID    string // the principal (object) ID
	AppID       string // the client ID
	TenantID    string
	DisplayName string
	CreatedAt   time.Time
	// ManagedResourceID is the resource whose system-assigned managed
	// identity this principal is (a machine, a cluster); "" for an
	// application's principal. Such a principal takes no credentials and
	// goes only with its resource.
	ManagedResourceID string
}

// ClientSecret is a password credential of a service principal. The secret
// itself is never stored: only a salted hash.
type ClientSecret struct {
	KeyID       string
	AppID       string
	Hint        string // first characters of the secret, shown in lists as Entra does
	DisplayName string
	Salt        []byte
	Hash        []byte
	ExpiresAt   time.Time // zero: never expires
	CreatedAt   time.Time
}

// SigningKey is one of Ward's token-signing keys. The private key is stored
// encrypted (by the signer package); storage never sees it in clear.
type SigningKey struct {
	Owner        string // "" for the token service, a cluster GUID for its issuer
	KID          string
	Alg          string // RS256 or ES256
	EncryptedKey []byte
	CertDER      []byte // self-signed certificate published in the JWKS x5c
	CreatedAt    time.Time
	ActiveFrom   time.Time // first moment the key may sign
	RetireAt     time.Time // after this the key is neither used nor published
}

// Certificate is a certificate credential of a service principal.
type Certificate struct {
	KeyID      string
	AppID      string
	Thumbprint string // hex SHA-256 of the DER certificate
	CertDER    []byte
	ExpiresAt  time.Time
	CreatedAt  time.Time
}

// SignIn is one token request, issued or refused; or, for refusals, a run
// of like refusals aggregated into one record (Count of them, the first at
// Time, the last at LastSeen).
type SignIn struct {
	ID          string
	Time        time.Time // first seen
	LastSeen    time.Time // last seen; never before Time
	Count       int       // requests this record stands for; at least 1
	Source      string    // caller's IP address, when known
	TenantID    string
	ClientID    string
	PrincipalID string
	IdentityID  string // managed identity resource ID, if any
	Resource    string
	Credential  string // clientSecret, certificate, federated
	Result      string // success or failure
	ErrorCode   int    // AADSTS code, 0 on success
	Reason      string
	Issuer      string // assertion issuer (federated), as the assertion claims it
	Subject     string // assertion subject (federated), as the assertion claims it
	// Verified is true when the assertion's signature was checked with the
	// keys of an issuer the identity trusts (federated): only then are
	// Issuer and Subject more than what a caller wrote, and may a
	// "create the credential that would have matched" fix be offered.
	Verified bool
}

// RoleDefinition is a custom role (built-in roles live in package rbac).
type RoleDefinition struct {
	ID               string
	Name             string
	Description      string
	AssignableScopes []string
	Permissions      []RolePermission
	CreatedAt        time.Time
	UpdatedAt        time.Time
}

// RolePermission is one permissions block of a role: the actions and data
// actions it grants, less the ones it excludes.
type RolePermission struct {
	Actions        []string
	NotActions     []string
	DataActions    []string
	NotDataActions []string
}

// RoleAssignment gives a principal a role at a scope.
type RoleAssignment struct {
	ID               string // GUID
	Scope            string // as given, e.g. /subscriptions/s/resourceGroups/rg
	PrincipalID      string
	PrincipalType    string // User, Group, ServicePrincipal, ...
	RoleDefinitionID string // role GUID
	Description      string
	CreatedBy        string
	CreatedAt        time.Time
	UpdatedAt        time.Time
}

// Vault is a Key Vault–compatible vault. Names are global.
type Vault struct {
	SubscriptionID string
	ResourceGroup  string
	Name           string
	Location       string
	Tags           map[string]string
	TenantID       string
	SKU            string
	// Echo is the rest of the JSON the vault's PUT sent (a JSON object,
	// or empty), answered back where Ward's answer has no value.
	Echo      json.RawMessage
	CreatedAt time.Time
	UpdatedAt time.Time
}

// Registry is a Microsoft.ContainerRegistry/registries resource. Names are
// global, as login server host names are.
type Registry struct {
	SubscriptionID string
	ResourceGroup  string
	Name           string
	Location       string
	Tags           map[string]string
	SKU            string
	// Echo is the rest of the JSON the registry's PUT sent, merged with
	// later PATCHes (a JSON object, or empty), answered back where Ward's
	// answer has no value of its own.
	Echo      json.RawMessage
	CreatedAt time.Time
	UpdatedAt time.Time
}

// Secret is one version of a vault secret; the value is encrypted.
type Secret struct {
	Vault          string
	Name           string
	Version        string // 32 hex characters
	EncryptedValue []byte
	ContentType    string
	Enabled        bool
	NotBefore      time.Time
	Expires        time.Time
	Tags           map[string]string
	CreatedAt      time.Time
	UpdatedAt      time.Time
	// DeletedAt and PurgeAt are set on a soft-deleted secret (zero on a
	// live one): when it was deleted and when it is purged for good.
	DeletedAt time.Time
	PurgeAt   time.Time
}

// ActivityEvent is one management write in the activity log.
type ActivityEvent struct {
	ID             string
	Time           time.Time
	SubscriptionID string // "" for tenant-level writes
	CallerAppID    string
	CallerObjectID string
	Method         string
	Action         string // e.g. Microsoft.ManagedIdentity/userAssignedIdentities/write
	Scope          string
	StatusCode     int
	Result         string // Succeeded or Failed
	CorrelationID  string
}

// Cluster is a managed cluster. The clusters package owns its rules; the
// store keeps Spec as JSON text in one column.
type Cluster struct {
	ID             string // GUID, stable for the cluster's life (its issuer path)
	SubscriptionID string
	ResourceGroup  string
	Name           string
	Location       string
	Tags           map[string]string
	Spec           ClusterSpec
	CreatedAt      time.Time
	UpdatedAt      time.Time
}

// ClusterSpec is a cluster's identity, issuer and feature settings.
type ClusterSpec struct {
	IdentityType         string `json:"identityType"` // SystemAssigned or UserAssigned
	SystemPrincipalID    string `json:"systemPrincipalId,omitempty"`
	SystemAppID          string `json:"systemAppId,omitempty"`
	ControlPlaneIdentity string `json:"controlPlaneIdentity,omitempty"` // UAMI resource ID
	KubeletIdentity      string `json:"kubeletIdentity"`                // UAMI resource ID
	// ControlPlaneBinding and KubeletBinding record the principals the two
	// identities had when they were attached (see Binding); nil for
	// clusters stored before Ward recorded them.
	ControlPlaneBinding *Binding `json:"controlPlaneBinding,omitempty"`
	KubeletBinding      *Binding `json:"kubeletBinding,omitempty"`
	KubeletManaged      bool     `json:"kubeletManaged"` // created (and deleted) by Ward
	NodeResourceGroup   string   `json:"nodeResourceGroup"`
	// NodeResourceGroupOwned is set when Ward created the node resource
	// group for this cluster: only then does deleting the cluster delete it.
	NodeResourceGroupOwned bool   `json:"nodeResourceGroupOwned,omitempty"`
	OIDCIssuer             bool   `json:"oidcIssuer"`
	WorkloadIdentity       bool   `json:"workloadIdentity"`
	KubernetesVersion      string `json:"kubernetesVersion"`
	DNSPrefix              string `json:"dnsPrefix"`
	// ServiceAccountKeys, when set, are the public keys of a self-managed
	// cluster's kube-apiserver (bring your own): the issuer publishes them
	// and Ward mints no tokens for the cluster.
	ServiceAccountKeys *jose.JSONWebKeySet `json:"serviceAccountKeys,omitempty"`
	// NodePools holds the node pools other than the default one, and the
	// default one once identities are attached to it.
	NodePools map[string]NodePool `json:"nodePools,omitempty"`
	// NetworkProfile is the request's properties.networkProfile as sent (a
	// JSON object): Ward runs no network, but answers with what the user
	// declared, as AKS does.
	NetworkProfile json.RawMessage `json:"networkProfile,omitempty"`
	// Echo is the rest of the JSON the user sent (a JSON object), answered
	// back wherever Ward's own answer has no value: see clusters.Request.
	Echo json.RawMessage `json:"echo,omitempty"`
}

// DefaultNodePool is the node pool every cluster has, as AKS names its
// first pool; its agents attest under this name (agentproto).
const DefaultNodePool = agentproto.DefaultPool

// NodePool is a node pool: the user-assigned identities attached to its
// nodes (AKS attaches them to the pool's scale set), served by the node
// agent besides the cluster's kubelet identity.
type NodePool struct {
	UserAssigned []string `json:"userAssigned,omitempty"` // identity resource IDs
	// Bindings records, by lower-cased resource ID, the principal each
	// identity had when it was attached (see Binding).
	Bindings map[string]Binding `json:"bindings,omitempty"`
	// Echo is the JSON the pool's last PUT declared (vmSize, count,
	// nodeLabels, …: what Ward runs no nodes for), answered back wherever
	// Ward's own answer has no value, as a cluster's Echo is.
	Echo json.RawMessage `json:"echo,omitempty"`
}

// Binding is what an attachment of a user-assigned identity (to a machine,
// a cluster, a node pool) recorded when it was authorized, as Azure keeps
// principalId and clientId in a resource's userAssignedIdentities: the
// identity is stored by resource ID, and a different identity created later
// under the same name (a new principal, perhaps with other roles) is not
// the one the attaching caller was allowed to assign, so it is not served.
type Binding struct {
	PrincipalID string `json:"principalId"`
	ClientID    string `json:"clientId"`
}

// Is reports whether the identity with resource ID rid and principal
// principalID is the one attached as attachedID with binding b: the same
// resource ID and, when a binding was recorded, the same principal. Views
// (the console's graph) use it so that an identity re-created under an
// attached name is not drawn as attached.
func (b *Binding) Is(attachedID, rid, principalID string) bool {
	return attachedID != "" && strings.EqualFold(attachedID, rid) && (b == nil || strings.EqualFold(b.PrincipalID, principalID))
}

// BindingOf returns the binding of identity resource ID rid in m.
func BindingOf(m map[string]Binding, rid string) (*Binding, bool) {
	b, ok := m[strings.ToLower(rid)]
	if !ok {
		return nil, false
	}
	return &b, true
}

// Bind records b for rid in m (allocating m when nil) and returns m.
func Bind(m map[string]Binding, rid string, b Binding) map[string]Binding {
	if m == nil {
		m = map[string]Binding{}
	}
	m[strings.ToLower(rid)] = b
	return m
}

// NodePool returns the pool named name (any case); the default pool
// always exists.
func (sp ClusterSpec) NodePool(name string) (NodePool, bool) {
	for n, p := range sp.NodePools {
		if strings.EqualFold(n, name) {
			return p, true
		}
	}
	return NodePool{}, strings.EqualFold(name, DefaultNodePool)
}

// ClusterRef names a cluster.
type ClusterRef struct {
	SubscriptionID, ResourceGroup, Name string
}

// ResourceGroup is an ARM resource group.
type ResourceGroup struct {
	SubscriptionID string
	Name           string
	Location       string
	Tags           map[string]string
	// ManagedBy is the ID of the resource that manages the group, as its
	// PUT declared it ("" for none).
	ManagedBy string
	CreatedAt time.Time
	UpdatedAt time.Time
}

// Identity is a user-assigned managed identity.
type Identity struct {
	SubscriptionID string
	ResourceGroup  string
	Name           string
	Location       string
	Tags           map[string]string
	TenantID       string
	ClientID       string
	PrincipalID    string
	IsolationScope string // "None" or "Regional"
	CreatedAt      time.Time
	UpdatedAt      time.Time
}

// IdentityRef names one identity; comparisons are case-insensitive.
type IdentityRef struct {
	SubscriptionID, ResourceGroup, Name string
}

// Ref returns the identity's reference.
func (i Identity) Ref() IdentityRef {
	return IdentityRef{i.SubscriptionID, i.ResourceGroup, i.Name}
}

// FederatedCredential trusts tokens from an external issuer for an identity.
type FederatedCredential struct {
	Identity  IdentityRef
	Name      string
	Issuer    string
	Subject   string // "" when Expression is set
	Audiences []string
	// Expression and ExpressionVersion are a flexible credential's claims
	// matching expression (package claimsexpr), used instead of Subject;
	// "" and 0 for a plain credential.
	Expression        string
	ExpressionVersion int
	CreatedAt         time.Time
	UpdatedAt         time.Time
}

// Matcher is what the credential requires of a token beside its issuer and
// audience: its subject, or its claims-matching expression. A token issued
// for the credential is bound to it (authn.FederatedCredential), so that
// changing either ends what was derived from the token.
func (f FederatedCredential) Matcher() string {
	if f.Expression != "" {
		return "claims:" + f.Expression
	}
	return f.Subject
}

// Page asks for one page of a list: every List method of Storage takes one
// (but the logs, ListActivity and ListSignIns, which take a time and a
// limit) and returns the page's items with the cursor of the next page (""
// after the last). Lists are ordered by a stable key; After is the opaque cursor a
// previous page returned. A backend caps Limit (storage/sql: 1000, default
// 100), so no list is unbounded.
type Page struct {
	Limit int    // <= 0: the backend's default
	After string // cursor from a previous page, or ""
}

// All gathers every page of a list, for callers that need the whole of it
// (the RBAC index, ARM lists answered in one response):
//
//	vaults, err := storage.All(func(p storage.Page) ([]storage.Vault, string, error) {
//		return store.ListVaults(ctx, sub, rg, p)
//	})
func All[T any](list func(p Page) (items []T, next string, err error)) ([]T, error) {
	out := []T{}
	var p Page
	for {
		items, next, err := list(p)
		if err != nil {
			return nil, err
		}
		out = append(out, items...)
		if next == "" {
			return out, nil
		}
		p.After = next
	}
}

// IdentityFilter narrows ListIdentities; an empty ResourceGroup lists the
// whole subscription.
type IdentityFilter struct {
	SubscriptionID string
	ResourceGroup  string
}

// Storage is Ward's persistence interface. All methods are safe for
// concurrent use. A method that returns nil has made its write durable.
type Storage interface {
	Close() error
	ChangeFeed

	CreateTenant(ctx context.Context, t Tenant) error
	GetTenant(ctx context.Context, id string) (Tenant, error)

	CreateSubscription(ctx context.Context, s Subscription) error
	GetSubscription(ctx context.Context, id string) (Subscription, error)
	ListSubscriptions(ctx context.Context, p Page) (items []Subscription, next string, err error)

	CreateServicePrincipal(ctx context.Context, sp ServicePrincipal) error
	GetServicePrincipalByAppID(ctx context.Context, appID string) (ServicePrincipal, error)
	GetServicePrincipal(ctx context.Context, objectID string) (ServicePrincipal, error)
	// ListServicePrincipals lists one page, by display name then object ID.
	ListServicePrincipals(ctx context.Context, p Page) (items []ServicePrincipal, next string, err error)
	// DeleteServicePrincipal deletes it with its secrets and certificates.
	DeleteServicePrincipal(ctx context.Context, objectID string) error
	AddClientSecret(ctx context.Context, s ClientSecret) error
	// ListClientSecrets lists one page of a principal's secrets, oldest first.
	ListClientSecrets(ctx context.Context, appID string, p Page) (items []ClientSecret, next string, err error)
	DeleteClientSecret(ctx context.Context, appID, keyID string) error
	AddCertificate(ctx context.Context, c Certificate) error
	// ListCertificates lists one page of a principal's certificates, oldest first.
	ListCertificates(ctx context.Context, appID string, p Page) (items []Certificate, next string, err error)
	DeleteCertificate(ctx context.Context, appID, keyID string) error

	CreateSigningKey(ctx context.Context, k SigningKey) error
	// ListSigningKeys lists one page of an owner's keys ("" is the token
	// service), oldest activation first.
	ListSigningKeys(ctx context.Context, owner string, p Page) (items []SigningKey, next string, err error)
	DeleteSigningKey(ctx context.Context, kid string) error

	// CreateRoleDefinition stores a new custom role; ErrAlreadyExists when
	// the ID is taken.
	CreateRoleDefinition(ctx context.Context, d RoleDefinition) error
	// UpdateRoleDefinition applies fn to the stored role inside a
	// transaction; name, description, scopes, permissions and the update
	// time are written. ErrNotFound when the role does not exist.
	UpdateRoleDefinition(ctx context.Context, id string, fn func(old RoleDefinition) (RoleDefinition, error)) (RoleDefinition, error)
	GetRoleDefinition(ctx context.Context, id string) (RoleDefinition, error)
	// ListRoleDefinitions lists one page of custom roles, by name then ID.
	ListRoleDefinitions(ctx context.Context, p Page) (items []RoleDefinition, next string, err error)
	DeleteRoleDefinition(ctx context.Context, id string) error

	// CreateRoleAssignment stores a new assignment; ErrAlreadyExists when
	// the ID or the (scope, principal, role) triple is taken.
	CreateRoleAssignment(ctx context.Context, a RoleAssignment) error
	GetRoleAssignment(ctx context.Context, id string) (RoleAssignment, error)
	// FindRoleAssignment returns the assignment of (scope, principal, role).
	FindRoleAssignment(ctx context.Context, scope, principalID, roleID string) (RoleAssignment, error)
	// ListRoleAssignments returns one page of assignments (the RBAC index
	// loads them all, with All).
	ListRoleAssignments(ctx context.Context, p Page) (items []RoleAssignment, next string, err error)
	DeleteRoleAssignment(ctx context.Context, id string) error
	// GetIdentityByPrincipalID reads a managed identity by its principal ID.
	GetIdentityByPrincipalID(ctx context.Context, principalID string) (Identity, error)

	// PutVault creates or updates a vault; ErrAlreadyExists when the name is
	// taken in another resource group.
	PutVault(ctx context.Context, v Vault) (created bool, err error)
	// UpdateVault applies fn to the stored vault inside a transaction; tags,
	// SKU and the update time are written. ErrNotFound when it does not exist.
	UpdateVault(ctx context.Context, name string, fn func(old Vault) (Vault, error)) (Vault, error)
	GetVault(ctx context.Context, name string) (Vault, error)
	// ListVaults lists one page of a group's vaults, or a subscription's
	// when rg is "".
	ListVaults(ctx context.Context, sub, rg string, p Page) (items []Vault, next string, err error)
	DeleteVault(ctx context.Context, name string) error

	// CreateRegistry stores a new registry; ErrAlreadyExists when the name
	// is taken anywhere, ErrParentNotFound when its group does not exist.
	CreateRegistry(ctx context.Context, r Registry) error
	// UpdateRegistry applies fn to the stored registry inside a
	// transaction; tags, SKU and the update time are written. ErrNotFound
	// when it does not exist.
	UpdateRegistry(ctx context.Context, name string, fn func(old Registry) (Registry, error)) (Registry, error)
	GetRegistry(ctx context.Context, name string) (Registry, error)
	// ListRegistries lists one page of a group's registries, or a
	// subscription's when rg is "".
	ListRegistries(ctx context.Context, sub, rg string, p Page) (items []Registry, next string, err error)
	DeleteRegistry(ctx context.Context, name string) error

	// AddSecretVersion stores a new version of a secret. ErrAlreadyExists
	// when the version exists, or when a deleted secret holds the name
	// (Key Vault's name cannot be reused until it is recovered or purged).
	AddSecretVersion(ctx context.Context, s Secret) error
	// UpdateSecretVersion applies fn to a stored version (the newest when
	// version is "") of a live secret inside a transaction; attributes,
	// tags, content type and the update time are written. ErrNotFound when
	// it does not exist.
	UpdateSecretVersion(ctx context.Context, vault, name, version string, fn func(old Secret) (Secret, error)) (Secret, error)
	// GetSecret returns a version of a live secret, or the newest when
	// version is "".
	GetSecret(ctx context.Context, vault, name, version string) (Secret, error)
	// ListSecrets returns one page of the newest version of each live
	// secret.
	ListSecrets(ctx context.Context, vault string, p Page) (items []Secret, next string, err error)
	// ListSecretVersions lists one page of a live secret's versions, newest
	// first.
	ListSecretVersions(ctx context.Context, vault, name string, p Page) (items []Secret, next string, err error)
	// DeleteSecret deletes every version of a live secret outright.
	DeleteSecret(ctx context.Context, vault, name string) error
	// SoftDeleteSecret marks every version of a live secret deleted at
	// deletedAt, to be purged at purgeAt, and returns its newest version.
	// ErrNotFound when no live secret has the name.
	SoftDeleteSecret(ctx context.Context, vault, name string, deletedAt, purgeAt time.Time) (Secret, error)
	// GetDeletedSecret returns the newest version of a deleted secret.
	GetDeletedSecret(ctx context.Context, vault, name string) (Secret, error)
	// ListDeletedSecrets returns one page of the newest version of each
	// deleted secret, by name.
	ListDeletedSecrets(ctx context.Context, vault string, p Page) (items []Secret, next string, err error)
	// RecoverDeletedSecret makes a deleted secret live again, every version
	// as it was, and returns its newest version.
	RecoverDeletedSecret(ctx context.Context, vault, name string) (Secret, error)
	// PurgeDeletedSecret deletes every version of a deleted secret.
	PurgeDeletedSecret(ctx context.Context, vault, name string) error

	// PutCluster creates or replaces a cluster; created reports which.
	PutCluster(ctx context.Context, c Cluster) (created bool, err error)
	// UpdateCluster runs a read-modify-write of one cluster in a
	// transaction: fn gets the stored cluster, or nil when there is none,
	// and returns the cluster to store (nil stores nothing). fn may run more
	// than once (the transaction is retried on a conflict), so it must do
	// no I/O. On update the ID, names and creation time stay as stored.
	UpdateCluster(ctx context.Context, ref ClusterRef, fn func(old *Cluster) (*Cluster, error)) (Cluster, error)
	GetCluster(ctx context.Context, ref ClusterRef) (Cluster, error)
	GetClusterByID(ctx context.Context, id string) (Cluster, error)
	// ListClusters lists one page of a group's clusters, or a
	// subscription's when rg is "".
	ListClusters(ctx context.Context, sub, rg string, p Page) (items []Cluster, next string, err error)
	DeleteCluster(ctx context.Context, ref ClusterRef) error

	MachineStore
	BlobStore
	PolicyStore
	RegistrationStore

	// RecordActivity appends an event; text fields are stored as
	// ActivityEvent.Bounded returns them.
	RecordActivity(ctx context.Context, e ActivityEvent) error
	// ListActivity returns a subscription's events at or after since, newest first.
	ListActivity(ctx context.Context, sub string, since time.Time, limit int) ([]ActivityEvent, error)

	// DeleteActivityBefore deletes the events recorded before t (retention)
	// and returns how many it deleted.
	DeleteActivityBefore(ctx context.Context, t time.Time) (int64, error)

	// RecordSignIn stores one record, as RecordSignIns does.
	RecordSignIn(ctx context.Context, s SignIn) error
	// RecordSignIns stores records in one transaction. A record whose ID is
	// already stored is merged into the stored one: its Count is added and
	// LastSeen becomes the later of the two; the other fields stay as first
	// stored. Text fields are stored as SignIn.Bounded returns them.
	RecordSignIns(ctx context.Context, batch []SignIn) error
	// ListSignIns returns sign-ins first seen at or after since, newest first.
	ListSignIns(ctx context.Context, since time.Time, limit int) ([]SignIn, error)
	// DeleteSignInsBefore deletes the records last seen before t (retention)
	// and returns how many it deleted.
	DeleteSignInsBefore(ctx context.Context, t time.Time) (int64, error)

	// PutResourceGroup creates or replaces a group; created reports which.
	PutResourceGroup(ctx context.Context, rg ResourceGroup) (created bool, err error)
	GetResourceGroup(ctx context.Context, sub, name string) (ResourceGroup, error)
	ListResourceGroups(ctx context.Context, sub string, p Page) (items []ResourceGroup, next string, err error)
	// DeleteResourceGroup deletes the group and everything in it.
	DeleteResourceGroup(ctx context.Context, sub, name string) error

	// CreateIdentity stores a new identity; ErrAlreadyExists if the name is
	// taken, ErrParentNotFound if the group is missing.
	CreateIdentity(ctx context.Context, id Identity) error
	// UpdateIdentity applies fn to the stored identity inside a transaction.
	UpdateIdentity(ctx context.Context, ref IdentityRef, fn func(old Identity) (Identity, error)) (Identity, error)
	GetIdentity(ctx context.Context, ref IdentityRef) (Identity, error)
	GetIdentityByClientID(ctx context.Context, clientID string) (Identity, error)
	ListIdentities(ctx context.Context, f IdentityFilter, p Page) (items []Identity, next string, err error)
	// DeleteIdentity deletes the identity and its federated credentials.
	DeleteIdentity(ctx context.Context, ref IdentityRef) error

	// PutFederatedCredential creates or replaces a credential. Inside the
	// transaction it calls check with the identity's other credentials (the
	// one being replaced excluded), so that rules spanning siblings (count,
	// issuer+subject uniqueness) hold under concurrency. ErrParentNotFound if
	// the identity is missing.
	PutFederatedCredential(ctx context.Context, c FederatedCredential, check func(siblings []FederatedCredential) error) (created bool, err error)
	GetFederatedCredential(ctx context.Context, ref IdentityRef, name string) (FederatedCredential, error)
	ListFederatedCredentials(ctx context.Context, ref IdentityRef, p Page) (items []FederatedCredential, next string, err error)
	DeleteFederatedCredential(ctx context.Context, ref IdentityRef, name string) error
}

// Change is one entry of the change feed: a row of Table with key Key was
// inserted, updated or deleted. The database writes it in the same
// transaction as the change itself (triggers), so no committed write is
// ever missing from the feed.
type Change struct {
	Seq   int64
	Table string
	Key   string
	At    time.Time
}

// ChangeFeed lets every replica's in-memory views follow the database.
type ChangeFeed interface {
	// Changes returns up to limit changes with Seq > after, in Seq order.
	Changes(ctx context.Context, after int64, limit int) ([]Change, error)
	// ChangeHead returns the highest Seq written so far (0 for none).
	ChangeHead(ctx context.Context) (int64, error)
	// WatchChanges returns a channel that receives whenever a change may
	// have been committed by any process (PostgreSQL LISTEN/NOTIFY), until
	// ctx ends; nil where the database has no notifications (SQLite: one
	// process, whose own writes update its views directly).
	WatchChanges(ctx context.Context) (<-chan struct{}, error)
	// PruneChanges deletes changes recorded before t.
	PruneChanges(ctx context.Context, before time.Time) (int64, error)
	// CountRoleAssignments counts the stored role assignments (the
	// periodic consistency check of the RBAC index).
	CountRoleAssignments(ctx context.Context) (int, error)
	// WithLock runs fn while holding the database-wide lock named by key,
	// so that replicas starting together bootstrap (and rotate keys) once.
	WithLock(ctx context.Context, key string, fn func(ctx context.Context) error) error
	// GetSetting reads a server-wide setting (ErrNotFound when unset);
	// CreateSetting stores one unless it exists (ErrAlreadyExists);
	// PutSetting stores one, replacing any (an operator's recovery: a new
	// admin).
	GetSetting(ctx context.Context, name string) (string, error)
	CreateSetting(ctx context.Context, name, value string) error
	PutSetting(ctx context.Context, name, value string) error
}
