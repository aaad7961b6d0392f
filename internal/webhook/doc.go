// Package webhook is the workload identity admission webhook that replaces
// the open-source azure-workload-identity one: for pods whose service
// account or labels ask for it (azure.workload.identity/use), it adds the
// projected service-account token volume and the AZURE_* environment with
// the smallest patch, answers AdmissionReview v1, serves TLS with a
// certificate it reloads from a directory (a mounted Secret) or makes
// itself, and reads service accounts from an informer cache.
package webhook
