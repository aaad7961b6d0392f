package storage

import (
	"context"
	"time"
)

// Registration is a subscription's registration state of a resource
// provider namespace (Feature "") or of one of its preview features, as
// `az provider register/unregister` and `az feature register/unregister`
// set it. Ward gates nothing on it: it is stored so that what a user set
// reads back. A namespace or feature with no row is Registered.
type Registration struct {
	SubscriptionID string
	Namespace      string
	Feature        string
	State          string // Registered or Unregistered
	UpdatedAt      time.Time
}

// RegistrationStore holds registration states. Namespaces and features
// are compared in any case, as ARM compares them.
type RegistrationStore interface {
	// PutRegistration stores a state, replacing any stored for the same
	// subscription, namespace and feature; ErrParentNotFound when the
	// subscription does not exist.
	PutRegistration(ctx context.Context, r Registration) error
	// ListRegistrations lists a subscription's stored states, by
	// namespace then feature.
	ListRegistrations(ctx context.Context, sub string) ([]Registration, error)
}
