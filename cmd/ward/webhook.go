package main

import (
	"errors"
	"log/slog"
	"os"

	"github.com/spf13/cobra"
	"github.com/ward-id/ward/internal/webhook"
)

func envOr(key, def string) string {
	if v := os.Getenv(key); v != "" {
		return v
	}
	return def
}

func webhookCmd() *cobra.Command {
	var o webhook.Options
	var logLevel, tlsMin, missing string
	var selfSigned bool
	cmd := &cobra.Command{
		Use:   "webhook",
		Short: "Run the workload identity mutating admission webhook (azure.workload.identity compatible)",
		Long: `Serves AdmissionReview v1 and v1beta1 at /mutate-v1-pod: pods labelled
azure.workload.identity/use: "true" get AZURE_CLIENT_ID, AZURE_TENANT_ID,
AZURE_FEDERATED_TOKEN_FILE and AZURE_AUTHORITY_HOST and a projected
service-account token at /var/run/secrets/azure/tokens/azure-identity-token.
Manifests: deploy/webhook (or ward aks show-install).`,
		RunE: func(cmd *cobra.Command, args []string) error {
			var lvl slog.Level
			if err := lvl.UnmarshalText([]byte(logLevel)); err != nil {
				return err
			}
			o.Logger = slog.New(slog.NewJSONHandler(os.Stderr, &slog.HandlerOptions{Level: lvl}))
			noHeapSampling() // a long-running daemon with no profiling endpoint
			v, err := webhook.TLSVersion(tlsMin)
			if err != nil {
				return err
			}
			o.TLSMinVersion = v
			switch webhook.MissingClientID(missing) {
			case webhook.DenyMissingClientID, webhook.WarnMissingClientID:
				o.Mutation.MissingClientID = webhook.MissingClientID(missing)
			default:
				return errors.New("--missing-client-id must be deny or warn")
			}
			if o.Mutation.TenantID == "" {
				return errors.New("--tenant-id (or AZURE_TENANT_ID) is required: the tenant injected as AZURE_TENANT_ID (ward account show --query tenantId -o tsv)")
			}
			if o.Mutation.AuthorityHost == "" {
				return errors.New("--authority-host (or AZURE_AUTHORITY_HOST) is required: Ward's public URL, which pods use to exchange their token")
			}
			if selfSigned == (o.CertDir != "") {
				return errors.New("choose one of --cert-dir DIR (bring your own certificate) or --self-signed")
			}
			return webhook.Run(cmd.Context(), o)
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.Addr, "addr", ":9443", "HTTPS listen address for admission requests")
	f.StringVar(&o.ProbeAddr, "probe-addr", ":9440", "plain-HTTP address for /healthz, /readyz and /metrics (empty: only on --addr)")
	f.StringVar(&o.Kubeconfig, "kubeconfig", "", "kubeconfig file (default: KUBECONFIG, ~/.kube/config, then in-cluster)")
	f.StringVar(&o.Mutation.TenantID, "tenant-id", os.Getenv("AZURE_TENANT_ID"), "tenant injected when a service account has no tenant-id annotation (env AZURE_TENANT_ID)")
	f.StringVar(&o.Mutation.AuthorityHost, "authority-host", envOr("AZURE_AUTHORITY_HOST", os.Getenv("WARD_URL")), "Ward's public URL, injected as AZURE_AUTHORITY_HOST (env AZURE_AUTHORITY_HOST or WARD_URL)")
	f.StringVar(&o.Mutation.Audience, "audience", webhook.DefaultAudience, "audience of the projected service-account token")
	f.StringVar(&missing, "missing-client-id", "deny", "a selected pod with no client-id on the pod or its service account: deny, or warn (admit with a warning)")
	f.StringVar(&o.Mutation.CAConfigMap, "ca-configmap", "", "ConfigMap (key ca.crt) with Ward's CA, projected for pods annotated azure.workload.identity/inject-ca: \"true\"")
	f.StringVar(&o.CertDir, "cert-dir", "", "directory with tls.crt and tls.key, reloaded when they change")
	f.BoolVar(&selfSigned, "self-signed", false, "create a CA and serving certificate, keep them in a Secret and write caBundle into the webhook configuration")
	f.StringVar(&o.Namespace, "namespace", envOr("POD_NAMESPACE", "ward-system"), "namespace of the webhook's Secret and Service (env POD_NAMESPACE)")
	f.StringVar(&o.SecretName, "secret-name", "ward-webhook-server-cert", "Secret holding the self-signed certificate")
	f.StringVar(&o.ServiceName, "service-name", "ward-webhook", "Service in front of the webhook (the certificate's DNS names)")
	f.StringVar(&o.WebhookConfigName, "webhook-config-name", "ward-workload-identity-webhook", "MutatingWebhookConfiguration whose caBundle is kept current (empty: leave it)")
	f.StringSliceVar(&o.ExtraHosts, "tls-san", nil, "extra IPs or DNS names for the self-signed certificate")
	f.StringVar(&tlsMin, "tls-min-version", "1.3", "minimum TLS version: 1.2 or 1.3")
	f.StringVar(&logLevel, "log-level", "info", "log level: debug, info, warn, error")
	return cmd
}
