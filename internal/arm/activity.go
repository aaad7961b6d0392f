package arm

import (
	"net/http"
	"regexp"
	"strconv"
	"time"

	"github.com/ward-id/ward/internal/armerr"
	"github.com/ward-id/ward/internal/resourceid"
	"github.com/ward-id/ward/internal/storage"
)

// TypeActivityLog is the Azure Monitor activity log collection.
const TypeActivityLog = "Microsoft.Insights/eventtypes/values"

var activityAPIVersions = []string{"2015-04-01", "2017-03-01-preview"}

var eventSinceRE = regexp.MustCompile(`(?i)eventTimestamp\s+ge\s+'([^']+)'`)

type valueName struct {
	Value          string `json:"value"`
	LocalizedValue string `json:"localizedValue"`
}

type eventJSON struct {
	Authorization struct {
		Action string `json:"action"`
		Scope  string `json:"scope"`
	} `json:"authorization"`
	Caller            string            `json:"caller"`
	Channels          string            `json:"channels"`
	Claims            map[string]string `json:"claims"`
	CorrelationID     string            `json:"correlationId"`
	EventDataID       string            `json:"eventDataId"`
	EventName         valueName         `json:"eventName"`
	Category          valueName         `json:"category"`
	EventTimestamp    string            `json:"eventTimestamp"`
	ID                string            `json:"id"`
	Level             string            `json:"level"`
	OperationName     valueName         `json:"operationName"`
	ResourceGroupName string            `json:"resourceGroupName,omitempty"`
	ResourceID        string            `json:"resourceId"`
	Status            valueName         `json:"status"`
	SubStatus         valueName         `json:"subStatus"`
	SubscriptionID    string            `json:"subscriptionId"`
	TenantID          string            `json:"tenantId"`
	HTTPRequest       struct {
		Method string `json:"method"`
	} `json:"httpRequest"`
}

func (h *Handler) toEvent(e storage.ActivityEvent) eventJSON {
	j := eventJSON{Caller: e.CallerAppID, Channels: "Operation", Claims: map[string]string{"appid": e.CallerAppID, "oid": e.CallerObjectID},
		CorrelationID: e.CorrelationID, EventDataID: e.ID, EventName: valueName{"EndRequest", "End request"},
		Category: valueName{"Administrative", "Administrative"}, EventTimestamp: e.Time.UTC().Format(time.RFC3339Nano),
		ID: e.Scope + "/events/" + e.ID + "/ticks/" + strconv.FormatInt(e.Time.UnixNano()/100, 10), Level: "Informational",
		OperationName: valueName{e.Action, e.Action}, ResourceID: e.Scope, Status: valueName{e.Result, e.Result},
		SubStatus: valueName{http.StatusText(e.StatusCode), http.StatusText(e.StatusCode)}, SubscriptionID: e.SubscriptionID, TenantID: h.tenantID}
	if e.Result == "Failed" {
		j.Level = "Error"
	}
	j.Authorization.Action, j.Authorization.Scope = e.Action, e.Scope
	j.HTTPRequest.Method = e.Method
	if id, err := resourceid.Parse(e.Scope); err == nil {
		j.ResourceGroupName = id.ResourceGroup
	}
	return j
}

// activityLog serves GET /subscriptions/{sub}/providers/Microsoft.Insights/
// eventtypes/management/values with $filter=eventTimestamp ge '<time>'.
func (h *Handler) activityLog(w http.ResponseWriter, r *http.Request, sub string) error {
	if r.Method != http.MethodGet {
		return methodNotAllowed(r, http.MethodGet)
	}
	if err := checkAPIVersion(r, activityAPIVersions, TypeActivityLog); err != nil {
		return err
	}
	since := time.Now().Add(-24 * time.Hour)
	if f := r.URL.Query().Get("$filter"); f != "" {
		m := eventSinceRE.FindStringSubmatch(f)
		if m == nil {
			return newError(http.StatusBadRequest, armerr.CodeBadRequest, "The $filter must contain eventTimestamp ge '<RFC 3339 time>'.")
		}
		t, err := time.Parse(time.RFC3339, m[1])
		if err != nil {
			return newError(http.StatusBadRequest, armerr.CodeBadRequest, "The eventTimestamp '"+m[1]+"' is not an RFC 3339 time.")
		}
		since = t
	}
	if _, err := h.groups.Subscription(r.Context(), sub); err != nil {
		return err
	}
	events, err := h.activity.ListActivity(r.Context(), sub, since, 1000)
	if err != nil {
		return err
	}
	writeList(w, r, mapList(events, h.toEvent), "")
	return nil
}
