package blob

// Wire names of the Blob service: headers, query values, the token
// audience and the data actions each operation needs. A rename here is a
// change on the wire.

// Audience is the resource every storage account accepts tokens for
// (besides the account's own URL).
const Audience = "https://storage.azure.com"

// DefaultVersion is the x-ms-version answered when the request names none.
const DefaultVersion = "2025-01-05"

// Headers.
const (
	hVersion         = "x-ms-version"
	hRequestID       = "x-ms-request-id"
	hClientRequestID = "x-ms-client-request-id"
	hErrorCode       = "x-ms-error-code"
	hBlobType        = "x-ms-blob-type"
	hMetaPrefix      = "x-ms-meta-"
	hRange           = "x-ms-range"
	hCreationTime    = "x-ms-creation-time"
	hBlobContentMD5  = "x-ms-blob-content-md5"
	hServerEncrypted = "x-ms-server-encrypted"
	hRequestEncrypt  = "x-ms-request-server-encrypted"
)

// Data actions (a role's dataActions) and actions (a role's actions) of the
// Blob service. Blob operations are authorized at the container's scope,
// the narrowest scope Azure lets a role be assigned at.
const (
	ActionBlobRead       = "Microsoft.Storage/storageAccounts/blobServices/containers/blobs/read"
	ActionBlobWrite      = "Microsoft.Storage/storageAccounts/blobServices/containers/blobs/write"
	ActionBlobAdd        = "Microsoft.Storage/storageAccounts/blobServices/containers/blobs/add/action"
	ActionBlobDelete     = "Microsoft.Storage/storageAccounts/blobServices/containers/blobs/delete"
	ActionContainerRead  = "Microsoft.Storage/storageAccounts/blobServices/containers/read"
	ActionContainerWrite = "Microsoft.Storage/storageAccounts/blobServices/containers/write"
	ActionContainerDel   = "Microsoft.Storage/storageAccounts/blobServices/containers/delete"
)

// Error codes of the Blob service, as its SDKs branch on them.
const (
	CodeContainerNotFound       = "ContainerNotFound"
	CodeContainerAlreadyExists  = "ContainerAlreadyExists"
	CodeBlobNotFound            = "BlobNotFound"
	CodeBlobAlreadyExists       = "BlobAlreadyExists"
	CodeResourceNotFound        = "ResourceNotFound"
	CodeAuthzMismatch           = "AuthorizationPermissionMismatch"
	CodeNoAuthentication        = "NoAuthenticationInformation"
	CodeInvalidAuthentication   = "InvalidAuthenticationInfo"
	CodeKeyAuthNotPermitted     = "KeyBasedAuthenticationNotPermitted"
	CodeConditionNotMet         = "ConditionNotMet"
	CodeInvalidRange            = "InvalidRange"
	CodeInvalidBlockList        = "InvalidBlockList"
	CodeInvalidBlockID          = "InvalidBlockId"
	CodeMd5Mismatch             = "Md5Mismatch"
	CodeRequestBodyTooLarge     = "RequestBodyTooLarge"
	CodeInvalidQueryParameter   = "InvalidQueryParameterValue"
	CodeInvalidHeaderValue      = "InvalidHeaderValue"
	CodeInvalidResourceName     = "InvalidResourceName"
	CodeInvalidXML              = "InvalidXmlDocument"
	CodeInvalidMetadata         = "InvalidMetadata"
	CodeUnsupportedHTTPVerb     = "UnsupportedHttpVerb"
	CodeUnsupportedQuery        = "UnsupportedQueryParameter"
	CodeUnsupportedBlobType     = "UnsupportedHeader"
	CodeInternalError           = "InternalError"
	CodeIncompleteBody          = "IncompleteBody"
	CodeOutOfRangeInput         = "OutOfRangeInput"
	CodeContainerBeingDeleted   = "ContainerBeingDeleted"
	CodeMissingRequiredHeader   = "MissingRequiredHeader"
	CodeInvalidInput            = "InvalidInput"
	CodeTooManyUncommitedBlocks = "BlockCountExceedsLimit"
)
