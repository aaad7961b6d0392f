package e2e

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/bloberror"
	"github.com/ward-id/ward/internal/postgrestest"
	"github.com/ward-id/ward/internal/rbac"
)

// TestBlobRevocationAcrossReplicas: two replicas on one PostgreSQL; a
// Storage Blob Data Reader assignment made and deleted through replica A is
// enforced by replica B's data plane within the bound (listing needs only
// the database, so the replicas need no shared blob directory for it).
func TestBlobRevocationAcrossReplicas(t *testing.T) {
	t.Parallel()
	skipIfShort(t, "starts several replicas")
	pg := postgrestest.StartServer(t)
	rs := startReplicas(t, pg.DSN, filepath.Join(t.TempDir(), "kek"), 2)
	a, b := rs[0], rs[1]
	b.http = a.http
	ctx := context.Background()
	acctID, endpoint := blobAccount(t, a, "repl", "replblobs")
	writer := a.newPrincipal(t, "repl-writer")
	a.assign(t, writer.ObjectID, acctID, rbac.StorageBlobDataContributorID)
	if _, err := a.blobClient(t, endpoint, writer).CreateContainer(ctx, "shared", nil); err != nil {
		t.Fatal(err)
	}
	reader := a.newPrincipal(t, "repl-reader")
	onB := b.blobClient(t, endpoint, reader) // the account's URL, dialled at B
	lists := func() bool {
		_, err := onB.NewListBlobsFlatPager("shared", nil).NextPage(ctx)
		return err == nil
	}
	refused := func() bool {
		_, err := onB.NewListBlobsFlatPager("shared", nil).NextPage(ctx)
		return bloberror.HasCode(err, bloberror.AuthorizationPermissionMismatch)
	}
	if !refused() {
		t.Fatal("B lets a principal with no role list")
	}
	id := a.assign(t, reader.ObjectID, acctID, rbac.StorageBlobDataReaderID)
	grant := propagation(t, "grant on A, list on B", lists)
	if st, body, _ := a.request("DELETE", acctID+"/providers/Microsoft.Authorization/roleAssignments/"+id+"?api-version=2022-04-01", ""); st != 200 {
		t.Fatalf("revoke: %d %v", st, body)
	}
	revoke := propagation(t, "revocation on A, list on B", refused)
	t.Logf("B enforced the grant after %v and the revocation after %v", grant, revoke)
}
