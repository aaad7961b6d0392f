// Package armerr is Azure Resource Manager's error vocabulary: one error
// type carrying the HTTP status, ARM's code and message, constructors named
// for ARM's codes, and the one writer of ARM's envelope
// {"error":{"code","message"}}. Services (msi, resources, authz, vault,
// clusters, machines) return these as values; the ARM handler writes them
// with Write at the edge. It imports nothing of Ward, so every part may use it.
package armerr

import (
	"errors"
	"fmt"
	"net/http"

	"github.com/ward-id/ward/internal/httpbody"
)

// ARM error codes, spelled as ARM spells them.
const (
	CodeSubscriptionNotFound    = "SubscriptionNotFound"
	CodeResourceGroupNotFound   = "ResourceGroupNotFound"
	CodeResourceNotFound        = "ResourceNotFound"
	CodeParentResourceNotFound  = "ParentResourceNotFound"
	CodeInvalidResourceGroup    = "InvalidResourceGroup"
	CodeInvalidResourceName     = "InvalidResourceName"
	CodeLocationRequired        = "LocationRequired"
	CodeInvalidTag              = "InvalidTag"
	CodeBadRequest              = "BadRequest"
	CodeConcurrentFICWrites     = "ConcurrentFederatedIdentityCredentialsWritesForSingleManagedIdentity"
	CodeConflict                = "Conflict"
	CodeNotFound                = "NotFound"
	CodeMissingAPIVersion       = "MissingApiVersionParameter"
	CodeInvalidAPIVersion       = "InvalidApiVersionParameter"
	CodeNoRegisteredProvider    = "NoRegisteredProviderFound"
	CodeInvalidRequestContent   = "InvalidRequestContent"
	CodeRequestTooLarge         = "RequestContentTooLarge"
	CodeAuthenticationFailed    = "AuthenticationFailed"
	CodeInvalidAuthToken        = "InvalidAuthenticationToken"
	CodeExpiredAuthToken        = "ExpiredAuthenticationToken"
	CodeAuthorizationFailed     = "AuthorizationFailed"
	CodeLinkedAuthorization     = "LinkedAuthorizationFailed"
	CodeMethodNotAllowed        = "MethodNotAllowed"
	CodeInvalidResourceType     = "InvalidResourceType"
	CodeInvalidResourceNS       = "InvalidResourceNamespace"
	CodeInvalidParameter        = "InvalidParameter"
	CodeInvalidFilter           = "InvalidFilterInQueryString"
	CodeInvalidSkipToken        = "InvalidSkipToken"
	CodeInternalServerError     = "InternalServerError"
	CodeUnsupportedMediaType    = "UnsupportedMediaType"
	CodeLinkedInvalidPropertyID = "LinkedInvalidPropertyId"
)

// NotFoundHelp ends ARM's ResourceNotFound messages.
const NotFoundHelp = "For more details please go to https://aka.ms/ARMResourceNotFoundFix"

// Error is an ARM error: the status ARM answers with, its code and message.
type Error struct {
	Status  int
	Code    string
	Message string
}

func (e *Error) Error() string { return e.Code + ": " + e.Message }

// New returns an Error with a formatted message.
func New(status int, code, format string, args ...any) *Error {
	if len(args) > 0 {
		format = fmt.Sprintf(format, args...)
	}
	return &Error{Status: status, Code: code, Message: format}
}

// BadRequest is a 400: the request is malformed or breaks a rule.
func BadRequest(code, format string, args ...any) *Error {
	return New(http.StatusBadRequest, code, format, args...)
}

// NotFound is a 404: the target or its parent does not exist.
func NotFound(code, format string, args ...any) *Error {
	return New(http.StatusNotFound, code, format, args...)
}

// Conflict is a 409: a concurrent or conflicting write.
func Conflict(code, format string, args ...any) *Error {
	return New(http.StatusConflict, code, format, args...)
}

// AuthorizationFailed is a 403: the caller lacks a permission.
func AuthorizationFailed(format string, args ...any) *Error {
	return New(http.StatusForbidden, CodeAuthorizationFailed, format, args...)
}

// NotAuthorized is ARM's 403 for a caller (client appID, object objectID)
// that does not hold action at scope, why being the authorizer's reason.
// Every front that refuses a management action answers with it.
func NotAuthorized(appID, objectID, action, scope string, why error) *Error {
	return AuthorizationFailed("The client '%s' with object id '%s' does not have authorization to perform action '%s' over scope '%s' or the scope is invalid. If access was recently granted, please refresh your credentials. (%v)",
		appID, objectID, action, scope, why)
}

// InvalidRequestContent is a 400 for a body that cannot be used.
func InvalidRequestContent(format string, args ...any) *Error {
	return BadRequest(CodeInvalidRequestContent, format, args...)
}

// SubscriptionNotFound is ARM's 404 for an unknown subscription.
func SubscriptionNotFound(sub string) *Error {
	return NotFound(CodeSubscriptionNotFound, "The subscription '%s' could not be found.", sub)
}

// ResourceGroupNotFound is ARM's 404 for an unknown resource group.
func ResourceGroupNotFound(rg string) *Error {
	return NotFound(CodeResourceGroupNotFound, "Resource group '%s' could not be found.", rg)
}

// Internal is the generic 500 that names the request ID, never internals.
func Internal(requestID string) *Error {
	return New(http.StatusInternalServerError, CodeInternalServerError,
		"The server encountered an internal error. Request ID: %s", requestID)
}

// As returns err's *Error, if it has one.
func As(err error) (*Error, bool) {
	var e *Error
	ok := errors.As(err, &e)
	return e, ok
}

// IsNotFound reports whether err is an ARM 404.
func IsNotFound(err error) bool {
	e, ok := As(err)
	return ok && e.Status == http.StatusNotFound
}

type body struct {
	Error struct {
		Code    string `json:"code"`
		Message string `json:"message"`
	} `json:"error"`
}

// Write writes e in ARM's envelope: the only place it is written.
func Write(w http.ResponseWriter, e *Error) {
	var b body
	b.Error.Code, b.Error.Message = e.Code, e.Message
	WriteJSON(w, e.Status, b)
}

// WriteJSON writes v as ARM's JSON with status.
func WriteJSON(w http.ResponseWriter, status int, v any) {
	httpbody.WriteJSON(w, status, v, []byte(`{"error":{"code":"InternalServerError","message":"failed to encode the response"}}`))
}
