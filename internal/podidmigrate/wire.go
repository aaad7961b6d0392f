package podidmigrate

import (
	"github.com/ward-id/ward/internal/audience"
	"github.com/ward-id/ward/internal/webhook"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// aad-pod-identity's names, as its CRDs and controllers spell them.
const (
	// Group is the API group of aad-pod-identity's custom resources.
	Group = "aadpodidentity.k8s.io"
	// BindingLabel is the pod label an AzureIdentityBinding's selector
	// matches.
	BindingLabel = "aadpodidbinding"
	// BehaviorAnnotation on an AzureIdentity with the value "namespaced"
	// limits its bindings to pods of its own namespace.
	BehaviorAnnotation = "aadpodidentity.k8s.io/Behavior"
	behaviorNamespaced = "namespaced"
)

// The AzureIdentity types aad-pod-identity knows.
const (
	TypeUserAssignedMSI       = 0
	TypeServicePrincipal      = 1
	TypeServicePrincipalCert  = 2
	typeUnknown               = -1
	defaultServiceAccountName = webhook.DefaultServiceAccount
)

// The resources Read lists.
var (
	IdentitiesResource = schema.GroupVersionResource{Group: Group, Version: "v1", Resource: "azureidentities"}
	BindingsResource   = schema.GroupVersionResource{Group: Group, Version: "v1", Resource: "azureidentitybindings"}
	ExceptionsResource = schema.GroupVersionResource{Group: Group, Version: "v1", Resource: "azurepodidentityexceptions"}
)

// Workload identity's names, which the migration writes.
const (
	// UseLabel is the pod label the webhook's objectSelector matches.
	UseLabel = webhook.LabelUse
	// UseValue is the only value it matches.
	UseValue = "true"
	// ClientIDAnnotation on the service account names the identity.
	ClientIDAnnotation = webhook.AnnotationClientID
	// Audience is the audience of the projected token and of the
	// federated credentials the migration creates.
	Audience = audience.TokenExchange
)
