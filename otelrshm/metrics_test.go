package otelrshm

import (
	"context"
	"fmt"
	"testing"

	"github.com/rshm/rshm/rsocket"
	"github.com/rshm/rshm/rsocket/router"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
)

// counts returns the requests recorded per rpc.method.
func counts(t *testing.T, r *sdkmetric.ManualReader) map[string]uint64 {
	t.Helper()
	var rm metricdata.ResourceMetrics
	if err := r.Collect(context.Background(), &rm); err != nil {
		t.Fatal(err)
	}
	out := map[string]uint64{}
	for _, sm := range rm.ScopeMetrics {
		for _, m := range sm.Metrics {
			for _, dp := range m.Data.(metricdata.Histogram[float64]).DataPoints {
				v, _ := dp.Attributes.Value("rpc.method")
				out[v.String()] += dp.Count
			}
		}
	}
	return out
}

// The routes recorded as they are stay bounded: the first 256, or those
// WithRoutes names; the others are _OTHER.
func TestMetricsRoutesBounded(t *testing.T) {
	next := func(context.Context, *rsocket.Call) error { return nil }
	for _, tc := range []struct {
		name   string
		opts   []Option
		routes int // recorded as they are
	}{
		{"default", nil, maxRoutes},
		{"WithRoutes", []Option{WithRoutes("r7", "r9")}, 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			reader := sdkmetric.NewManualReader()
			ic := Responder(append(tc.opts, WithMeterProvider(sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))))...)
			const n = 300
			for i := range n {
				p, _ := router.Route(fmt.Sprintf("r%d", i), nil)
				if err := ic(context.Background(), &rsocket.Call{Model: rsocket.ModelFireAndForget, Payload: p}, next); err != nil {
					t.Fatal(err)
				}
			}
			got := counts(t, reader)
			if len(got) != tc.routes+1 || got[otherRoute] != uint64(n-tc.routes) {
				t.Errorf("%d distinct routes, %d requests as %s; want %d and %d", len(got), got[otherRoute], otherRoute, tc.routes+1, n-tc.routes)
			}
			if tc.routes == 2 && (got["r7"] != 1 || got["r9"] != 1) {
				t.Errorf("named routes recorded as %v", got)
			}
		})
	}
}

// With a meter provider and no tracer provider the interceptors allocate
// nothing: the attribute sets are built once per route, model and status.
func TestMetricsAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector's sync.Pool drops buffers at random")
	}
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(sdkmetric.NewManualReader()))
	routed, _ := router.Route("orders.get", []byte("data"))
	fail := &rsocket.Error{Code: rsocket.CodeRejected}
	for name, ic := range map[string]rsocket.Interceptor{
		"requester": Requester(WithMeterProvider(mp)),
		"responder": Responder(WithMeterProvider(mp)),
	} {
		for _, err := range []error{nil, fail} {
			next := func(context.Context, *rsocket.Call) error { return err }
			call := &rsocket.Call{Model: rsocket.ModelRequestStream}
			got := testing.AllocsPerRun(1000, func() {
				call.Payload = routed
				ic(context.Background(), call, next)
			})
			if got != 0 {
				t.Errorf("%s, error %v: %v allocations per request; want 0", name, err, got)
			}
		}
	}
}
