package webhook

import (
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"github.com/ward-id/ward/internal/httpbody"
	admissionv1 "k8s.io/api/admission/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// maxReviewBytes caps an AdmissionReview body, as controller-runtime does
// (the API server's own request limit is about 3 MiB of object).
const maxReviewBytes = 7 << 20

// Observer is told the outcome and duration of every admission (metrics).
type Observer func(namespace, result string, d time.Duration)

// Handler serves AdmissionReview v1 and v1beta1 for pod CREATE at
// MutatePath. Anything else it is sent (other operations, subresources,
// other kinds) is allowed unchanged.
type Handler struct {
	Mutator *Mutator
	Logger  *slog.Logger
	Observe Observer
}

// Mount registers the handler on mux.
func (h *Handler) Mount(mux *http.ServeMux) { mux.Handle("POST "+MutatePath, h) }

// review is an AdmissionReview of either version: the two are the same on
// the wire apart from apiVersion, which the response must echo.
type review struct {
	APIVersion string                         `json:"apiVersion"`
	Kind       string                         `json:"kind"`
	Request    *admissionv1.AdmissionRequest  `json:"request,omitempty"`
	Response   *admissionv1.AdmissionResponse `json:"response,omitempty"`
}

func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	var in review
	// The webhook's own server has no router to cap the body: cap it here.
	err := httpbody.JSON(r.Body, maxReviewBytes, &in)
	if err != nil || in.Request == nil {
		if err == nil {
			err = errors.New("no request in the AdmissionReview")
		}
		http.Error(w, "couldn't decode the AdmissionReview: "+err.Error(), http.StatusBadRequest)
		return
	}
	switch in.APIVersion {
	case "admission.k8s.io/v1", "admission.k8s.io/v1beta1":
	default:
		http.Error(w, fmt.Sprintf("unsupported AdmissionReview apiVersion %q (want admission.k8s.io/v1 or v1beta1)", in.APIVersion), http.StatusBadRequest)
		return
	}
	req := in.Request
	resp, result := h.admit(r, req)
	resp.UID = req.UID
	if h.Observe != nil {
		h.Observe(req.Namespace, result, time.Since(start))
	}
	out, _ := json.Marshal(review{APIVersion: in.APIVersion, Kind: "AdmissionReview", Response: resp})
	w.Header().Set("Content-Type", "application/json")
	w.Write(out)
}

// admit decides one request; result names the outcome for metrics.
func (h *Handler) admit(r *http.Request, req *admissionv1.AdmissionRequest) (resp *admissionv1.AdmissionResponse, result string) {
	defer func() {
		if p := recover(); p != nil {
			h.log().Error("webhook: panic in admission", "panic", p, "namespace", req.Namespace)
			resp, result = &admissionv1.AdmissionResponse{Allowed: false, Result: &metav1.Status{
				Status: metav1.StatusFailure, Code: http.StatusInternalServerError, Message: fmt.Sprintf("internal error: %v", p)}}, "error"
		}
	}()
	if req.Operation != admissionv1.Create || req.Kind.Kind != "Pod" || req.SubResource != "" {
		return &admissionv1.AdmissionResponse{Allowed: true}, "skipped"
	}
	res, err := h.Mutator.Mutate(r.Context(), req.Namespace, req.Object.Raw)
	var d *Denial
	switch {
	case errors.As(err, &d):
		h.log().Info("webhook: denied", "namespace", req.Namespace, "name", req.Name, "reason", d.Message)
		return &admissionv1.AdmissionResponse{Allowed: false, Result: &metav1.Status{
			Status: metav1.StatusFailure, Code: http.StatusBadRequest, Reason: metav1.StatusReasonBadRequest, Message: d.Message}}, "denied"
	case err != nil:
		h.log().Error("webhook: admission failed", "namespace", req.Namespace, "err", err)
		return &admissionv1.AdmissionResponse{Allowed: false, Result: &metav1.Status{
			Status: metav1.StatusFailure, Code: http.StatusInternalServerError, Message: err.Error()}}, "error"
	}
	resp = &admissionv1.AdmissionResponse{Allowed: true, Warnings: res.Warnings}
	if len(res.Patch) == 0 {
		return resp, "unchanged"
	}
	patch, err := json.Marshal(res.Patch)
	if err != nil {
		return &admissionv1.AdmissionResponse{Allowed: false, Result: &metav1.Status{Code: http.StatusInternalServerError, Message: err.Error()}}, "error"
	}
	pt := admissionv1.PatchTypeJSONPatch
	resp.Patch, resp.PatchType = patch, &pt
	return resp, "patched"
}

func (h *Handler) log() *slog.Logger {
	if h.Logger != nil {
		return h.Logger
	}
	return slog.Default()
}
