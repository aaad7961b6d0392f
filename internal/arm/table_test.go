package arm

import (
	"net/http"
	"net/http/httptest"
	"strings"
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

// TestParentOnMiss: a GET reads the resource first and checks its parent
// only when that read fails, answering the parent's error when the parent
// is missing; a write checks the parent first, before anything is written.
func TestParentOnMiss(t *testing.T) {
	var parentCalls, gets, puts int
	hit, parentOK := true, true
	typ := &resourceType{
		apiType: "Test/things", versions: []string{"2024-01-01"},
		parent: func(q *request) error {
			parentCalls++
			if parentOK {
				return nil
			}
			return newError(http.StatusNotFound, "ResourceGroupNotFound", "Resource group 'rg' could not be found.")
		},
		get: func(q *request) (any, error) {
			gets++
			if hit {
				return map[string]string{"name": "a"}, nil
			}
			return nil, newError(http.StatusNotFound, "ResourceNotFound", "The Resource 'Test/things/a' was not found.")
		},
		put: func(q *request) (any, bool, error) { puts++; return map[string]string{"name": "a"}, true, nil },
	}
	cases := []struct {
		name, method          string
		hit, parentOK         bool
		status                int
		code                  string
		parents, gets, writes int
	}{
		{"get hit: no parent read", "GET", true, true, http.StatusOK, "", 0, 1, 0},
		{"get miss, parent there: the type's not found", "GET", false, true, http.StatusNotFound, "ResourceNotFound", 1, 1, 0},
		{"get miss, no parent: the parent's not found", "GET", false, false, http.StatusNotFound, "ResourceGroupNotFound", 1, 1, 0},
		{"put: the parent first", "PUT", true, true, http.StatusCreated, "", 1, 0, 1},
		{"put, no parent: nothing written", "PUT", true, false, http.StatusNotFound, "ResourceGroupNotFound", 1, 0, 0},
	}
	h := New(Config{})
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			hit, parentOK = tc.hit, tc.parentOK
			parentCalls, gets, puts = 0, 0, 0
			rec := httptest.NewRecorder()
			r := httptest.NewRequest(tc.method, "/x?api-version=2024-01-01", nil)
			if err := typ.serveInstance(&request{w: rec, r: r}); err != nil {
				h.writeError(rec, r, err)
			}
			if rec.Code != tc.status || (tc.code != "" && !strings.Contains(rec.Body.String(), `"code":"`+tc.code+`"`)) {
				t.Fatalf("%s: %d %s; want %d with code %q", tc.method, rec.Code, rec.Body.String(), tc.status, tc.code)
			}
			if parentCalls != tc.parents || gets != tc.gets || puts != tc.writes {
				t.Errorf("%s: parent read %d times, get %d, put %d; want %d, %d, %d", tc.method, parentCalls, gets, puts, tc.parents, tc.gets, tc.writes)
			}
		})
	}
}
