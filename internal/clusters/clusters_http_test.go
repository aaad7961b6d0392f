package clusters_test

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/ward-id/ward/internal/server/servertest"
)

func TestClustersOverHTTP(t *testing.T) {
	s := servertest.Start(t)
	tok := s.Token(t, "https://management.azure.com/")
	if _, _, err := s.Client.CreateOrUpdateGroup(context.Background(), s.Admin.SubscriptionID, "rg", "westeurope", nil); err != nil {
		t.Fatal(err)
	}
	c := "/subscriptions/" + s.Admin.SubscriptionID + "/resourceGroups/rg/providers/Microsoft.ContainerService/managedClusters/c1"
	const v = "?api-version=2024-02-01"
	issuerPrefix := `"issuerURL":"` + s.URL + "/oidc/"
	s.RunCases(t, []servertest.Case{
		{Name: "created", Method: "PUT", Path: c + v, Token: tok, Body: `{"location":"westeurope","properties":{"oidcIssuerProfile":{"enabled":true}}}`, Status: http.StatusCreated, Contains: issuerPrefix},
		{Name: "updated", Method: "PUT", Path: c + v, Token: tok, Body: `{"properties":{"oidcIssuerProfile":{"enabled":true}}}`, Status: http.StatusOK},
		{Name: "read", Method: "GET", Path: c + v, Token: tok, Status: http.StatusOK, Contains: `"kubeletidentity"`},
		{Name: "issuer cannot be turned off", Method: "PUT", Path: c + v, Token: tok, Body: `{"properties":{"oidcIssuerProfile":{"enabled":false}}}`, Status: http.StatusBadRequest},
		// az's aks update stops before sending anything without these.
		{Name: "agent pool profiles from the node pools", Method: "GET", Path: c + v, Token: tok, Status: http.StatusOK, Contains: `"agentPoolProfiles":[{"name":"nodepool1","count":1,`},
		{Name: "a default network profile", Method: "GET", Path: c + v, Token: tok, Status: http.StatusOK, Contains: `"networkProfile":{"networkPlugin":"kubenet",`},
		{Name: "network profile stored as sent", Method: "PUT", Path: c + v, Token: tok, Body: `{"properties":{"networkProfile":{"networkPlugin":"azure","serviceCidr":"10.2.0.0/24","dnsServiceIP":"10.2.0.10"}}}`, Status: http.StatusOK,
			Contains: `"networkProfile":{"networkPlugin":"azure","serviceCidr":"10.2.0.0/24","dnsServiceIP":"10.2.0.10"}`},
		{Name: "network profile kept when not sent", Method: "PUT", Path: c + v, Token: tok, Body: `{"properties":{}}`, Status: http.StatusOK, Contains: `"networkPlugin":"azure"`},
		{Name: "network profile not an object", Method: "PUT", Path: c + v, Token: tok, Body: `{"properties":{"networkProfile":["azure"]}}`, Status: http.StatusBadRequest},
		{Name: "anonymous", Method: "GET", Path: c + v, Status: http.StatusUnauthorized},
		{Name: "absent", Method: "GET", Path: strings.TrimSuffix(c, "c1") + "nope" + v, Token: tok, Status: http.StatusNotFound, Code: "ResourceNotFound"},
	})

	s.Store.Fail("UpdateCluster", errors.New("disk on fire"))
	defer s.Store.Heal()
	resp, b := s.Do(t, "PUT", strings.TrimSuffix(c, "c1")+"c2"+v, tok, strings.NewReader(`{"location":"westeurope"}`))
	if resp.StatusCode != http.StatusInternalServerError || strings.Contains(string(b), "disk on fire") {
		t.Fatalf("PUT with a failing store = %d %s, want a 500 without the cause", resp.StatusCode, b)
	}
	servertest.ErrorCode(t, b)
}
