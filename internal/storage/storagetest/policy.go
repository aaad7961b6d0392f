package storagetest

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/ward-id/ward/internal/storage"
)

// testPolicy: definitions and assignments are put (201/200 semantics),
// read and deleted by scope and name without regard to case, listed by
// scope or in whole with paging, keep their creation on replace, and feed
// the change log so other replicas follow them.
func testPolicy(t *testing.T, s storage.Storage) {
	ctx := context.Background()
	sub := "/subscriptions/" + subID
	head, err := s.ChangeHead(ctx)
	must(t, err)
	def := storage.PolicyDefinition{Scope: sub, Name: "no-github", Properties: json.RawMessage(`{"mode":"All","policyRule":{"if":{"field":"type","equals":"x"},"then":{"effect":"deny"}}}`),
		CreatedBy: "admin", CreatedAt: now, UpdatedAt: now}
	created, err := s.PutPolicyDefinition(ctx, def)
	must(t, err)
	if !created {
		t.Fatal("first put of a definition: created = false")
	}
	later := now.Add(time.Minute)
	def2 := def
	def2.Name, def2.Properties, def2.CreatedBy, def2.CreatedAt, def2.UpdatedAt = "NO-GITHUB", json.RawMessage(`{"mode":"Indexed","policyRule":{}}`), "other", later, later
	created, err = s.PutPolicyDefinition(ctx, def2)
	must(t, err)
	if created {
		t.Fatal("second put of a definition (other case): created = true")
	}
	got, err := s.GetPolicyDefinition(ctx, sub+"/", "No-GitHub")
	must(t, err)
	if got.Name != "no-github" || got.CreatedBy != "admin" || !got.CreatedAt.Equal(now) || !got.UpdatedAt.Equal(later) || string(got.Properties) != `{"mode":"Indexed","policyRule":{}}` {
		t.Fatalf("definition = %+v", got)
	}
	other := def
	other.Scope, other.Name = "/subscriptions/33333333-3333-3333-3333-333333333333", "elsewhere"
	_, err = s.PutPolicyDefinition(ctx, other)
	must(t, err)
	items, next, err := s.ListPolicyDefinitions(ctx, sub, storage.Page{})
	must(t, err)
	if len(items) != 1 || next != "" || items[0].Name != "no-github" {
		t.Fatalf("definitions of the subscription = %+v", items)
	}
	all, err := storage.All(func(p storage.Page) ([]storage.PolicyDefinition, string, error) {
		p.Limit = 1
		return s.ListPolicyDefinitions(ctx, "", p)
	})
	must(t, err)
	if len(all) != 2 {
		t.Fatalf("every definition, a page of one at a time = %+v", all)
	}
	must(t, s.DeletePolicyDefinition(ctx, sub, "NO-github"))
	wantErr(t, "delete twice", s.DeletePolicyDefinition(ctx, sub, "no-github"), storage.ErrNotFound)
	_, err = s.GetPolicyDefinition(ctx, sub, "no-github")
	wantErr(t, "get deleted definition", err, storage.ErrNotFound)

	for i, scope := range []string{"/", sub, sub + "/resourceGroups/rg"} {
		a := storage.PolicyAssignment{Scope: scope, Name: "fic-issuers", Location: "", Properties: json.RawMessage(`{"policyDefinitionId":"/providers/Microsoft.Authorization/policyDefinitions/x","enforcementMode":"Default"}`),
			CreatedBy: "admin", CreatedAt: now, UpdatedAt: now}
		if i == 2 {
			a.Location = "westeurope"
		}
		created, err := s.PutPolicyAssignment(ctx, a)
		must(t, err)
		if !created {
			t.Fatalf("put assignment at %s: created = false", scope)
		}
	}
	a := storage.PolicyAssignment{Scope: sub, Name: "FIC-issuers", Location: "northeurope", Properties: json.RawMessage(`{"enforcementMode":"DoNotEnforce"}`), CreatedBy: "x", CreatedAt: later, UpdatedAt: later}
	created, err = s.PutPolicyAssignment(ctx, a)
	must(t, err)
	if created {
		t.Fatal("replacing an assignment: created = true")
	}
	ga, err := s.GetPolicyAssignment(ctx, sub, "fic-ISSUERS")
	must(t, err)
	if ga.Scope != sub || ga.Location != "northeurope" || ga.CreatedBy != "admin" || !ga.CreatedAt.Equal(now) || string(ga.Properties) != `{"enforcementMode":"DoNotEnforce"}` {
		t.Fatalf("assignment = %+v", ga)
	}
	root, err := s.GetPolicyAssignment(ctx, "/", "fic-issuers")
	must(t, err)
	if root.Scope != "/" {
		t.Fatalf("root assignment scope = %q", root.Scope)
	}
	as, err := storage.All(func(p storage.Page) ([]storage.PolicyAssignment, string, error) {
		p.Limit = 2
		return s.ListPolicyAssignments(ctx, p)
	})
	must(t, err)
	if len(as) != 3 || as[0].Scope != "/" {
		t.Fatalf("assignments = %+v", as)
	}
	must(t, s.DeletePolicyAssignment(ctx, sub+"/resourceGroups/RG", "fic-issuers"))
	wantErr(t, "delete assignment twice", s.DeletePolicyAssignment(ctx, sub+"/resourceGroups/rg", "fic-issuers"), storage.ErrNotFound)
	_, err = s.GetPolicyAssignment(ctx, sub+"/resourceGroups/rg", "fic-issuers")
	wantErr(t, "get deleted assignment", err, storage.ErrNotFound)

	changes, err := s.Changes(ctx, head, 100)
	must(t, err)
	tables := map[string]int{}
	for _, c := range changes {
		tables[c.Table]++
	}
	if tables["policy_definitions"] < 4 || tables["policy_assignments"] < 5 {
		t.Fatalf("change feed after policy writes = %v, want the definitions' and assignments' writes", tables)
	}
}
