package arm

import (
	"encoding/base64"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/ward-id/ward/internal/resourceid"
	"github.com/ward-id/ward/internal/router"
)

// Long-running deletes. Some ARM types are deleted asynchronously in Azure
// and their clients accept nothing else: go-azure-sdk (Terraform's azurerm)
// takes only 202 with a polling header or 204 from DELETE
// managedClusters/{name}, and fails on 200. Ward deletes at once, so the
// operation it hands out is already over when the 202 is written: the
// Azure-AsyncOperation URL answers {"status":"Succeeded"} and the Location
// URL 204, as Azure answers a finished delete; Retry-After: 0 lets the
// poller ask at once instead of its default wait.
//
// An operation ID carries what it is about (the deleted resource's ID and
// when it went, base64url), so no operation is stored: an ID Ward did not
// hand out for this subscription and namespace is ARM's 404.

// mountOperations mounts the two polling URLs of one namespace's
// long-running operations.
func (h *Handler) mountOperations(add func(method, pattern string, a router.Access, fn func(*request) error), namespace string, versions []string) {
	base := pSub + "/providers/" + namespace + "/locations/{location}"
	read := router.Action(namespace + "/locations/operations/read")
	add("GET", base+"/operations/{operationId}", read, func(q *request) error {
		op, err := h.operation(q, namespace, versions)
		if err != nil {
			return err
		}
		writeJSON(q.w, http.StatusOK, map[string]string{
			"id":   resourceid.SubscriptionID(q.id.Subscription) + "/providers/" + namespace + "/locations/" + pathParam(q, "location") + "/operations/" + pathParam(q, "operationId"),
			"name": pathParam(q, "operationId"), "status": "Succeeded",
			"startTime": op.at.Format(time.RFC3339), "endTime": op.at.Format(time.RFC3339),
		})
		return nil
	})
	add("GET", base+"/operationresults/{operationId}", read, func(q *request) error {
		if _, err := h.operation(q, namespace, versions); err != nil {
			return err
		}
		q.w.WriteHeader(http.StatusNoContent)
		return nil
	})
}

// operation is a decoded operation ID.
type operation struct {
	resource string
	at       time.Time
}

func operationID(resource string, at time.Time) string {
	return base64.RawURLEncoding.EncodeToString([]byte(fmt.Sprintf("%d|%s", at.Unix(), resource)))
}

// operation decodes the request's operation ID, and refuses one that is
// not about a resource of this subscription and namespace.
func (h *Handler) operation(q *request, namespace string, versions []string) (operation, error) {
	if err := checkAPIVersion(q.r, versions, namespace+"/locations/operations"); err != nil {
		return operation{}, err
	}
	id := pathParam(q, "operationId")
	notFound := newError(http.StatusNotFound, "OperationNotFound", fmt.Sprintf("The operation '%s' was not found in subscription '%s'.", id, q.id.Subscription))
	raw, err := base64.RawURLEncoding.DecodeString(id)
	if err != nil {
		return operation{}, notFound
	}
	sec, resource, ok := strings.Cut(string(raw), "|")
	var unix int64
	if _, err := fmt.Sscanf(sec, "%d", &unix); !ok || err != nil {
		return operation{}, notFound
	}
	rid, err := resourceid.Parse(resource)
	if err != nil || !strings.EqualFold(rid.Subscription, q.id.Subscription) || !strings.EqualFold(rid.Provider, namespace) {
		return operation{}, notFound
	}
	return operation{resource: resource, at: time.Unix(unix, 0).UTC()}, nil
}

// longRunningDelete is a type's asyncDelete from its delete, which returns
// whether it found the resource and the resource's location: 204 when
// there was nothing, otherwise 202 with both polling headers, each
// pointing at a finished operation.
func (h *Handler) longRunningDelete(namespace string, del func(q *request) (found bool, location string, err error)) func(q *request) error {
	return func(q *request) error {
		found, loc, err := del(q)
		if err != nil {
			return err
		}
		if !found {
			q.w.WriteHeader(http.StatusNoContent)
			return nil
		}
		h.writeAcceptedDelete(q, namespace, loc)
		return nil
	}
}

func (h *Handler) writeAcceptedDelete(q *request, namespace, location string) {
	h.writeOperationHeaders(q, namespace, location)
	q.w.Header().Set("Location", h.operationURL(q, namespace, location, "operationresults"))
	q.w.WriteHeader(http.StatusAccepted)
}

// writeOperationHeaders points q's answer at a finished operation about its
// resource: Azure-AsyncOperation and Retry-After: 0.
func (h *Handler) writeOperationHeaders(q *request, namespace, location string) {
	q.w.Header().Set("Azure-AsyncOperation", h.operationURL(q, namespace, location, "operations"))
	q.w.Header().Set("Retry-After", "0")
}

// operationURL is the URL of a finished operation about q's resource, under
// namespace's operations or operationresults.
func (h *Handler) operationURL(q *request, namespace, location, kind string) string {
	op := operationID(scopeOf(q.id), time.Now())
	return h.publicURL + resourceid.SubscriptionID(q.id.Subscription) + "/providers/" + namespace + "/locations/" + url.PathEscape(location) +
		"/" + kind + "/" + op + "?api-version=" + url.QueryEscape(q.r.URL.Query().Get("api-version"))
}
