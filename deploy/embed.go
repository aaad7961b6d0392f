// Package deploy holds Ward's Kubernetes manifests, embedded so that
// `ward aks show-install` prints the same files `kubectl apply -k` reads.
package deploy

import "embed"

// Webhook is deploy/webhook: the workload identity webhook's manifests.
//
//go:embed webhook/*.yaml
var Webhook embed.FS

// WebhookFiles are the webhook's manifests in apply order.
var WebhookFiles = []string{
	"namespace.yaml", "serviceaccount.yaml", "rbac.yaml", "configmap.yaml",
	"deployment.yaml", "pdb.yaml", "service.yaml", "mutatingwebhookconfiguration.yaml",
}

// Agent is deploy/agent: the node agent's DaemonSet and the systemd unit of
// plain machines.
//
//go:embed agent/*.yaml agent/ward-agent.service
var Agent embed.FS

// AgentFiles are the node agent's manifests in apply order.
var AgentFiles = []string{"serviceaccount.yaml", "configmap.yaml", "daemonset.yaml"}
