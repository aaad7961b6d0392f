package arm_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/ward-id/ward/internal/server/servertest"
)

// TestProvidersAndFeatures: what `az provider list/show/register/
// unregister`, `az feature register/list` and az's api-version discovery
// call.
func TestProvidersAndFeatures(t *testing.T) {
	s := servertest.Start(t)
	tok := s.Token(t, "https://management.azure.com/")
	sub := "/subscriptions/" + s.Admin.SubscriptionID
	const pv, fv = "?api-version=2021-04-01", "?api-version=2021-07-01"
	feat := sub + "/providers/Microsoft.Features/providers/Microsoft.ContainerService/features/EnableWorkloadIdentityPreview"
	s.RunCases(t, []servertest.Case{
		{Name: "list", Method: "GET", Path: sub + "/providers" + pv, Token: tok, Status: http.StatusOK, Contains: `"namespace":"Microsoft.ContainerService","registrationState":"Registered"`},
		{Name: "show with api-versions newest first", Method: "GET", Path: sub + "/providers/microsoft.managedidentity" + pv, Token: tok, Status: http.StatusOK,
			Contains: `{"resourceType":"userAssignedIdentities","locations":[],"apiVersions":["2026-05-31","2026-04-30",`},
		{Name: "register", Method: "POST", Path: sub + "/providers/Microsoft.ContainerService/register" + pv, Token: tok, Status: http.StatusOK, Contains: `"registrationState":"Registered"`},
		{Name: "unregister", Method: "POST", Path: sub + "/providers/Microsoft.ContainerService/unregister" + pv, Token: tok, Status: http.StatusOK, Contains: `"namespace":"Microsoft.ContainerService","registrationState":"Unregistered"`},
		{Name: "show after unregister", Method: "GET", Path: sub + "/providers/microsoft.containerservice" + pv, Token: tok, Status: http.StatusOK, Contains: `"registrationState":"Unregistered"`},
		{Name: "list after unregister", Method: "GET", Path: sub + "/providers" + pv, Token: tok, Status: http.StatusOK, Contains: `"namespace":"Microsoft.ContainerService","registrationState":"Unregistered"`},
		{Name: "others stay registered", Method: "GET", Path: sub + "/providers/Microsoft.KeyVault" + pv, Token: tok, Status: http.StatusOK, Contains: `"registrationState":"Registered"`},
		{Name: "register again", Method: "POST", Path: sub + "/providers/Microsoft.ContainerService/register" + pv, Token: tok, Status: http.StatusOK, Contains: `"registrationState":"Registered"`},
		{Name: "show after register", Method: "GET", Path: sub + "/providers/Microsoft.ContainerService" + pv, Token: tok, Status: http.StatusOK, Contains: `"registrationState":"Registered"`},
		{Name: "unregister a namespace Ward does not serve", Method: "POST", Path: sub + "/providers/Microsoft.Compute/unregister" + pv, Token: tok, Status: http.StatusNotFound, Code: "InvalidResourceNamespace"},
		{Name: "a namespace Ward does not serve", Method: "POST", Path: sub + "/providers/Microsoft.Compute/register" + pv, Token: tok, Status: http.StatusNotFound, Code: "InvalidResourceNamespace"},
		{Name: "no api-version", Method: "GET", Path: sub + "/providers", Token: tok, Status: http.StatusBadRequest, Code: "MissingApiVersionParameter"},
		{Name: "anonymous", Method: "GET", Path: sub + "/providers" + pv, Status: http.StatusUnauthorized},
		{Name: "absent subscription", Method: "GET", Path: "/subscriptions/00000000-0000-0000-0000-0000000000ff/providers" + pv, Token: tok, Status: http.StatusNotFound},
		{Name: "feature register", Method: "POST", Path: feat + "/register" + fv, Token: tok, Status: http.StatusOK, Contains: `"properties":{"state":"Registered"}`},
		{Name: "feature show", Method: "GET", Path: feat + fv, Token: tok, Status: http.StatusOK, Contains: `"name":"Microsoft.ContainerService/EnableWorkloadIdentityPreview"`},
		{Name: "feature list", Method: "GET", Path: sub + "/providers/Microsoft.Features/features" + fv, Token: tok, Status: http.StatusOK, Contains: `EnableOIDCIssuerPreview`},
		{Name: "feature list by namespace", Method: "GET", Path: sub + "/providers/Microsoft.Features/providers/Microsoft.ContainerService/features" + fv, Token: tok, Status: http.StatusOK, Contains: `EnableWorkloadIdentityPreview`},
		{Name: "feature unregister", Method: "POST", Path: feat + "/unregister" + fv, Token: tok, Status: http.StatusOK, Contains: `"properties":{"state":"Unregistered"}`},
		{Name: "feature show after unregister", Method: "GET", Path: feat + fv, Token: tok, Status: http.StatusOK, Contains: `"properties":{"state":"Unregistered"}`},
		{Name: "feature list after unregister", Method: "GET", Path: sub + "/providers/Microsoft.Features/providers/Microsoft.ContainerService/features" + fv, Token: tok, Status: http.StatusOK,
			Contains: `"name":"Microsoft.ContainerService/EnableWorkloadIdentityPreview","properties":{"state":"Unregistered"}`},
		{Name: "feature register again", Method: "POST", Path: feat + "/register" + fv, Token: tok, Status: http.StatusOK, Contains: `"properties":{"state":"Registered"}`},
		{Name: "feature show after register", Method: "GET", Path: feat + fv, Token: tok, Status: http.StatusOK, Contains: `"properties":{"state":"Registered"}`},
		{Name: "feature name too long", Method: "POST", Path: sub + "/providers/Microsoft.Features/providers/Microsoft.ContainerService/features/" + strings.Repeat("a", 300) + "/unregister" + fv, Token: tok,
			Status: http.StatusBadRequest, Code: "InvalidRequestContent"},
		{Name: "feature unregister in an absent subscription", Method: "POST", Path: "/subscriptions/00000000-0000-0000-0000-0000000000ff/providers/Microsoft.Features/providers/Microsoft.ContainerService/features/X/unregister" + fv, Token: tok, Status: http.StatusNotFound},
	})
}
