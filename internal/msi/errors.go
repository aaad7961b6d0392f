package msi

import "fmt"

// Kind classifies an Error for the protocol edge (ARM maps it to a status).
type Kind int

// Error kinds.
const (
	KindInvalid   Kind = iota // the request is malformed or breaks a rule: 400
	KindNotFound              // the target or its parent does not exist: 404
	KindConflict              // a concurrent or conflicting write: 409
	KindForbidden             // the caller lacks a permission the operation needs: 403
)

// ARM error codes produced by this package, spelled as ARM spells them.
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
	resourceNotFoundFixHelpLink = "For more details please go to https://aka.ms/ARMResourceNotFoundFix"
)

// Error is a rule violation with the code and message ARM would return.
type Error struct {
	Kind    Kind
	Code    string
	Message string
}

func (e *Error) Error() string { return e.Code + ": " + e.Message }

func invalid(code, format string, args ...any) *Error {
	return &Error{Kind: KindInvalid, Code: code, Message: fmt.Sprintf(format, args...)}
}

func notFound(code, format string, args ...any) *Error {
	return &Error{Kind: KindNotFound, Code: code, Message: fmt.Sprintf(format, args...)}
}

func errSubscriptionNotFound(sub string) *Error {
	return notFound(CodeSubscriptionNotFound, "The subscription '%s' could not be found.", sub)
}

func errGroupNotFound(rg string) *Error {
	return notFound(CodeResourceGroupNotFound, "Resource group '%s' could not be found.", rg)
}

func errIdentityNotFound(rg, name string) *Error {
	return notFound(CodeResourceNotFound, "The Resource 'Microsoft.ManagedIdentity/userAssignedIdentities/%s' under resource group '%s' was not found. %s", name, rg, resourceNotFoundFixHelpLink)
}

func errFICNotFound(rg, identity, name string) *Error {
	return notFound(CodeResourceNotFound, "The Resource 'Microsoft.ManagedIdentity/userAssignedIdentities/%s/federatedIdentityCredentials/%s' under resource group '%s' was not found. %s", identity, name, rg, resourceNotFoundFixHelpLink)
}

func errParentIdentityNotFound() *Error {
	return notFound(CodeParentResourceNotFound, "The parent user-assigned identity doesn't exist.")
}
