// Command workload reads one Key Vault secret as a workload with Microsoft
// Entra workload identity does: the unmodified DefaultAzureCredential, fed
// by the environment that the webhook injects into a pod and that ward run
// sets on a laptop (AZURE_CLIENT_ID, AZURE_TENANT_ID,
// AZURE_FEDERATED_TOKEN_FILE, AZURE_AUTHORITY_HOST, SSL_CERT_FILE), and the
// unmodified azsecrets client. The only Ward-specific line is the one
// every custom cloud needs: DisableInstanceDiscovery.
//
//	KEYVAULT_URL=https://team-kv.vault.localhost:8443/ SECRET_NAME=db-password \
//	  ward run --cluster myCluster -g myResourceGroup --service-account workload-sa -- go run ./examples/workload
package main

import (
	"context"
	"fmt"
	"os"

	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"
	"github.com/Azure/azure-sdk-for-go/sdk/security/keyvault/azsecrets"
)

func main() {
	vaultURL, name := os.Getenv("KEYVAULT_URL"), os.Getenv("SECRET_NAME")
	if vaultURL == "" || name == "" {
		fmt.Fprintln(os.Stderr, "set KEYVAULT_URL (the vault's vaultUri) and SECRET_NAME")
		os.Exit(2)
	}
	cred, err := azidentity.NewDefaultAzureCredential(&azidentity.DefaultAzureCredentialOptions{DisableInstanceDiscovery: true})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	secrets, err := azsecrets.NewClient(vaultURL, cred, nil)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	s, err := secrets.GetSecret(context.Background(), name, "", nil)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	fmt.Println(*s.Value)
}
