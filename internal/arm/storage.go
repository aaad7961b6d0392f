package arm

import (
	"encoding/json"
	"errors"
	"net/http"
	"time"

	"github.com/ward-id/ward/internal/armerr"
	"github.com/ward-id/ward/internal/blob"
	"github.com/ward-id/ward/internal/resourceid"
	"github.com/ward-id/ward/internal/router"
	"github.com/ward-id/ward/internal/storage"
)

const (
	ProviderStorage   = "Microsoft.Storage"
	TypeStorageAcct   = resourceid.TypeStorageAccount
	TypeBlobContainer = "Microsoft.Storage/storageAccounts/blobServices/containers"
	pStorageAccount   = pGroup + "/providers/Microsoft.Storage/storageAccounts/{accountName}"
	pBlobContainers   = pStorageAccount + "/blobServices/default/containers"
	// ActionCheckStorageName is checkNameAvailability's action.
	ActionCheckStorageName = "Microsoft.Storage/checknameavailability/read"
)

// storageAPIVersions: az 2.45 sends 2022-09-01, azure-mgmt-storage 21
// 2023-01-01, Go armstorage 1.6 2023-05-01, @azure/arm-storage 18
// 2023-05-01; newer SDKs 2024-01-01 and 2025-01-01; Terraform's azurerm
// (go-azure-sdk, 2026) 2025-08-01.
var storageAPIVersions = []string{"2019-06-01", "2021-01-01", "2021-04-01", "2021-06-01", "2021-08-01", "2021-09-01", "2022-05-01",
	"2022-09-01", "2023-01-01", "2023-04-01", "2023-05-01", "2024-01-01", "2025-01-01", "2025-06-01", "2025-08-01"}

type storageAccountJSON struct {
	ID       string            `json:"id"`
	Name     string            `json:"name"`
	Type     string            `json:"type"`
	Location string            `json:"location"`
	Tags     map[string]string `json:"tags"`
	Kind     string            `json:"kind"`
	SKU      struct {
		Name string `json:"name"`
		Tier string `json:"tier"`
	} `json:"sku"`
	Properties struct {
		ProvisioningState    string            `json:"provisioningState"`
		PrimaryEndpoints     map[string]string `json:"primaryEndpoints"`
		PrimaryLocation      string            `json:"primaryLocation"`
		StatusOfPrimary      string            `json:"statusOfPrimary"`
		CreationTime         string            `json:"creationTime"`
		AllowSharedKeyAccess bool              `json:"allowSharedKeyAccess"`
	} `json:"properties"`
}

// storageAccountDefaults are Azure's answers for the properties of an
// account that Ward stores as declared but does not act on
// (withEchoDefaults): Ward serves blobs over HTTPS on its own listener,
// with its own TLS settings, one access tier and no network rules.
func storageAccountDefaults() map[string]any {
	return map[string]any{"properties": map[string]any{
		"supportsHttpsTrafficOnly": true, "minimumTlsVersion": "TLS1_2", "accessTier": "Hot",
		"publicNetworkAccess": "Enabled", "allowBlobPublicAccess": false,
	}}
}

// toStorageAccount is an account's answer: what Ward computes, with what
// the user declared filled in, then Azure's defaults (echo.go).
func (h *Handler) toStorageAccount(a storage.StorageAccount) any {
	return answerWith(h.storageAccountView(a), a.Echo, storageAccountDefaults())
}

func (h *Handler) storageAccountView(a storage.StorageAccount) storageAccountJSON {
	j := storageAccountJSON{ID: blob.ResourceID(a), Name: a.Name, Type: TypeStorageAcct, Location: a.Location, Tags: a.Tags, Kind: a.Kind}
	if j.Tags == nil {
		j.Tags = map[string]string{}
	}
	j.SKU.Name, j.SKU.Tier = a.SKU, "Standard"
	if len(a.SKU) > 8 && a.SKU[:8] == "Premium_" {
		j.SKU.Tier = "Premium"
	}
	p := &j.Properties
	p.ProvisioningState, p.PrimaryLocation, p.StatusOfPrimary = "Succeeded", a.Location, "available"
	p.PrimaryEndpoints = map[string]string{"blob": h.blobs.Hosts.URL(a.Name)}
	p.CreationTime = a.CreatedAt.UTC().Format(time.RFC3339Nano)
	return j
}

type storageAccountBody struct {
	Location string            `json:"location"`
	Tags     map[string]string `json:"tags"`
	Kind     string            `json:"kind"`
	SKU      *struct {
		Name string `json:"name"`
	} `json:"sku"`
	Properties *struct {
		AllowSharedKeyAccess *bool `json:"allowSharedKeyAccess"`
	} `json:"properties"`
	declared
}

// storageAccountEchoDrop are the paths of an account request not echoed:
// stored as fields (kind, SKU) or computed (endpoints, locations, states
// and times).
var storageAccountEchoDrop = [][]string{
	{"id"}, {"name"}, {"type"}, {"kind"}, {"sku"}, {"systemData"},
	{"properties", "provisioningState"}, {"properties", "primaryEndpoints"}, {"properties", "primaryLocation"},
	{"properties", "statusOfPrimary"}, {"properties", "secondaryEndpoints"}, {"properties", "secondaryLocation"},
	{"properties", "statusOfSecondary"}, {"properties", "creationTime"}, {"properties", "lastGeoFailoverTime"},
	{"properties", "keyCreationTime"}, {"properties", "privateEndpointConnections"}, {"properties", "allowSharedKeyAccess"},
}

// spec is what a PUT (merge false) or PATCH (merge true) of b sets.
func (b storageAccountBody) spec(merge bool) (blob.AccountSpec, error) {
	s := blob.AccountSpec{Location: b.Location, Kind: b.Kind, Tags: b.Tags}
	if b.SKU != nil {
		s.SKU = b.SKU.Name
	}
	if b.Properties != nil {
		s.AllowSharedKeyAccess = b.Properties.AllowSharedKeyAccess
	}
	echo, err := echoOf(b.raw, storageAccountEchoDrop...)
	if err != nil {
		return s, err
	}
	s.Echo = echoReplace(echo)
	if merge {
		s.Echo = echoMerge(echo)
	}
	return s, nil
}

func (h *Handler) storageAccountType() *resourceType {
	const prov = "/providers/Microsoft.Storage/storageAccounts"
	return groupCRUD[blob.AccountSpec, storage.StorageAccount, any]{
		list: h.blobs.Accounts, get: h.blobs.Account, put: h.blobs.PutAccount,
		patch: h.blobs.PatchAccount, delete: h.blobs.DeleteAccount,
		spec: specFrom[storageAccountBody], view: h.toStorageAccount,
	}.verbs(&resourceType{
		rbacType: TypeStorageAcct, apiType: TypeStorageAcct, versions: storageAPIVersions,
		pattern: pStorageAccount, collections: []string{pSub + prov, pGroup + prov},
		parent: h.groupParent, createdStatus: http.StatusOK, asyncPut: ProviderStorage,
	})
}

type blobContainerJSON struct {
	ID         string `json:"id"`
	Name       string `json:"name"`
	Type       string `json:"type"`
	ETag       string `json:"etag"`
	Properties struct {
		PublicAccess          string            `json:"publicAccess"`
		LastModifiedTime      string            `json:"lastModifiedTime"`
		LeaseStatus           string            `json:"leaseStatus"`
		LeaseState            string            `json:"leaseState"`
		HasImmutabilityPolicy bool              `json:"hasImmutabilityPolicy"`
		HasLegalHold          bool              `json:"hasLegalHold"`
		Metadata              map[string]string `json:"metadata"`
	} `json:"properties"`
}

func toBlobContainer(a storage.StorageAccount) func(storage.BlobContainer) blobContainerJSON {
	return func(c storage.BlobContainer) blobContainerJSON {
		j := blobContainerJSON{ID: blob.ContainerID(a, c.Name), Name: c.Name, Type: TypeBlobContainer, ETag: c.ETag}
		p := &j.Properties
		p.PublicAccess, p.LastModifiedTime, p.LeaseStatus, p.LeaseState = "None", c.UpdatedAt.UTC().Format(time.RFC3339Nano), "Unlocked", "Available"
		p.Metadata = c.Metadata
		if p.Metadata == nil {
			p.Metadata = map[string]string{}
		}
		return j
	}
}

// asARM turns the data plane's errors into ARM's.
func asARM(err error) error {
	var be *blob.Error
	if errors.As(err, &be) {
		return newError(be.Status, be.Code, be.Message)
	}
	return err
}

func (h *Handler) blobContainerType() *resourceType {
	account := func(q *request) (storage.StorageAccount, error) {
		return h.blobs.Account(q.ctx(), q.id.Subscription, q.group(), q.name(0))
	}
	return &resourceType{
		rbacType: TypeBlobContainer, apiType: TypeBlobContainer, versions: storageAPIVersions,
		pattern: pBlobContainers + "/{containerName}", collections: []string{pBlobContainers},
		parent: func(q *request) error { _, err := account(q); return err },
		list: func(q *request) ([]any, string, error) {
			a, err := account(q)
			if err != nil {
				return nil, "", err
			}
			var all []storage.BlobContainer
			after := ""
			for {
				page, err := h.blobs.Containers(q.ctx(), a.Name, "", after, 1000)
				if err != nil {
					return nil, "", err
				}
				all = append(all, page...)
				if len(page) < 1000 {
					break
				}
				after = page[len(page)-1].Name
			}
			return listOf(toBlobContainer(a))(all, "", nil)
		},
		get: func(q *request) (any, error) {
			a, err := account(q)
			if err != nil {
				return nil, err
			}
			c, err := h.blobs.Container(q.ctx(), a.Name, q.name(2))
			return viewOf(toBlobContainer(a))(c, asARM(err))
		},
		put: func(q *request) (any, bool, error) {
			var b struct {
				Properties *struct {
					Metadata     map[string]string `json:"metadata"`
					PublicAccess string            `json:"publicAccess"`
				} `json:"properties"`
			}
			if err := decodeBody(q.r, &b); err != nil {
				return nil, false, err
			}
			a, err := account(q)
			if err != nil {
				return nil, false, err
			}
			var md map[string]string
			if b.Properties != nil {
				if b.Properties.PublicAccess != "" && b.Properties.PublicAccess != "None" {
					return nil, false, newError(http.StatusConflict, "PublicAccessNotPermitted", "Public access is not permitted on this storage account.")
				}
				md = b.Properties.Metadata
			}
			c, err := h.blobs.CreateContainer(q.ctx(), a.Name, q.name(2), md)
			created := true
			var be *blob.Error
			if errors.As(err, &be) && be.Code == blob.CodeContainerAlreadyExists {
				created = false
				c, err = h.blobs.SetContainerMetadata(q.ctx(), a.Name, q.name(2), md)
			}
			if err != nil {
				return nil, false, asARM(err)
			}
			return toBlobContainer(a)(c), created, nil
		},
		del: func(q *request) (bool, error) {
			a, err := account(q)
			if err != nil {
				return false, nil
			}
			err = h.blobs.DeleteContainer(q.ctx(), a.Name, q.name(2))
			var be *blob.Error
			if errors.As(err, &be) && be.Code == blob.CodeContainerNotFound {
				return false, nil
			}
			return err == nil, err
		},
	}
}

// checkStorageName answers POST .../providers/Microsoft.Storage/checkNameAvailability.
func (h *Handler) checkStorageName(q *request) error {
	if err := checkAPIVersion(q.r, storageAPIVersions, TypeStorageAcct); err != nil {
		return err
	}
	var b struct {
		Name string `json:"name"`
		Type string `json:"type"`
	}
	if err := decodeBody(q.r, &b); err != nil {
		return err
	}
	ok, reason, msg, err := h.blobs.NameAvailable(q.ctx(), b.Name)
	if err != nil {
		return err
	}
	out := map[string]any{"nameAvailable": ok}
	if !ok {
		out["reason"], out["message"] = reason, msg
	}
	writeJSON(q.w, http.StatusOK, out)
	return nil
}

// blobServiceDefaults are Azure's answers for a blob service nobody
// configured: no CORS rules, no soft delete, no versioning.
func blobServiceDefaults() map[string]any {
	return map[string]any{"properties": map[string]any{
		"cors": map[string]any{"corsRules": []any{}}, "deleteRetentionPolicy": map[string]any{"enabled": false},
		"containerDeleteRetentionPolicy": map[string]any{"enabled": false}, "isVersioningEnabled": false,
	}}
}

// mountStorage puts checkNameAvailability on mux (the resource types are
// in the table).
func (h *Handler) mountStorage(add func(method, pattern string, a router.Access, fn func(*request) error)) {
	add(http.MethodPost, pSub+"/providers/Microsoft.Storage/checkNameAvailability", router.Action(ActionCheckStorageName), h.checkStorageName)
	// What Terraform's azurerm reads on every refresh of an account.
	account := func(fn func(q *request, a storage.StorageAccount) error) func(q *request) error {
		return func(q *request) error {
			if err := checkAPIVersion(q.r, storageAPIVersions, TypeStorageAcct); err != nil {
				return err
			}
			a, err := h.blobs.Account(q.ctx(), q.id.Subscription, q.group(), q.name(0))
			if err != nil {
				return asARM(err)
			}
			return fn(q, a)
		}
	}
	// Ward's accounts have no shared keys (Microsoft Entra sign-in only):
	// the list is empty.
	add(http.MethodPost, pStorageAccount+"/listKeys", router.Action(TypeStorageAcct+"/listkeys/action"), account(func(q *request, _ storage.StorageAccount) error {
		writeJSON(q.w, http.StatusOK, map[string]any{"keys": []any{}})
		return nil
	}))
	// The blob service properties: what the account's PUTs of
	// blobServices/default declared (delete retention, versioning, CORS,
	// change feed, …), stored and answered back though Ward acts on none
	// of them, over Azure's defaults (echo.go). Terraform's azurerm reads
	// them on every refresh and PUTs them for blob_properties.
	blobService := func(q *request, a storage.StorageAccount) error {
		j := map[string]any{"id": blob.ResourceID(a) + "/blobServices/default", "name": "default", "type": TypeStorageAcct + "/blobServices"}
		out, err := withEchoDefaults(j, a.BlobServiceEcho, blobServiceDefaults())
		if err != nil {
			return err
		}
		writeJSON(q.w, http.StatusOK, out)
		return nil
	}
	add(http.MethodGet, pStorageAccount+"/blobServices/default", router.Action(TypeStorageAcct+"/blobServices/read"), account(blobService))
	add(http.MethodPut, pStorageAccount+"/blobServices/default", router.Action(TypeStorageAcct+"/blobServices/write"), account(func(q *request, _ storage.StorageAccount) error {
		var raw json.RawMessage
		if err := decodeBody(q.r, &raw); err != nil {
			return err
		}
		echo, err := echoOf(raw, [][]string{{"id"}, {"name"}, {"type"}, {"sku"}}...)
		if err != nil {
			return err
		}
		if echo == nil {
			return newError(http.StatusBadRequest, armerr.CodeInvalidRequestContent, "The request content was invalid and could not be deserialized: a JSON object is required.")
		}
		a, err := h.blobs.SetBlobServiceEcho(q.ctx(), q.id.Subscription, q.group(), q.name(0), echoMerge(echo))
		if err != nil {
			return asARM(err)
		}
		return blobService(q, a)
	}))
	// The file service of an account that has no file shares.
	add(http.MethodGet, pStorageAccount+"/fileServices/default", router.Action(TypeStorageAcct+"/fileServices/read"), account(func(q *request, a storage.StorageAccount) error {
		writeJSON(q.w, http.StatusOK, map[string]any{
			"id": blob.ResourceID(a) + "/fileServices/default", "name": "default", "type": TypeStorageAcct + "/fileServices",
			"properties": map[string]any{"cors": map[string]any{"corsRules": []any{}}, "shareDeleteRetentionPolicy": map[string]any{"enabled": false}},
		})
		return nil
	}))
}
