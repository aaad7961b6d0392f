package cli

import (
	"strings"
	"testing"
)

func TestRender(t *testing.T) {
	items := []map[string]any{
		{"name": "b", "id": "/x/b", "location": "westeurope", "tags": map[string]any{"k": "v"}, "enabled": true},
		{"name": "a", "id": "/x/a", "location": "eastus", "tags": map[string]any{}, "enabled": false},
	}
	cases := []struct {
		name, format, query, want string
	}{
		{"json sorted keys", "json", "[0]", "{\n  \"enabled\": true,\n  \"id\": \"/x/b\",\n  \"location\": \"westeurope\",\n  \"name\": \"b\",\n  \"tags\": {\n    \"k\": \"v\"\n  }\n}\n"},
		{"tsv scalar", "tsv", "[0].id", "/x/b\n"},
		{"tsv rows", "tsv", "[].{N:name, L:location}", "b\twesteurope\na\teastus\n"},
		{"table projection order", "table", "[].{Name:name, Loc:location}", "Name      Loc\n--------  ----------\nb         westeurope\na         eastus\n"},
		{"table booleans", "table", "[].{Name:name, On:enabled}", "Name      On\n--------  --------\nb         True\na         False\n"},
		{"yaml", "yaml", "[1].{name:name}", "name: a\n"},
		{"none", "none", "", ""},
		{"null result prints nothing", "json", "[5]", ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var b strings.Builder
			if err := render(&b, items, tc.format, tc.query); err != nil {
				t.Fatal(err)
			}
			if b.String() != tc.want {
				t.Fatalf("render(%s, %q) =\n%q\nwant\n%q", tc.format, tc.query, b.String(), tc.want)
			}
		})
	}
	var b strings.Builder
	if err := render(&b, items, "xml", ""); err == nil || !strings.Contains(err.Error(), "json, jsonc") {
		t.Fatalf("unknown format error = %v", err)
	}
	if err := render(&b, items, "json", "[?"); err == nil || !strings.Contains(err.Error(), "invalid --query") {
		t.Fatalf("bad query error = %v", err)
	}
}

func TestParseTags(t *testing.T) {
	got, err := parseTags([]string{"a=b", "c=d e=", "f"})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 4 || got["a"] != "b" || got["c"] != "d" || got["e"] != "" || got["f"] != "" {
		t.Fatalf("tags = %v", got)
	}
	if got, _ := parseTags([]string{""}); len(got) != 0 {
		t.Fatalf("empty tags = %v", got)
	}
	if _, err := parseTags([]string{"=v"}); err == nil {
		t.Fatal("accepted a tag without a key")
	}
}
