package benchkit

import (
	"context"
	"errors"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// TestMeasure drives Measure with workers that need no server: a timed
// loop for rr, stamped payloads for stream, and a failing worker.
func TestMeasure(t *testing.T) {
	ctx := context.Background()
	var calls int
	server := func() (int64, int64, error) {
		calls++
		return int64(calls) * 1e6, int64(calls) * 1e5, nil // 1.1 ms between the two readings
	}
	rr := Case{GRPCTCP, RR, 64, 2}
	row := Measure(ctx, "quick", rr, 5*time.Millisecond, 30*time.Millisecond, func(_ context.Context, w *Worker) {
		for !w.Stopping() {
			t0 := w.Begin()
			time.Sleep(100 * time.Microsecond)
			w.End(t0)
		}
	}, server)
	if row.Err != "" || row.Transport != "grpc-tcp" || row.Model != "rr" || row.Size != 64 || row.Concurrency != 2 || row.Suite != "quick" {
		t.Fatalf("rr row: %+v", row)
	}
	if row.Msgs == 0 || row.Samples != row.Msgs || row.P50 < 100_000 || row.P50 > row.P99 || row.P99 > row.Max {
		t.Errorf("rr row: %+v", row)
	}
	if want := 1.1e6 / float64(row.Msgs); row.ServerCPUPerMsg < want*0.99 || row.ServerCPUPerMsg > want*1.01 {
		t.Errorf("server cpu/msg %v; want %v", row.ServerCPUPerMsg, want)
	}
	if row.BytesPerS != row.MsgsPerS*64 || row.CPUPerMsg != row.ClientCPUPerMsg+row.ServerCPUPerMsg {
		t.Errorf("rr row rates: %+v", row)
	}

	st := Case{GRPCUnix, Stream, 64, 1}
	row = Measure(ctx, "full", st, 0, 20*time.Millisecond, func(_ context.Context, w *Worker) {
		p := make([]byte, 64)
		for !w.Stopping() {
			Stamp(p)
			time.Sleep(50 * time.Microsecond)
			w.Received(p)
		}
	}, server)
	if row.Err != "" || row.Msgs == 0 || row.Samples != row.Msgs || row.P50 < 50_000 || row.P50 > 50_000_000 {
		t.Errorf("stream row: %+v", row)
	}

	boom := errors.New("boom")
	row = Measure(ctx, "full", rr, 0, 10*time.Millisecond, func(_ context.Context, w *Worker) { w.Fail(boom) }, server)
	if !strings.Contains(row.Err, "boom") || row.Msgs != 0 {
		t.Errorf("failing worker: %+v", row)
	}
	row = Measure(ctx, "full", rr, 0, 10*time.Millisecond, func(_ context.Context, w *Worker) {
		for !w.Stopping() {
			time.Sleep(time.Millisecond)
		}
	}, func() (int64, int64, error) { return 0, 0, boom })
	if !strings.Contains(row.Err, "boom") {
		t.Errorf("failing server CPU reading: %+v", row)
	}
}

func TestTallyAllocs(t *testing.T) {
	var tl tally
	p := &phase{}
	p.rec.Store(true)
	if n := testing.AllocsPerRun(1000, func() { tl.done(p, 1234, true) }); n != 0 {
		t.Errorf("tally.done: %v allocations; want 0", n)
	}
	if tl.msgs != 1001 || tl.h.Count() != 1001 {
		t.Errorf("recorded %d msgs, %d samples; want 1001", tl.msgs, tl.h.Count())
	}
}

func TestStamp(t *testing.T) {
	p := make([]byte, stampLen)
	Stamp(p)
	if lat, ok := Since(p); !ok || lat < 0 || lat > int64(10*time.Second) {
		t.Errorf("Since a fresh Stamp: %d ns (ok %v); want a small positive value", lat, ok)
	}
	short := []byte{1, 2, 3}
	Stamp(short)
	if string(short) != "\x01\x02\x03" {
		t.Errorf("Stamp wrote into %d bytes: %x", len(short), short)
	}
	if _, ok := Since(short); ok {
		t.Error("Since a payload shorter than a stamp: ok")
	}
}

// TestMeasureStarved: a worker that does no operation while the others do
// keeps the warm-up going until its bound, and the row counts it.
func TestMeasureStarved(t *testing.T) {
	defer func(d time.Duration) { maxWarm = d }(maxWarm)
	maxWarm = 20 * time.Millisecond
	server := func() (int64, int64, error) { return 0, 0, nil }
	var first atomic.Bool
	row := Measure(context.Background(), "full", Case{GRPCTCP, RR, 64, 3}, time.Millisecond, 5*time.Millisecond, func(_ context.Context, w *Worker) {
		left := first.CompareAndSwap(false, true) // one worker is left without the resource
		for !w.Stopping() {
			if left {
				time.Sleep(time.Millisecond)
				continue
			}
			w.End(w.Begin())
		}
	}, server)
	if row.Starved != 1 || row.Msgs == 0 {
		t.Fatalf("row: starved %d, msgs %d; want 1 starved worker and the others' messages", row.Starved, row.Msgs)
	}
}
