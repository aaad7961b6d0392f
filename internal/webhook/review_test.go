package webhook

import (
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func reviewBody(version, op, kind, sub, object string) string {
	return `{"apiVersion":"admission.k8s.io/` + version + `","kind":"AdmissionReview","request":{"uid":"705ab4f5-6393-11e8-b7cc-42010a800002",
	 "kind":{"group":"","version":"v1","kind":"` + kind + `"},"resource":{"group":"","version":"v1","resource":"pods"},"subResource":"` + sub + `",
	 "namespace":"ns1","operation":"` + op + `","object":` + object + `}}`
}

func TestHandlerReviews(t *testing.T) {
	mux := http.NewServeMux()
	(&Handler{Mutator: testMutator(testSAs())}).Mount(mux)
	cases := []struct {
		name, body string
		status     int
		allowed    bool
		patched    bool
		message    string
	}{
		{"v1 create is patched", reviewBody("v1", "CREATE", "Pod", "", basePod), 200, true, true, ""},
		{"v1beta1 answered in v1beta1", reviewBody("v1beta1", "CREATE", "Pod", "", basePod), 200, true, true, ""},
		{"update is not mutated", reviewBody("v1", "UPDATE", "Pod", "", basePod), 200, true, false, ""},
		{"ephemeral containers subresource skipped", reviewBody("v1", "CREATE", "Pod", "ephemeralcontainers", basePod), 200, true, false, ""},
		{"denial carries the message and 400", reviewBody("v1", "CREATE", "Pod", "", strings.Replace(basePod, `"sa"`, `"ghost"`, 1)), 200, false, false, `serviceaccounts \"ghost\" not found`},
		{"garbage body", `invalid`, 400, false, false, ""},
		{"empty body", ``, 400, false, false, ""},
		{"no request", `{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview"}`, 400, false, false, ""},
		{"trailing data", reviewBody("v1", "CREATE", "Pod", "", basePod) + ` {}`, 400, false, false, ""},
		{"larger than 7 MiB", `{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","x":"` + strings.Repeat("x", maxReviewBytes) + `"}`, 400, false, false, ""},
		{"unknown review version", strings.Replace(reviewBody("v1", "CREATE", "Pod", "", basePod), "admission.k8s.io/v1", "admission.k8s.io/v2", 1), 400, false, false, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			rec := httptest.NewRecorder()
			mux.ServeHTTP(rec, httptest.NewRequest("POST", "/mutate-v1-pod", strings.NewReader(tc.body)))
			if rec.Code != tc.status {
				t.Fatalf("status %d, want %d: %s", rec.Code, tc.status, rec.Body)
			}
			if tc.status != 200 {
				return
			}
			var out struct {
				APIVersion string `json:"apiVersion"`
				Kind       string `json:"kind"`
				Response   struct {
					UID       string `json:"uid"`
					Allowed   bool   `json:"allowed"`
					Patch     string `json:"patch"`
					PatchType string `json:"patchType"`
					Status    struct {
						Code    int    `json:"code"`
						Message string `json:"message"`
					} `json:"status"`
				} `json:"response"`
			}
			if err := json.Unmarshal(rec.Body.Bytes(), &out); err != nil {
				t.Fatal(err)
			}
			var in struct {
				APIVersion string `json:"apiVersion"`
			}
			json.Unmarshal([]byte(tc.body), &in)
			if out.APIVersion != in.APIVersion || out.Kind != "AdmissionReview" || out.Response.UID != "705ab4f5-6393-11e8-b7cc-42010a800002" {
				t.Fatalf("envelope %s", rec.Body)
			}
			if out.Response.Allowed != tc.allowed || (out.Response.Patch != "") != tc.patched {
				t.Fatalf("response %s", rec.Body)
			}
			if tc.patched {
				p, _ := base64.StdEncoding.DecodeString(out.Response.Patch)
				if out.Response.PatchType != "JSONPatch" || !strings.Contains(string(p), `"/spec/volumes"`) {
					t.Fatalf("patch %s type %s", p, out.Response.PatchType)
				}
			}
			if tc.message != "" && (out.Response.Status.Code != 400 || !strings.Contains(rec.Body.String(), tc.message)) {
				t.Fatalf("denial %s", rec.Body)
			}
		})
	}
}
