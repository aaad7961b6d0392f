package httpbody

import (
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
)

// failing is a body that breaks after its first bytes, as a connection
// that drops or a read deadline that passes.
type failing struct{ sent bool }

func (f *failing) Read(p []byte) (int, error) {
	if !f.sent {
		f.sent = true
		return copy(p, `{"a":`), nil
	}
	return 0, errors.New("read tcp: i/o timeout")
}

func TestJSON(t *testing.T) {
	type obj struct {
		A string `json:"a"`
	}
	// capped wraps a body in the router's cap (http.MaxBytesReader).
	capped := func(body string, limit int64) io.Reader {
		return http.MaxBytesReader(httptest.NewRecorder(), io.NopCloser(strings.NewReader(body)), limit)
	}
	exact := `{"a":"xyz"}` // 11 bytes
	for _, tc := range []struct {
		name    string
		body    io.Reader
		limit   int64
		want    Problem // 0: accepted
		wantA   string
		wantCap int64
	}{
		{"limit exactly", strings.NewReader(exact), 11, 0, "xyz", 0},
		{"limit plus one", strings.NewReader(exact + " "), 11, TooLarge, "", 11},
		{"router cap exactly", capped(exact, 11), 0, 0, "xyz", 0},
		{"router cap plus one", capped(exact+" ", 11), 0, TooLarge, "", 11},
		{"no limit", strings.NewReader(exact), 0, 0, "xyz", 0},
		{"empty body", strings.NewReader(""), 100, Empty, "", 0},
		{"blank body", strings.NewReader(" \r\n\t"), 100, Empty, "", 0},
		{"nil body", nil, 100, Empty, "", 0},
		{"malformed JSON", strings.NewReader(`{"a":`), 100, Malformed, "", 0},
		{"wrong type", strings.NewReader(`{"a":5}`), 100, Malformed, "", 0},
		{"trailing data", strings.NewReader(`{"a":"x"} {}`), 100, Malformed, "", 0},
		{"trailing space", strings.NewReader(`{"a":"x"}` + "\n"), 100, 0, "x", 0},
		{"connection broke", &failing{}, 100, Unreadable, "", 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var v obj
			err := JSON(tc.body, tc.limit, &v)
			if tc.want == 0 {
				if err != nil || v.A != tc.wantA {
					t.Fatalf("JSON = %v, a=%q; want nil, a=%q", err, v.A, tc.wantA)
				}
				return
			}
			e, ok := As(err)
			if !ok || e.Problem != tc.want {
				t.Fatalf("JSON = %v; want problem %v", err, tc.want)
			}
			if e.Limit != tc.wantCap {
				t.Errorf("Limit = %d; want %d", e.Limit, tc.wantCap)
			}
			if !Is(err, tc.want) || e.Error() == "" {
				t.Errorf("Is(%v) = false or empty message", tc.want)
			}
		})
	}
}

func TestRead(t *testing.T) {
	for _, tc := range []struct {
		name  string
		body  string
		limit int64
		want  Problem
	}{
		{"limit exactly", "12345", 5, 0},
		{"limit plus one", "123456", 5, TooLarge},
		{"empty is no problem for bytes", "", 5, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b, err := Read(strings.NewReader(tc.body), tc.limit)
			if tc.want == 0 {
				if err != nil || string(b) != tc.body {
					t.Fatalf("Read = %q, %v; want %q", b, err, tc.body)
				}
				return
			}
			if !Is(err, tc.want) {
				t.Fatalf("Read = %v; want %v", err, tc.want)
			}
		})
	}
}

func TestForm(t *testing.T) {
	for _, tc := range []struct {
		name, method, ct, query, body string
		limit                         int64
		want                          Problem
		wantForm                      string // r.Form encoded
		wantPost                      string
	}{
		{"post form", "POST", "application/x-www-form-urlencoded", "q=1", "a=1&b=2", 100, 0, "a=1&b=2&q=1", "a=1&b=2"},
		{"body first", "POST", "application/x-www-form-urlencoded; charset=utf-8", "a=q", "a=b", 100, 0, "a=b&a=q", "a=b"},
		{"limit exactly", "POST", "application/x-www-form-urlencoded", "", "a=12", 4, 0, "a=12", "a=12"},
		{"limit plus one", "POST", "application/x-www-form-urlencoded", "", "a=123", 4, TooLarge, "", ""},
		{"bad escape", "POST", "application/x-www-form-urlencoded", "", "a=%zz", 100, Malformed, "", ""},
		{"bad query", "GET", "", "a=%zz", "", 100, Malformed, "", ""},
		{"get reads the query only", "GET", "application/x-www-form-urlencoded", "a=1", "b=2", 100, 0, "a=1", ""},
		{"other content type", "POST", "application/json", "a=1", `{"b":2}`, 100, 0, "a=1", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := httptest.NewRequest(tc.method, "/x?"+tc.query, strings.NewReader(tc.body))
			if tc.ct != "" {
				r.Header.Set("Content-Type", tc.ct)
			}
			r.Body = http.MaxBytesReader(httptest.NewRecorder(), r.Body, tc.limit)
			err := Form(r)
			if tc.want != 0 {
				if !Is(err, tc.want) {
					t.Fatalf("Form = %v; want %v", err, tc.want)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := r.Form.Encode(); got != tc.wantForm {
				t.Errorf("Form = %q; want %q", got, tc.wantForm)
			}
			if got := r.PostForm.Encode(); got != tc.wantPost {
				t.Errorf("PostForm = %q; want %q", got, tc.wantPost)
			}
		})
	}
}

func TestWriteJSON(t *testing.T) {
	fallback := []byte(`{"error":"server_error"}`)
	for _, tc := range []struct {
		name   string
		status int
		v      any
		want   string
		code   int
	}{
		{"value", http.StatusCreated, map[string]int{"a": 1}, `{"a":1}`, http.StatusCreated},
		{"html characters stay escaped", http.StatusOK, "<&>", `"\u003c\u0026\u003e"`, http.StatusOK},
		{"unmarshallable is a 500 with the fallback", http.StatusOK, make(chan int), string(fallback), http.StatusInternalServerError},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rec := httptest.NewRecorder()
			WriteJSON(rec, tc.status, tc.v, fallback)
			if rec.Code != tc.code || rec.Body.String() != tc.want {
				t.Fatalf("got %d %s, want %d %s", rec.Code, rec.Body, tc.code, tc.want)
			}
			if ct := rec.Header().Get("Content-Type"); ct != "application/json; charset=utf-8" {
				t.Errorf("Content-Type %q", ct)
			}
			if cl := rec.Header().Get("Content-Length"); cl != strconv.Itoa(len(tc.want)) {
				t.Errorf("Content-Length %q, want %d", cl, len(tc.want))
			}
		})
	}
}
