package msi

import (
	"github.com/ward-id/ward/internal/armerr"
)

// The rule errors of this package, in ARM's vocabulary (package armerr).
var (
	invalid  = armerr.BadRequest
	notFound = armerr.NotFound
)

func errIdentityNotFound(rg, name string) *armerr.Error {
	return notFound(armerr.CodeResourceNotFound, "The Resource 'Microsoft.ManagedIdentity/userAssignedIdentities/%s' under resource group '%s' was not found. %s", name, rg, armerr.NotFoundHelp)
}

func errFICNotFound(rg, identity, name string) *armerr.Error {
	return notFound(armerr.CodeResourceNotFound, "The Resource 'Microsoft.ManagedIdentity/userAssignedIdentities/%s/federatedIdentityCredentials/%s' under resource group '%s' was not found. %s", identity, name, rg, armerr.NotFoundHelp)
}

func errParentIdentityNotFound() *armerr.Error {
	return notFound(armerr.CodeParentResourceNotFound, "The parent user-assigned identity doesn't exist.")
}
