package e2e

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/runtime"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/msi/armmsi"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/resources/armresources"
)

const aud = "api://AzureADTokenExchange"

type sdk struct {
	groups *armresources.ResourceGroupsClient
	ids    *armmsi.UserAssignedIdentitiesClient
	fics   *armmsi.FederatedIdentityCredentialsClient
}

func newSDK(t *testing.T, w *ward) sdk {
	t.Helper()
	cred := w.adminCredential()
	groups, err := armresources.NewResourceGroupsClient(w.admin.SubscriptionID, cred, w.armOptions())
	if err != nil {
		t.Fatal(err)
	}
	ids, err := armmsi.NewUserAssignedIdentitiesClient(w.admin.SubscriptionID, cred, w.armOptions())
	if err != nil {
		t.Fatal(err)
	}
	fics, err := armmsi.NewFederatedIdentityCredentialsClient(w.admin.SubscriptionID, cred, w.armOptions())
	if err != nil {
		t.Fatal(err)
	}
	return sdk{groups, ids, fics}
}

func respErr(t *testing.T, err error) *azcore.ResponseError {
	t.Helper()
	var re *azcore.ResponseError
	if !errors.As(err, &re) {
		t.Fatalf("got %v, want an *azcore.ResponseError", err)
	}
	return re
}

func TestARMSDKIdentityLifecycle(t *testing.T) {
	t.Parallel()
	w := startWard(t, "")
	c := newSDK(t, w)
	ctx := context.Background()

	var resp *http.Response
	cctx := policy.WithCaptureResponse(ctx, &resp)
	if _, err := c.groups.CreateOrUpdate(cctx, "rg-sdk", armresources.ResourceGroup{Location: to.Ptr("West Europe")}, nil); err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("create group: status %d, want 201", resp.StatusCode)
	}

	created, err := c.ids.CreateOrUpdate(cctx, "rg-sdk", "id-go", armmsi.Identity{Location: to.Ptr("westeurope"), Tags: map[string]*string{"k": to.Ptr("v")}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("create identity: status %d, want 201", resp.StatusCode)
	}
	p := created.Properties
	if p == nil || p.ClientID == nil || p.PrincipalID == nil || p.TenantID == nil || *p.TenantID != w.admin.TenantID {
		t.Fatalf("identity properties = %+v", p)
	}
	if *created.Type != "Microsoft.ManagedIdentity/userAssignedIdentities" || *created.Name != "id-go" ||
		!strings.EqualFold(*created.ID, "/subscriptions/"+w.admin.SubscriptionID+"/resourceGroups/rg-sdk/providers/Microsoft.ManagedIdentity/userAssignedIdentities/id-go") {
		t.Fatalf("identity = type %s name %s id %s", *created.Type, *created.Name, *created.ID)
	}

	// A second PUT updates (200) and keeps the generated IDs.
	again, err := c.ids.CreateOrUpdate(cctx, "rg-sdk", "ID-GO", armmsi.Identity{Location: to.Ptr("westeurope"), Tags: map[string]*string{"k": to.Ptr("v2")}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusOK || *again.Properties.ClientID != *p.ClientID || *again.Tags["k"] != "v2" {
		t.Fatalf("update: status %d, clientId %s (was %s), tags %v", resp.StatusCode, *again.Properties.ClientID, *p.ClientID, again.Tags)
	}

	got, err := c.ids.Get(ctx, "RG-SDK", "Id-Go", nil)
	if err != nil {
		t.Fatal(err)
	}
	if *got.Properties.PrincipalID != *p.PrincipalID || *got.Name != "id-go" {
		t.Fatalf("get: %+v", got.Properties)
	}

	patched, err := c.ids.Update(ctx, "rg-sdk", "id-go", armmsi.IdentityUpdate{Tags: map[string]*string{"team": to.Ptr("platform")}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(patched.Tags) != 1 || *patched.Tags["team"] != "platform" || *patched.Properties.ClientID != *p.ClientID {
		t.Fatalf("patch tags: %v", patched.Tags)
	}

	// Federated credential: create 201, update 200, get, list.
	fic := armmsi.FederatedIdentityCredential{Properties: &armmsi.FederatedIdentityCredentialProperties{
		Issuer: to.Ptr("https://oidc.example.com/tenant/issuer/"), Subject: to.Ptr("system:serviceaccount:default:app"), Audiences: []*string{to.Ptr(aud)}}}
	if _, err := c.fics.CreateOrUpdate(cctx, "rg-sdk", "id-go", "fic-go", fic, nil); err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("create FIC: status %d", resp.StatusCode)
	}
	fic.Properties.Subject = to.Ptr("system:serviceaccount:prod:app")
	upd, err := c.fics.CreateOrUpdate(cctx, "rg-sdk", "id-go", "fic-go", fic, nil)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusOK || *upd.Properties.Subject != "system:serviceaccount:prod:app" {
		t.Fatalf("update FIC: status %d subject %s", resp.StatusCode, *upd.Properties.Subject)
	}
	gotFIC, err := c.fics.Get(ctx, "rg-sdk", "id-go", "fic-go", nil)
	if err != nil {
		t.Fatal(err)
	}
	if *gotFIC.Type != "Microsoft.ManagedIdentity/userAssignedIdentities/federatedIdentityCredentials" || *gotFIC.Properties.Issuer != "https://oidc.example.com/tenant/issuer/" {
		t.Fatalf("get FIC: %s %s", *gotFIC.Type, *gotFIC.Properties.Issuer)
	}

	// Lists by group and by subscription, with the SDK pagers.
	if _, err := c.ids.CreateOrUpdate(ctx, "rg-sdk", "id-two", armmsi.Identity{Location: to.Ptr("westeurope")}, nil); err != nil {
		t.Fatal(err)
	}
	names := func(pager *runtime.Pager[armmsi.UserAssignedIdentitiesClientListByResourceGroupResponse]) []string {
		var out []string
		for pager.More() {
			page, err := pager.NextPage(ctx)
			if err != nil {
				t.Fatal(err)
			}
			for _, v := range page.Value {
				out = append(out, *v.Name)
			}
		}
		return out
	}
	if got := names(c.ids.NewListByResourceGroupPager("rg-sdk", nil)); fmt.Sprint(got) != "[id-go id-two]" {
		t.Fatalf("list by group = %v", got)
	}
	subPager := c.ids.NewListBySubscriptionPager(nil)
	n := 0
	for subPager.More() {
		page, err := subPager.NextPage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		n += len(page.Value)
	}
	if n != 2 {
		t.Fatalf("list by subscription: %d identities, want 2", n)
	}

	// Delete: 200, then 204 (the SDK accepts both); the identity is gone.
	if _, err := c.ids.Delete(cctx, "rg-sdk", "id-go", nil); err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("delete: %v status %d", err, resp.StatusCode)
	}
	if _, err := c.ids.Delete(cctx, "rg-sdk", "id-go", nil); err != nil || resp.StatusCode != http.StatusNoContent {
		t.Fatalf("second delete: %v status %d", err, resp.StatusCode)
	}
	_, err = c.ids.Get(ctx, "rg-sdk", "id-go", nil)
	if re := respErr(t, err); re.StatusCode != 404 || re.ErrorCode != "ResourceNotFound" {
		t.Fatalf("get deleted: %d %s", re.StatusCode, re.ErrorCode)
	}

	// Re-created identity: new IDs, no inherited credentials.
	re, err := c.ids.CreateOrUpdate(ctx, "rg-sdk", "id-go", armmsi.Identity{Location: to.Ptr("westeurope")}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if *re.Properties.ClientID == *p.ClientID || *re.Properties.PrincipalID == *p.PrincipalID {
		t.Fatal("re-created identity kept its old client or principal ID")
	}
	ficPager := c.fics.NewListPager("rg-sdk", "id-go", nil)
	page, err := ficPager.NextPage(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(page.Value) != 0 {
		t.Fatalf("re-created identity has %d credentials", len(page.Value))
	}

	// Deleting the group deletes what is in it.
	poller, err := c.groups.BeginDelete(ctx, "rg-sdk", nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := poller.PollUntilDone(ctx, nil); err != nil {
		t.Fatal(err)
	}
	_, err = c.ids.Get(ctx, "rg-sdk", "id-two", nil)
	if re := respErr(t, err); re.StatusCode != 404 || re.ErrorCode != "ResourceGroupNotFound" {
		t.Fatalf("identity after group delete: %d %s", re.StatusCode, re.ErrorCode)
	}
}

// TestFederatedCredentialRules drives every validation rule through armmsi.
func TestFederatedCredentialRules(t *testing.T) {
	t.Parallel()
	w := startWard(t, "")
	c := newSDK(t, w)
	ctx := context.Background()
	if _, err := c.groups.CreateOrUpdate(ctx, "rg", armresources.ResourceGroup{Location: to.Ptr("westeurope")}, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := c.ids.CreateOrUpdate(ctx, "rg", "app", armmsi.Identity{Location: to.Ptr("westeurope")}, nil); err != nil {
		t.Fatal(err)
	}
	base := func() *armmsi.FederatedIdentityCredentialProperties {
		return &armmsi.FederatedIdentityCredentialProperties{Issuer: to.Ptr("https://issuer.example.com/x"), Subject: to.Ptr("system:serviceaccount:ns:sa"), Audiences: []*string{to.Ptr(aud)}}
	}
	long := "https://issuer.example.com/" + strings.Repeat("a", 600)
	cases := []struct {
		name     string
		fic      string
		identity string
		props    func() *armmsi.FederatedIdentityCredentialProperties
		status   int
		code     string
		message  string
	}{
		{"valid", "fic-ok", "app", base, 201, "", ""},
		{"name too short", "ab", "app", base, 400, "BadRequest", "Federated Identity Credential name 'ab' is invalid"},
		{"name starts with dash", "-abc", "app", base, 400, "BadRequest", "is invalid"},
		{"name with dot", "a.bc", "app", base, 400, "BadRequest", "is invalid"},
		{"name 121 chars", strings.Repeat("a", 121), "app", base, 400, "BadRequest", "is invalid"},
		{"name 120 chars", strings.Repeat("b", 120), "app", func() *armmsi.FederatedIdentityCredentialProperties {
			p := base()
			p.Subject = to.Ptr("s-120")
			return p
		}, 201, "", ""},
		{"empty properties", "fic-empty", "app", func() *armmsi.FederatedIdentityCredentialProperties { return nil }, 400, "BadRequest", "has empty properties"},
		{"no audience", "fic-noaud", "app", func() *armmsi.FederatedIdentityCredentialProperties {
			p := base()
			p.Audiences = []*string{}
			return p
		}, 400, "BadRequest", "exactly one audience"},
		{"two audiences", "fic-twoaud", "app", func() *armmsi.FederatedIdentityCredentialProperties {
			p := base()
			p.Audiences = append(p.Audiences, to.Ptr("api://other"))
			return p
		}, 400, "BadRequest", "exactly one audience"},
		{"http issuer", "fic-http", "app", func() *armmsi.FederatedIdentityCredentialProperties {
			p := base()
			p.Issuer = to.Ptr("http://issuer.example.com")
			return p
		}, 400, "BadRequest", "absolute https URL"},
		{"relative issuer", "fic-rel", "app", func() *armmsi.FederatedIdentityCredentialProperties {
			p := base()
			p.Issuer = to.Ptr("issuer.example.com/x")
			return p
		}, 400, "BadRequest", "absolute https URL"},
		{"issuer over 600", "fic-long", "app", func() *armmsi.FederatedIdentityCredentialProperties {
			p := base()
			p.Issuer = to.Ptr(long)
			return p
		}, 400, "BadRequest", "at most 600"},
		{"subject over 600", "fic-longsub", "app", func() *armmsi.FederatedIdentityCredentialProperties {
			p := base()
			p.Subject = to.Ptr(strings.Repeat("s", 601))
			return p
		}, 400, "BadRequest", "at most 600"},
		{"wildcard subject", "fic-wild", "app", func() *armmsi.FederatedIdentityCredentialProperties {
			p := base()
			p.Subject = to.Ptr("system:serviceaccount:ns:*")
			return p
		}, 400, "BadRequest", "wildcard"},
		{"wildcard issuer", "fic-wildiss", "app", func() *armmsi.FederatedIdentityCredentialProperties {
			p := base()
			p.Issuer = to.Ptr("https://*.example.com")
			return p
		}, 400, "BadRequest", "wildcard"},
		{"empty subject", "fic-nosub", "app", func() *armmsi.FederatedIdentityCredentialProperties {
			p := base()
			p.Subject = to.Ptr("")
			return p
		}, 400, "BadRequest", "subject is required"},
		{"whitespace issuer", "fic-space", "app", func() *armmsi.FederatedIdentityCredentialProperties {
			p := base()
			p.Issuer = to.Ptr(" https://issuer.example.com/x")
			return p
		}, 400, "BadRequest", "whitespace"},
		{"duplicate issuer and subject", "fic-dup", "app", base, 400, "BadRequest", "Issuer and subject combination already exists for this Managed Identity."},
		{"missing parent identity", "fic-orphan", "ghost", base, 404, "ParentResourceNotFound", "The parent user-assigned identity doesn't exist."},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var resp *http.Response
			cctx := policy.WithCaptureResponse(ctx, &resp)
			_, err := c.fics.CreateOrUpdate(cctx, "rg", tc.identity, tc.fic, armmsi.FederatedIdentityCredential{Properties: tc.props()}, nil)
			if tc.code == "" {
				if err != nil || resp.StatusCode != tc.status {
					t.Fatalf("PUT %s: err %v, status %d; want %d", tc.fic, err, resp.StatusCode, tc.status)
				}
				return
			}
			re := respErr(t, err)
			if re.StatusCode != tc.status || re.ErrorCode != tc.code || !strings.Contains(re.Error(), tc.message) {
				t.Fatalf("PUT %s: got %d %s\n%v\nwant %d %s containing %q", tc.fic, re.StatusCode, re.ErrorCode, re, tc.status, tc.code, tc.message)
			}
			// A refused write changes nothing.
			if _, err := c.fics.Get(ctx, "rg", "app", tc.fic, nil); err == nil {
				t.Fatalf("refused credential %s was stored", tc.fic)
			}
		})
	}

	t.Run("21st credential is refused", func(t *testing.T) {
		if _, err := c.ids.CreateOrUpdate(ctx, "rg", "full", armmsi.Identity{Location: to.Ptr("westeurope")}, nil); err != nil {
			t.Fatal(err)
		}
		for i := 1; i <= 20; i++ {
			p := base()
			p.Subject = to.Ptr(fmt.Sprintf("system:serviceaccount:ns:sa-%d", i))
			if _, err := c.fics.CreateOrUpdate(ctx, "rg", "full", fmt.Sprintf("fic-%02d", i), armmsi.FederatedIdentityCredential{Properties: p}, nil); err != nil {
				t.Fatalf("credential %d: %v", i, err)
			}
		}
		p := base()
		p.Subject = to.Ptr("system:serviceaccount:ns:sa-21")
		_, err := c.fics.CreateOrUpdate(ctx, "rg", "full", "fic-21", armmsi.FederatedIdentityCredential{Properties: p}, nil)
		re := respErr(t, err)
		if re.StatusCode != 400 || !strings.Contains(re.Error(), "maximum") {
			t.Fatalf("21st: %d %v", re.StatusCode, re)
		}
		// Replacing one of the 20 is still allowed.
		p.Subject = to.Ptr("system:serviceaccount:ns:replaced")
		if _, err := c.fics.CreateOrUpdate(ctx, "rg", "full", "fic-20", armmsi.FederatedIdentityCredential{Properties: p}, nil); err != nil {
			t.Fatalf("replace at the limit: %v", err)
		}
		// The SDK pager follows nextLink across pages of $top.
		pager := c.fics.NewListPager("rg", "full", &armmsi.FederatedIdentityCredentialsClientListOptions{Top: to.Ptr[int32](7)})
		n, pages := 0, 0
		for pager.More() {
			page, err := pager.NextPage(ctx)
			if err != nil {
				t.Fatal(err)
			}
			n += len(page.Value)
			pages++
		}
		if n != 20 || pages != 3 {
			t.Fatalf("paged list: %d credentials in %d pages, want 20 in 3", n, pages)
		}
	})
}
