package blob

import (
	"encoding/xml"
	"errors"
	"fmt"
	"net/http"
	"time"
)

// Error is a Blob service error: an HTTP status, the code clients branch on
// (also sent as x-ms-error-code) and a message.
type Error struct {
	Status  int
	Code    string
	Message string
}

func (e *Error) Error() string { return e.Code + ": " + e.Message }

func errorf(status int, code, format string, args ...any) *Error {
	return &Error{Status: status, Code: code, Message: fmt.Sprintf(format, args...)}
}

var (
	errContainerNotFound = &Error{Status: http.StatusNotFound, Code: CodeContainerNotFound, Message: "The specified container does not exist."}
	errBlobNotFound      = &Error{Status: http.StatusNotFound, Code: CodeBlobNotFound, Message: "The specified blob does not exist."}
	errConditionNotMet   = &Error{Status: http.StatusPreconditionFailed, Code: CodeConditionNotMet, Message: "The condition specified using HTTP conditional header(s) is not met."}
	errDenied            = &Error{Status: http.StatusForbidden, Code: CodeAuthzMismatch, Message: "This request is not authorized to perform this operation using this permission."}
)

type errorXML struct {
	XMLName xml.Name `xml:"Error"`
	Code    string   `xml:"Code"`
	Message string   `xml:"Message"`
	Detail  string   `xml:"AuthenticationErrorDetail,omitempty"`
}

// writeError answers e in the service's XML shape; the message ends with
// the request ID and time as the service's do.
func writeError(w http.ResponseWriter, r *http.Request, e *Error, detail string) {
	w.Header().Set(hErrorCode, e.Code)
	msg := fmt.Sprintf("%s\nRequestId:%s\nTime:%s", e.Message, w.Header().Get(hRequestID), time.Now().UTC().Format("2006-01-02T15:04:05.0000000Z"))
	b, _ := xml.Marshal(errorXML{Code: e.Code, Message: msg, Detail: detail})
	w.Header().Set("Content-Type", "application/xml")
	w.WriteHeader(e.Status)
	if r.Method != http.MethodHead {
		_, _ = w.Write([]byte(xml.Header))
		_, _ = w.Write(b)
	}
}

// asError maps an error to the service's vocabulary; ok is false for an
// internal error.
func asError(err error) (*Error, bool) {
	var e *Error
	if errors.As(err, &e) {
		return e, true
	}
	var tooBig *http.MaxBytesError
	if errors.As(err, &tooBig) || errors.Is(err, ErrTooLarge) {
		return &Error{Status: http.StatusRequestEntityTooLarge, Code: CodeRequestBodyTooLarge, Message: "The request body is too large and exceeds the maximum permissible limit."}, true
	}
	return nil, false
}
