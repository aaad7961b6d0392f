// Command wiprog is an unmodified-style workload: DefaultAzureCredential
// (with DisableInstanceDiscovery, as for any custom cloud) gets a token and
// prints its oid claim. ward run supplies the environment.
package main

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"os"
	"strings"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"
)

func main() {
	cred, err := azidentity.NewDefaultAzureCredential(&azidentity.DefaultAzureCredentialOptions{DisableInstanceDiscovery: true})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	tok, err := cred.GetToken(context.Background(), policy.TokenRequestOptions{Scopes: []string{"https://vault.azure.net/.default"}})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(3)
	}
	payload, _ := base64.RawURLEncoding.DecodeString(strings.Split(tok.Token, ".")[1])
	var claims map[string]any
	_ = json.Unmarshal(payload, &claims)
	fmt.Println(claims["oid"])
}
