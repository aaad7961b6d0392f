package webhook

import (
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"
)

// typicalPod is a Deployment's pod as the API server sends it: defaulted
// fields, the kube-api-access volume, an init container and two containers.
const typicalPod = `{"kind":"Pod","apiVersion":"v1","metadata":{"generateName":"orders-api-6d8f7b9c4-","namespace":"shop",
 "uid":"1d0b1a2e-6b0b-4a7e-9c1e-2a8e0c7f5b11","creationTimestamp":null,
 "labels":{"app":"orders-api","pod-template-hash":"6d8f7b9c4","azure.workload.identity/use":"true"},
 "annotations":{"kubectl.kubernetes.io/restartedAt":"2026-11-20T10:00:00Z"},
 "ownerReferences":[{"apiVersion":"apps/v1","kind":"ReplicaSet","name":"orders-api-6d8f7b9c4","uid":"9a3e1f8c-2b7d-4c6e-8f1a-5d2c3b4a6e7f","controller":true,"blockOwnerDeletion":true}]},
 "spec":{"volumes":[{"name":"kube-api-access-x7k2p","projected":{"sources":[{"serviceAccountToken":{"expirationSeconds":3607,"path":"token"}},
   {"configMap":{"name":"kube-root-ca.crt","items":[{"key":"ca.crt","path":"ca.crt"}]}},
   {"downwardAPI":{"items":[{"path":"namespace","fieldRef":{"apiVersion":"v1","fieldPath":"metadata.namespace"}}]}}],"defaultMode":420}}],
  "initContainers":[{"name":"migrate","image":"registry.example/orders-migrate:1.4.2","resources":{},"volumeMounts":[{"name":"kube-api-access-x7k2p","readOnly":true,"mountPath":"/var/run/secrets/kubernetes.io/serviceaccount"}],"terminationMessagePath":"/dev/termination-log","terminationMessagePolicy":"File","imagePullPolicy":"IfNotPresent"}],
  "containers":[{"name":"api","image":"registry.example/orders-api:1.4.2","ports":[{"name":"http","containerPort":8080,"protocol":"TCP"}],
    "env":[{"name":"LOG_LEVEL","value":"info"},{"name":"DB_HOST","value":"orders-db"}],
    "resources":{"limits":{"memory":"256Mi"},"requests":{"cpu":"100m","memory":"128Mi"}},
    "volumeMounts":[{"name":"kube-api-access-x7k2p","readOnly":true,"mountPath":"/var/run/secrets/kubernetes.io/serviceaccount"}],
    "livenessProbe":{"httpGet":{"path":"/healthz","port":8080,"scheme":"HTTP"},"timeoutSeconds":1,"periodSeconds":10,"successThreshold":1,"failureThreshold":3},
    "terminationMessagePath":"/dev/termination-log","terminationMessagePolicy":"File","imagePullPolicy":"IfNotPresent"},
   {"name":"log-shipper","image":"registry.example/shipper:3.1","resources":{},"volumeMounts":[{"name":"kube-api-access-x7k2p","readOnly":true,"mountPath":"/var/run/secrets/kubernetes.io/serviceaccount"}],"terminationMessagePath":"/dev/termination-log","terminationMessagePolicy":"File","imagePullPolicy":"IfNotPresent"}],
  "restartPolicy":"Always","terminationGracePeriodSeconds":30,"dnsPolicy":"ClusterFirst","serviceAccountName":"orders","serviceAccount":"orders",
  "securityContext":{},"schedulerName":"default-scheduler","tolerations":[{"key":"node.kubernetes.io/not-ready","operator":"Exists","effect":"NoExecute","tolerationSeconds":300}],
  "priority":0,"enableServiceLinks":true,"preemptionPolicy":"PreemptLowerPriority"},"status":{}}`

// BenchmarkAdmission is one whole admission as the API server sends it:
// the AdmissionReview decoded, the service account read from the cache
// (here an in-memory map, as the informer's lister is), the patch
// computed, the response encoded. Run with -cpu 1 for the one-core
// figure; p99-ns/op is the 99th percentile of the individual admissions.
func BenchmarkAdmission(b *testing.B) {
	sas := fakeSAs{"shop/orders": {"azure.workload.identity/client-id": "5f3c2a1b-8d7e-4f6a-9b0c-1e2d3f4a5b6c"}}
	mux := http.NewServeMux()
	(&Handler{Mutator: testMutator(sas)}).Mount(mux)
	body := reviewBody("v1", "CREATE", "Pod", "", typicalPod)
	body = strings.Replace(body, `"namespace":"ns1"`, `"namespace":"shop"`, 1)
	lat := make([]time.Duration, 0, b.N)
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		start := time.Now()
		rec := httptest.NewRecorder()
		mux.ServeHTTP(rec, httptest.NewRequest("POST", "/mutate-v1-pod", strings.NewReader(body)))
		lat = append(lat, time.Since(start))
		if rec.Code != 200 || !strings.Contains(rec.Body.String(), `"patch"`) {
			b.Fatalf("%d %s", rec.Code, rec.Body)
		}
	}
	b.StopTimer()
	slices.Sort(lat)
	b.ReportMetric(float64(lat[len(lat)*99/100].Nanoseconds()), "p99-ns/op")
	b.ReportMetric(float64(len(lat))/b.Elapsed().Seconds(), "admissions/s")
}
