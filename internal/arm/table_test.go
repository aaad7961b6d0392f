package arm

import (
	"net/http"
	"net/http/httptest"
	"testing"
)

// TestGenericFlow: one flow answers every resource type as ARM does: 201
// on create and 200 on update, 200 or 204 on delete, lists never null, a
// method the type lacks is 405 naming those it has, and the api-version is
// checked first.
func TestGenericFlow(t *testing.T) {
	created, found := true, true
	typ := &resourceType{
		apiType: "Test/things", versions: []string{"2024-01-01"},
		list: func(q *request) ([]any, string, error) { return nil, "", nil },
		get:  func(q *request) (any, error) { return map[string]string{"name": "a"}, nil },
		put:  func(q *request) (any, bool, error) { return map[string]string{"name": "a"}, created, nil },
		del:  func(q *request) (bool, error) { return found, nil },
	}
	cases := []struct {
		name, method, query string
		collection          bool
		created, found      bool
		status              int
		body                string
	}{
		{"get", "GET", "?api-version=2024-01-01", false, false, false, http.StatusOK, `{"name":"a"}`},
		{"put creates", "PUT", "?api-version=2024-01-01", false, true, false, http.StatusCreated, `{"name":"a"}`},
		{"put updates", "PUT", "?api-version=2024-01-01", false, false, false, http.StatusOK, `{"name":"a"}`},
		{"delete found", "DELETE", "?api-version=2024-01-01", false, false, true, http.StatusOK, ``},
		{"delete absent", "DELETE", "?api-version=2024-01-01", false, false, false, http.StatusNoContent, ``},
		{"list is never null", "GET", "?api-version=2024-01-01", true, false, false, http.StatusOK, `{"value":[]}`},
		{"patch is not a method of the type", "PATCH", "?api-version=2024-01-01", false, false, false, http.StatusMethodNotAllowed,
			`{"error":{"code":"MethodNotAllowed","message":"The HTTP method 'PATCH' is not supported at '/x'. Supported methods: GET, PUT, DELETE."}}`},
		{"api-version first", "PATCH", "", false, false, false, http.StatusBadRequest,
			`{"error":{"code":"MissingApiVersionParameter","message":"The api-version query parameter (?api-version=) is required for all requests."}}`},
	}
	h := New(Config{})
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			created, found = tc.created, tc.found
			rec := httptest.NewRecorder()
			r := httptest.NewRequest(tc.method, "/x"+tc.query, nil)
			q := &request{w: rec, r: r}
			serve := typ.serveInstance
			if tc.collection {
				serve = typ.serveCollection
			}
			if err := serve(q); err != nil {
				h.writeError(rec, r, err)
			}
			if rec.Code != tc.status || rec.Body.String() != tc.body {
				t.Fatalf("%s %s: %d %s; want %d %s", tc.method, tc.query, rec.Code, rec.Body.String(), tc.status, tc.body)
			}
		})
	}
}
