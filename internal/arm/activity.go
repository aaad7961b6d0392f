package arm

import (
	"errors"
	"fmt"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/ward-id/ward/internal/armerr"
	"github.com/ward-id/ward/internal/resourceid"
	"github.com/ward-id/ward/internal/storage"
)

// TypeActivityLog is the Azure Monitor activity log collection.
const TypeActivityLog = resourceid.TypeActivityLog

var activityAPIVersions = []string{"2015-04-01", "2017-03-01-preview"}

// eventConditionRE is one condition of an activity-log $filter: a field,
// an operator and a value, quoted or not (az 2.45 sends
// "eventTimestamp ge 2026-12-06T05:00:00.123456", with neither quotes nor
// zone), then "and" or the end.
var eventConditionRE = regexp.MustCompile(`(?i)^\s*([a-z]+)\s+(eq|ge|le)\s+(?:'([^']*)'|([^\s']+))\s*(?:and\s+|$)`)

// eventFilter is a parsed activity-log $filter: the conjunction ARM
// serves (eventTimestamp ge/le, and eq on correlationId,
// resourceGroupName, resourceId/resourceUri, resourceProvider, caller,
// status).
type eventFilter struct {
	since, until time.Time
	eq           map[string]string // lower-case field → value
}

// eventFields are the fields eq may name, lower case, with what they are
// called in the error message.
var eventFields = map[string]bool{"correlationid": true, "resourcegroupname": true, "resourceid": true, "resourceuri": true,
	"resourceprovider": true, "caller": true, "status": true}

// parseEventTime reads a filter's time: RFC 3339, or without a zone
// (UTC, as az sends it), with or without fractional seconds.
func parseEventTime(v string) (time.Time, error) {
	if t, err := time.Parse(time.RFC3339Nano, v); err == nil {
		return t, nil
	}
	for _, layout := range []string{"2006-01-02T15:04:05.999999999", "2006-01-02T15:04:05", "2006-01-02"} {
		if t, err := time.ParseInLocation(layout, v, time.UTC); err == nil {
			return t, nil
		}
	}
	return time.Time{}, fmt.Errorf("'%s' is not a time (RFC 3339, or YYYY-MM-DDThh:mm:ss[.fff] in UTC)", v)
}

func parseEventFilter(f string, now time.Time) (eventFilter, error) {
	ef := eventFilter{since: now.Add(-24 * time.Hour), eq: map[string]string{}}
	if strings.TrimSpace(f) == "" {
		return ef, nil
	}
	hasSince := false
	for rest := f; strings.TrimSpace(rest) != ""; {
		m := eventConditionRE.FindStringSubmatch(rest)
		if m == nil {
			return ef, fmt.Errorf("cannot read '%s'", strings.TrimSpace(rest))
		}
		rest = rest[len(m[0]):]
		field, op, val := strings.ToLower(m[1]), strings.ToLower(m[2]), m[3]+m[4]
		switch {
		case field == "eventtimestamp" && (op == "ge" || op == "le"):
			t, err := parseEventTime(val)
			if err != nil {
				return ef, err
			}
			if op == "ge" {
				ef.since, hasSince = t, true
			} else {
				ef.until = t
			}
		case op == "eq" && eventFields[field]:
			if field == "resourceuri" {
				field = "resourceid"
			}
			ef.eq[field] = val
		default:
			return ef, fmt.Errorf("'%s %s' is not supported", m[1], m[2])
		}
	}
	if !hasSince {
		return ef, errors.New("eventTimestamp ge '<time>' is required")
	}
	return ef, nil
}

// match reports whether an event passes the filter's conditions other
// than the start time (the store applies that one).
func (ef eventFilter) match(e storage.ActivityEvent, group string) bool {
	if !ef.until.IsZero() && e.Time.After(ef.until) {
		return false
	}
	for field, v := range ef.eq {
		var ok bool
		switch field {
		case "correlationid":
			ok = strings.EqualFold(e.CorrelationID, v)
		case "resourcegroupname":
			ok = strings.EqualFold(group, v)
		case "resourceid":
			ok = strings.EqualFold(strings.TrimSuffix(e.Scope, "/"), strings.TrimSuffix(v, "/"))
		case "resourceprovider":
			ok = strings.Contains(strings.ToLower(e.Scope), "/providers/"+strings.ToLower(v)+"/")
		case "caller":
			ok = strings.EqualFold(e.CallerAppID, v) || strings.EqualFold(e.CallerObjectID, v)
		case "status":
			ok = strings.EqualFold(e.Result, v)
		}
		if !ok {
			return false
		}
	}
	return true
}

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
// eventtypes/management/values with $filter as eventFilter reads it.
func (h *Handler) activityLog(w http.ResponseWriter, r *http.Request, sub string) error {
	if r.Method != http.MethodGet {
		return methodNotAllowed(r, http.MethodGet)
	}
	if err := checkAPIVersion(r, activityAPIVersions, TypeActivityLog); err != nil {
		return err
	}
	ef, err := parseEventFilter(r.URL.Query().Get("$filter"), time.Now())
	if err != nil {
		return newError(http.StatusBadRequest, armerr.CodeBadRequest, fmt.Sprintf("The $filter is invalid: %v. Use eventTimestamp ge '<time>' [and eventTimestamp le '<time>'] "+
			"[and correlationId|resourceGroupName|resourceId|resourceUri|resourceProvider|caller|status eq '<value>'].", err))
	}
	if _, err := h.groups.Subscription(r.Context(), sub); err != nil {
		return err
	}
	events, err := h.activity.ListActivity(r.Context(), sub, ef.since, 1000)
	if err != nil {
		return err
	}
	kept := events[:0]
	for _, e := range events {
		group := ""
		if id, err := resourceid.Parse(e.Scope); err == nil {
			group = id.ResourceGroup
		}
		if ef.match(e, group) {
			kept = append(kept, e)
		}
	}
	writeList(w, r, mapList(kept, h.toEvent), "")
	return nil
}
