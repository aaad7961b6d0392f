// Command protected-api is a small service protected by Ward the way Ward's
// vaults are: callers present a Ward token for api://reports, and may read a
// report only if a role assignment grants them the data action
// Contoso.Reports/reports/read at that report (or above).
//
// The service authenticates to Ward as its own service principal, which
// needs Reader on the resource group (to ask Ward about its callers):
//
//	ward ad sp create-for-rbac -n reports-api --role Reader --scopes /subscriptions/$SUB/resourceGroups/reports
//	WARD_URL=https://127.0.0.1:8443 AZURE_TENANT_ID=... AZURE_CLIENT_ID=<appId> AZURE_CLIENT_SECRET=<password> \
//	  REPORTS_SCOPE=/subscriptions/$SUB/resourceGroups/reports SSL_CERT_FILE=ward-data/ca.pem go run ./examples/protected-api
package main

import (
	"fmt"
	"log"
	"net/http"
	"os"
	"strings"

	"github.com/ward-id/ward/authcheck"
	"github.com/ward-id/ward/client"
)

func main() {
	ward, tenant := os.Getenv("WARD_URL"), os.Getenv("AZURE_TENANT_ID")
	scope := strings.TrimSuffix(os.Getenv("REPORTS_SCOPE"), "/")
	if ward == "" || tenant == "" || scope == "" {
		log.Fatal("set WARD_URL, AZURE_TENANT_ID, AZURE_CLIENT_ID, AZURE_CLIENT_SECRET and REPORTS_SCOPE")
	}
	hc, err := client.NewHTTPClient(os.Getenv("SSL_CERT_FILE"))
	if err != nil {
		log.Fatal(err)
	}
	self := &client.ClientCredentials{AuthorityHost: ward, TenantID: tenant, ClientID: os.Getenv("AZURE_CLIENT_ID"),
		ClientSecret: os.Getenv("AZURE_CLIENT_SECRET"), Resource: "https://management.azure.com/", HTTP: hc}
	protect := authcheck.Middleware(
		authcheck.NewVerifier(ward, tenant, []string{"api://reports"}, hc),
		&authcheck.Checker{WardURL: ward, HTTP: hc, Token: self},
		"Contoso.Reports/reports/read", true,
		func(r *http.Request) string {
			return scope + "/providers/Contoso.Reports/reports/" + strings.TrimPrefix(r.URL.Path, "/reports/")
		})
	http.Handle("/reports/", protect(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, _ := authcheck.ClaimsFrom(r.Context())
		fmt.Fprintf(w, "report %s for %s\n", strings.TrimPrefix(r.URL.Path, "/reports/"), c.AppID)
	})))
	log.Println("listening on 127.0.0.1:8080")
	log.Fatal(http.ListenAndServe("127.0.0.1:8080", nil))
}
