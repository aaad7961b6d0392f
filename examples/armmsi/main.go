// Command armmsi is the README's quick start in Go: it creates a resource
// group, a user-assigned identity and a federated identity credential on a
// local Ward server with the unmodified Azure SDK for Go.
//
//	SSL_CERT_FILE=ward-data/ca.pem go run ./examples/armmsi
package main

import (
	"context"
	"encoding/json"
	"fmt"
	"log"
	"os"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/arm"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/cloud"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/msi/armmsi"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/resources/armresources"
)

func main() {
	data := os.Getenv("WARD_DATA")
	if data == "" {
		data = "ward-data"
	}
	b, err := os.ReadFile(data + "/admin.json")
	if err != nil {
		log.Fatalf("read admin.json (is ward serve running here?): %v", err)
	}
	var admin struct{ TenantID, SubscriptionID, ClientID, ClientSecret, ResourceManager string }
	if err := json.Unmarshal(b, &admin); err != nil {
		log.Fatal(err)
	}

	// A custom cloud: Ward is both the authority and the resource manager.
	// Ward's CA is trusted through SSL_CERT_FILE, like any private cloud's.
	ward := cloud.Configuration{
		ActiveDirectoryAuthorityHost: admin.ResourceManager,
		Services: map[cloud.ServiceName]cloud.ServiceConfiguration{
			cloud.ResourceManager: {Endpoint: admin.ResourceManager, Audience: "https://management.azure.com"},
		},
	}
	opts := &arm.ClientOptions{ClientOptions: policy.ClientOptions{Cloud: ward}}
	// The unmodified ClientSecretCredential; instance discovery is off, as
	// for every cloud Microsoft's libraries do not know.
	cred, err := azidentity.NewClientSecretCredential(admin.TenantID, admin.ClientID, admin.ClientSecret,
		&azidentity.ClientSecretCredentialOptions{ClientOptions: policy.ClientOptions{Cloud: ward}, DisableInstanceDiscovery: true})
	if err != nil {
		log.Fatal(err)
	}
	ctx := context.Background()

	groups, err := armresources.NewResourceGroupsClient(admin.SubscriptionID, cred, opts)
	if err != nil {
		log.Fatal(err)
	}
	if _, err := groups.CreateOrUpdate(ctx, "myResourceGroup", armresources.ResourceGroup{Location: to.Ptr("westeurope")}, nil); err != nil {
		log.Fatal(err)
	}

	ids, err := armmsi.NewUserAssignedIdentitiesClient(admin.SubscriptionID, cred, opts)
	if err != nil {
		log.Fatal(err)
	}
	id, err := ids.CreateOrUpdate(ctx, "myResourceGroup", "myGoIdentity", armmsi.Identity{Location: to.Ptr("westeurope")}, nil)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("clientId:   ", *id.Properties.ClientID)
	fmt.Println("principalId:", *id.Properties.PrincipalID)

	fics, err := armmsi.NewFederatedIdentityCredentialsClient(admin.SubscriptionID, cred, opts)
	if err != nil {
		log.Fatal(err)
	}
	fic, err := fics.CreateOrUpdate(ctx, "myResourceGroup", "myGoIdentity", "myGoFedCred", armmsi.FederatedIdentityCredential{
		Properties: &armmsi.FederatedIdentityCredentialProperties{
			Issuer:    to.Ptr("https://oidc.example.com/my-cluster/"),
			Subject:   to.Ptr("system:serviceaccount:default:workload-sa"),
			Audiences: []*string{to.Ptr("api://AzureADTokenExchange")},
		},
	}, nil)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("federated credential:", *fic.ID)
}
