// Package podidmigrate plans and performs the move of a cluster from
// aad-pod-identity to workload identity with Ward.
//
// aad-pod-identity ties an identity to pods: an AzureIdentityBinding's
// selector matches the pod label aadpodidbinding, and the node's IMDS
// answers for the identity. Workload identity ties it to a service account:
// a federated credential on the identity trusts the cluster issuer's token
// for system:serviceaccount:NS:SA, the service account carries the
// identity's client ID, and the pod carries azure.workload.identity/use.
// A migration therefore walks binding → pods → service accounts, and
// reports what has no one-to-one translation: pods on the namespace's
// default service account, a service account whose pods use several
// identities, service-principal identities, exceptions that relied on the
// node's IMDS, identities Ward does not hold.
//
// The package reads the cluster through client-go (Read), plans as a pure
// function of what it read (NewPlan), and applies the pending steps
// (Apply) through the Kubernetes API and a Ward interface the caller
// provides; it knows nothing of flags or of Ward's HTTP API.
package podidmigrate
