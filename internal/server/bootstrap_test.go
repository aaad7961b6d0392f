package server

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ward-id/ward/client"
)

func TestCheckPublicURL(t *testing.T) {
	const old = "https://127.0.0.1:8443"
	cases := []struct {
		name       string
		record     string // public-url.json, "" for none
		adminURL   string // admin.json's authorityHost, "" for no file
		addr, pub  string
		wantWarn   bool
		wantFix    string
		wantRecord string
	}{
		{"same address", old, old + "/", "127.0.0.1:8443", "", false, "", old},
		{"another port", old, old + "/", "127.0.0.1:9443", "", true, "pass --public-url " + old, old},
		{"unspecified host is 127.0.0.1", old, old + "/", "0.0.0.0:8443", "", false, "", old},
		{"explicit move is recorded", old, old + "/", "127.0.0.1:9443", "https://ward.example.com", true, "https://ward.example.com is recorded from now on", "https://ward.example.com"},
		{"explicit same URL", old, old + "/", "127.0.0.1:9443", old + "/", false, "", old},
		{"random port", old, old + "/", "127.0.0.1:0", "", false, "", old},
		{"from before the record: admin.json's URL", "", old + "/", "127.0.0.1:9443", "", true, "pass --public-url " + old, ""},
		{"first start", "", "", "127.0.0.1:9443", "", false, "", ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			if tc.record != "" {
				if err := writePublicURL(filepath.Join(dir, client.PublicURLFile), tc.record, time.Now()); err != nil {
					t.Fatal(err)
				}
			}
			if tc.adminURL != "" {
				if err := writeAdmin(filepath.Join(dir, AdminFile), Admin{AuthorityHost: tc.adminURL, ResourceManager: tc.adminURL}); err != nil {
					t.Fatal(err)
				}
			}
			var logs bytes.Buffer
			CheckPublicURL(Config{Addr: tc.addr, DataDir: dir, PublicURL: tc.pub, Logger: slog.New(slog.NewTextHandler(&logs, nil))})
			out := logs.String()
			if warned := strings.Contains(out, "level=WARN"); warned != tc.wantWarn {
				t.Fatalf("log:\n%s\nwant a warning: %v", out, tc.wantWarn)
			}
			if tc.wantWarn && (!strings.Contains(out, "old="+old) || !strings.Contains(out, tc.wantFix)) {
				t.Fatalf("log:\n%s\nwant old=%s and %q", out, old, tc.wantFix)
			}
			var rec client.PublicURLRecord
			b, _ := os.ReadFile(filepath.Join(dir, client.PublicURLFile))
			_ = json.Unmarshal(b, &rec)
			if rec.PublicURL != tc.wantRecord {
				t.Fatalf("recorded %q, want %q", rec.PublicURL, tc.wantRecord)
			}
		})
	}
}

func TestRecordPublicURLKeepsTheFirst(t *testing.T) {
	dir := t.TempDir()
	for _, u := range []string{"https://127.0.0.1:8443", "https://127.0.0.1:9443"} {
		if err := recordPublicURL(dir, u, time.Now()); err != nil {
			t.Fatal(err)
		}
	}
	if got := recordedPublicURL(dir); got != "https://127.0.0.1:8443" {
		t.Fatalf("recorded %q, want the first start's", got)
	}
}
