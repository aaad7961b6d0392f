package blob

import (
	"bytes"
	"context"
	"encoding/xml"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ward-id/ward/internal/storage"
	"github.com/ward-id/ward/internal/wardtest"
)

func TestAccountFromHost(t *testing.T) {
	h := NewHosts("https://127.0.0.1:8443")
	for _, tc := range []struct {
		host, want string
		ok         bool
	}{
		{"acct.blob.localhost:8443", "acct", true},
		{"ACCT.blob.localhost:8443", "acct", true},
		{"acct.blob.localhost", "acct", true},
		{"a.b.blob.localhost:8443", "a.b", false},
		{"acct.vault.localhost:8443", "", false},
		{"blob.localhost:8443", "", false},
		{"acct.blob.localhost:9999", "", false},
	} {
		got, ok := h.AccountFromHost(tc.host)
		if got != tc.want || ok != tc.ok {
			t.Errorf("AccountFromHost(%q) = %q %v, want %q %v", tc.host, got, ok, tc.want, tc.ok)
		}
	}
	if h.StorageSuffix() != "localhost:8443" || h.URL("Acct") != "https://acct.blob.localhost:8443/" {
		t.Errorf("suffix %q url %q", h.StorageSuffix(), h.URL("Acct"))
	}
	if got := NewHosts("https://ward.example.com").URL("a"); got != "https://a.blob.ward.example.com/" {
		t.Errorf("public host URL = %q", got)
	}
}

func TestParseRange(t *testing.T) {
	for _, tc := range []struct {
		in         string
		start, end int64
		code       string
	}{
		{"bytes=0-9", 0, 9, ""},
		{"bytes=5-", 5, 99, ""},
		{"bytes=90-200", 90, 99, ""},
		{"bytes=100-", 0, 0, CodeInvalidRange},
		{"bytes=9-5", 0, 0, CodeInvalidHeaderValue},
		{"bytes=-5", 0, 0, CodeInvalidHeaderValue},
		{"bytes=0-1,4-5", 0, 0, CodeInvalidHeaderValue},
		{"items=0-1", 0, 0, CodeInvalidHeaderValue},
	} {
		s, e, err := parseRange(tc.in, 100)
		var be *Error
		switch {
		case tc.code == "" && (err != nil || s != tc.start || e != tc.end):
			t.Errorf("parseRange(%q) = %d-%d %v, want %d-%d", tc.in, s, e, err, tc.start, tc.end)
		case tc.code != "" && (!errors.As(err, &be) || be.Code != tc.code):
			t.Errorf("parseRange(%q) error = %v, want %s", tc.in, err, tc.code)
		}
	}
}

func TestConditions(t *testing.T) {
	mod := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	b := storage.Blob{ETag: `"0xA"`, UpdatedAt: mod}
	req := func(k, v string) *http.Request {
		r := httptest.NewRequest("GET", "/", nil)
		r.Header.Set(k, v)
		return r
	}
	for _, tc := range []struct {
		name, k, v       string
		notModified      bool
		readErr, writeOK bool
		writeCode        string
	}{
		{"if-match hit", "If-Match", `"0xA"`, false, false, true, ""},
		{"if-match miss", "If-Match", `"0xB"`, false, true, false, CodeConditionNotMet},
		{"if-none-match hit", "If-None-Match", `"0xA"`, true, false, false, CodeConditionNotMet},
		{"if-none-match star", "If-None-Match", "*", true, false, false, CodeBlobAlreadyExists},
		{"if-none-match miss", "If-None-Match", `"0xB"`, false, false, true, ""},
		{"not modified since", "If-Modified-Since", mod.Format(http.TimeFormat), true, false, false, CodeConditionNotMet},
		{"modified since", "If-Modified-Since", mod.Add(-time.Hour).Format(http.TimeFormat), false, false, true, ""},
		{"unmodified since", "If-Unmodified-Since", mod.Add(-time.Hour).Format(http.TimeFormat), false, true, false, CodeConditionNotMet},
	} {
		t.Run(tc.name, func(t *testing.T) {
			nm, err := readConditions(req(tc.k, tc.v), b)
			if nm != tc.notModified || (err != nil) != tc.readErr {
				t.Errorf("read: notModified %v err %v", nm, err)
			}
			err = writeConditions(req(tc.k, tc.v), &b)
			var be *Error
			if (err == nil) != tc.writeOK || (err != nil && (!errors.As(err, &be) || be.Code != tc.writeCode)) {
				t.Errorf("write: %v, want ok=%v code %s", err, tc.writeOK, tc.writeCode)
			}
		})
	}
	if err := writeConditions(req("If-Match", `"0xA"`), nil); err != errConditionNotMet {
		t.Errorf("If-Match on an absent blob: %v", err)
	}
}

func TestFiles(t *testing.T) {
	dir := t.TempDir()
	f, err := NewFiles(dir)
	if err != nil {
		t.Fatal(err)
	}
	w1, err := f.Write(strings.NewReader("hello "), 100)
	if err != nil || w1.Size != 6 || len(w1.MD5) != 16 {
		t.Fatalf("write: %+v %v", w1, err)
	}
	if _, err := f.Write(bytes.NewReader(make([]byte, 101)), 100); !errors.Is(err, ErrTooLarge) {
		t.Fatalf("over the cap: %v", err)
	}
	if tmps, _ := os.ReadDir(filepath.Join(dir, "tmp")); len(tmps) != 0 {
		t.Fatalf("a refused upload left %d temporary files", len(tmps))
	}
	w2, _ := f.Write(strings.NewReader("world"), 100)
	cat, err := f.Concat([]string{w1.Digest, w2.Digest}, 100)
	if err != nil {
		t.Fatal(err)
	}
	same, _ := f.Write(strings.NewReader("hello world"), 100)
	if cat.Digest != same.Digest {
		t.Fatalf("concat digest %s, want %s", cat.Digest, same.Digest)
	}
	if _, err := f.Open("../../etc/passwd"); err == nil {
		t.Fatal("a digest that is a path was opened")
	}
	// The sweep removes only what nothing refers to, and only after grace.
	keep := map[string]bool{cat.Digest: true}
	inUse := func(d string) (bool, error) { return keep[d], nil }
	if n, err := f.Sweep(inUse, time.Hour, time.Now()); err != nil || n != 0 {
		t.Fatalf("sweep within grace removed %d: %v", n, err)
	}
	if n, err := f.Sweep(inUse, time.Hour, time.Now().Add(2*time.Hour)); err != nil || n != 2 {
		t.Fatalf("sweep after grace removed %d, want 2: %v", n, err)
	}
	if _, err := f.Open(cat.Digest); err != nil {
		t.Fatalf("a referenced file was swept: %v", err)
	}
	if _, err := f.Open(w1.Digest); err == nil {
		t.Fatal("an unreferenced file survived the sweep")
	}
	// A blob that comes to refer to the file while the sweep looks at it
	// keeps it.
	racy, _ := f.Write(strings.NewReader("racy"), 100)
	calls := 0
	flip := func(d string) (bool, error) {
		if d != racy.Digest {
			return keep[d], nil
		}
		calls++
		return calls > 1, nil
	}
	if n, err := f.Sweep(flip, time.Hour, time.Now().Add(2*time.Hour)); err != nil || n != 0 || calls != 2 {
		t.Fatalf("sweep during a new reference removed %d (checks %d): %v", n, calls, err)
	}
	if _, err := f.Open(racy.Digest); err != nil {
		t.Fatalf("a file referenced during the sweep was removed: %v", err)
	}
}

// allowAll grants every action: the listing test is about shapes.
type allowAll struct{}

func (allowAll) Allowed(string, string, string) bool     { return true }
func (allowAll) AllowedData(string, string, string) bool { return true }

// TestListBlobsDelimiterPaging pages a hierarchical listing one entry at a
// time: prefixes are emitted once and the marker after a prefix skips
// everything under it.
func TestListBlobsDelimiterPaging(t *testing.T) {
	ctx := context.Background()
	store := wardtest.NewStore(t)
	now := time.Now().UTC()
	if _, err := store.PutResourceGroup(ctx, storage.ResourceGroup{SubscriptionID: wardtest.SubscriptionID, Name: "rg", Location: "westeurope", CreatedAt: now, UpdatedAt: now}); err != nil {
		t.Fatal(err)
	}
	files, _ := NewFiles(t.TempDir())
	svc := New(Config{Store: store, Files: files, Hosts: NewHosts("https://127.0.0.1:8443")})
	if _, _, err := svc.PutAccount(ctx, wardtest.SubscriptionID, "rg", "acct", AccountSpec{Location: "westeurope"}); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.CreateContainer(ctx, "acct", "data", nil); err != nil {
		t.Fatal(err)
	}
	for _, n := range []string{"a/1", "a/2", "a/b/3", "b", "c/1", "d"} {
		if _, err := store.PutBlob(ctx, storage.Blob{Account: "acct", Container: "data", Name: n, Digest: "x", ETag: `"1"`, CreatedAt: now, UpdatedAt: now}, nil); err != nil {
			t.Fatal(err)
		}
	}
	acct, _ := store.GetStorageAccount(ctx, "acct")
	h := NewHandler(HandlerConfig{Svc: svc, Access: allowAll{}})
	list := func(query string) blobsXML {
		t.Helper()
		r := httptest.NewRequest("GET", "/data?"+query, nil)
		rec := httptest.NewRecorder()
		c := &call{h: h, w: rec, r: r, account: acct, container: "data", q: r.URL.Query()}
		if err := c.serve(); err != nil || rec.Code != 200 {
			t.Fatalf("list %s: %v %d %s", query, err, rec.Code, rec.Body)
		}
		var out blobsXML
		if err := xml.Unmarshal(rec.Body.Bytes(), &out); err != nil {
			t.Fatal(err)
		}
		return out
	}
	var got []string
	marker := ""
	for pages := 0; pages < 10; pages++ {
		out := list("restype=container&comp=list&delimiter=/&maxresults=1&marker=" + url.QueryEscape(marker))
		for _, p := range out.Blobs.Prefixes {
			got = append(got, p.Name)
		}
		for _, b := range out.Blobs.Items {
			got = append(got, b.Name)
		}
		if marker = out.NextMarker; marker == "" {
			break
		}
	}
	if want := "a/,b,c/,d"; strings.Join(got, ",") != want {
		t.Fatalf("paged hierarchy = %v, want %s", got, want)
	}
	out := list("restype=container&comp=list&prefix=a/&delimiter=/")
	if len(out.Blobs.Items) != 2 || len(out.Blobs.Prefixes) != 1 || out.Blobs.Prefixes[0].Name != "a/b/" || out.NextMarker != "" {
		t.Fatalf("under a/: %+v", out.Blobs)
	}
	r := httptest.NewRequest("GET", "/data?restype=container&comp=list&marker=%25%25", nil)
	rec := httptest.NewRecorder()
	c := &call{h: h, w: rec, r: r, account: acct, container: "data", q: r.URL.Query()}
	var be *Error
	if err := c.serve(); !errors.As(err, &be) || be.Code != CodeInvalidQueryParameter {
		t.Fatalf("bad marker: %v", err)
	}
}
