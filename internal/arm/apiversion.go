package arm

import (
	"fmt"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/ward-id/ward/internal/armerr"
)

// The api-version rule, per resource type. Each type has the list of the
// api-versions Ward knows (the ARM versions the Go, JavaScript and Python
// SDKs and az send, and the real ones between), and Ward answers every
// version of a type in one shape, the newest it knows. A request's
// api-version is
//
//   - accepted when it is in the type's list;
//   - accepted when it is well formed (YYYY-MM-DD, or YYYY-MM-DD-preview)
//     and its date is later than the newest known one's: SDKs move faster
//     than Ward, and a newer version answered in the newest known shape is
//     what a client written against it reads (ARM only adds to a shape
//     within a type's major version);
//   - refused when it is missing, malformed, older than the oldest known
//     one, or between the oldest and the newest without being one of them,
//     as ARM refuses a version that does not exist for the type.
//
// Keep the lists current: when an SDK sends a version newer than the
// newest, add it (and the real ones between) to the list.

// apiVersionRE is a well-formed api-version: a date, optionally -preview.
var apiVersionRE = regexp.MustCompile(`^([0-9]{4}-[0-9]{2}-[0-9]{2})(-preview)?$`)

// apiVersionDate returns the date part of a well-formed api-version.
func apiVersionDate(v string) (string, bool) {
	m := apiVersionRE.FindStringSubmatch(v)
	if m == nil {
		return "", false
	}
	if _, err := time.Parse(time.DateOnly, m[1]); err != nil {
		return "", false
	}
	return m[1], true
}

// newerThanKnown reports whether v is a well-formed api-version dated after
// every version in known.
func newerThanKnown(v string, known []string) bool {
	date, ok := apiVersionDate(v)
	if !ok {
		return false
	}
	for _, k := range known {
		// Dates in YYYY-MM-DD order as strings.
		if kd, _ := apiVersionDate(k); kd >= date {
			return false
		}
	}
	return len(known) > 0
}

// checkAPIVersion enforces ?api-version= by the rule above, with the
// versions typ serves.
func checkAPIVersion(r *http.Request, supported []string, typ string) error {
	v := r.URL.Query().Get("api-version")
	if v == "" {
		return newError(http.StatusBadRequest, armerr.CodeMissingAPIVersion, "The api-version query parameter (?api-version=) is required for all requests.")
	}
	if slices.Contains(supported, v) || newerThanKnown(v, supported) {
		return nil
	}
	const later = " Any later well-formed version (YYYY-MM-DD or YYYY-MM-DD-preview) is answered as the newest."
	if strings.Contains(typ, "/") && strings.HasPrefix(typ, "Microsoft.ManagedIdentity") {
		return newError(http.StatusBadRequest, armerr.CodeNoRegisteredProvider, fmt.Sprintf(
			"No registered resource provider found for API version '%s' and type '%s'. The supported api-versions are '%s'.%s", v, typ, strings.Join(supported, ", "), later))
	}
	return newError(http.StatusBadRequest, armerr.CodeInvalidAPIVersion, fmt.Sprintf(
		"The api-version '%s' is invalid. The supported versions are '%s'.%s", v, strings.Join(supported, ","), later))
}
