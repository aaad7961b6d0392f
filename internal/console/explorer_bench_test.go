package console

import (
	"testing"
)

// BenchmarkExplorer measures the whole explorer over 1,000 identities with
// 5 federated credentials and 3 role assignments each, as the owner sees
// it: every page, followed to the end as the page does. bytes/explorer is
// the sum of the pages.
func BenchmarkExplorer(b *testing.B) {
	benchmarkPages(b, "/console/api/explorer", "explorer")
}

// BenchmarkExplorerFirstPage measures what the explorer waits for before
// it shows a table: the first page of the same explorer.
func BenchmarkExplorerFirstPage(b *testing.B) {
	benchmarkFirstPage(b, "/console/api/explorer")
}
