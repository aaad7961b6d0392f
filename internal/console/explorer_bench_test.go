package console

import (
	"testing"

	"github.com/ward-id/ward/internal/rbac"
)

// BenchmarkExplorer measures the whole explorer over 1,000 identities with
// 5 federated credentials and 3 role assignments each, as the owner sees
// it: every page, followed to the end as the page does. bytes/explorer is
// the sum of the pages.
func BenchmarkExplorer(b *testing.B) {
	f := newFixture(b, 1000, 5, 3)
	owner := f.grant(b, rbac.OwnerID, "/")
	c, _ := f.session(owner)
	var size, pages int
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		size, pages = f.followPages(b, c, "/console/api/explorer")
	}
	b.ReportMetric(float64(size), "bytes/explorer")
	b.ReportMetric(float64(pages), "pages/explorer")
}

// BenchmarkExplorerFirstPage measures what the explorer waits for before
// it shows a table: the first page of the same explorer.
func BenchmarkExplorerFirstPage(b *testing.B) {
	f := newFixture(b, 1000, 5, 3)
	owner := f.grant(b, rbac.OwnerID, "/")
	c, _ := f.session(owner)
	var size int
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		st, body := f.do(b, c, "", "GET", "/console/api/explorer", "")
		if st != 200 {
			b.Fatalf("%d %s", st, body)
		}
		size = len(body)
	}
	b.ReportMetric(float64(size), "bytes/response")
}
