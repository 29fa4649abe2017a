package rshmbench

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestCasesRoundTrip(t *testing.T) {
	cases := []Case{
		{GRPCTCP, RR, 64, 1}, {GRPCUnix, Stream, 16 << 10, 1}, {GRPCTCP, RR, MaxSize, 64}, {SHMSpin, Channel, 1, 4096},
	}
	s := FormatCases(cases)
	if want := "grpc-tcp/rr/64/1,grpc-unix/stream/16384/1,grpc-tcp/rr/8388608/64,rshm-shm-spin/channel/1/4096"; s != want {
		t.Errorf("FormatCases = %q; want %q", s, want)
	}
	got, err := ParseCases(s)
	if err != nil || !slices.Equal(got, cases) {
		t.Errorf("ParseCases(%q) = %v, %v; want %v", s, got, err, cases)
	}
}

func TestParseCasesErrors(t *testing.T) {
	for _, s := range []string{
		"", "grpc-tcp/rr/64", "grpc-tcp/rr/64/1/2", "grpc/rr/64/1", "grpc-tcp/fnf/64/1", "raw-tcp/channel/64/1",
		"grpc-tcp/rr/0/1", "grpc-tcp/rr/8388609/1", "grpc-tcp/rr/64/0", "grpc-tcp/rr/64/4097", "grpc-tcp/rr/x/1",
		"grpc-tcp/rr/64/1,", "grpc-tcp/bogus/64/1",
	} {
		if got, err := ParseCases(s); !errors.Is(err, ErrConfig) {
			t.Errorf("ParseCases(%q) = %v, %v; want ErrConfig", s, got, err)
		}
	}
}

func FuzzParseCases(f *testing.F) {
	f.Add(FormatCases(Matrix(&Config{Quick: true})))
	f.Add("grpc-tcp/rr/64/1")
	f.Add("grpc-unix/stream/16384/1,raw-tcp/rr/1/64")
	f.Add("a/b/c/d")
	f.Fuzz(func(t *testing.T, s string) {
		cases, err := ParseCases(s)
		if err != nil {
			return
		}
		for _, c := range cases {
			if c.Size < 1 || c.Size > MaxSize || c.Concurrency < 1 || c.Concurrency > maxConcurrency || !c.Transport.runs(c.Model) {
				t.Fatalf("ParseCases(%q) gave %+v", s, c)
			}
		}
		back, err := ParseCases(FormatCases(cases))
		if err != nil || !slices.Equal(back, cases) {
			t.Fatalf("%q: %v does not round-trip: %v, %v", s, cases, back, err)
		}
	})
}

func TestStreamRequest(t *testing.T) {
	for _, n := range []int{0, 1, 64, MaxSize} {
		if got, err := ParseStreamRequest(StreamRequest(n)); err != nil || got != n {
			t.Errorf("size %d: got %d, %v", n, got, err)
		}
	}
	for _, s := range []string{"", "size:", "size:-1", "size:+5", "size:05", "size:8388609", "len:5", "size:5 "} {
		if got, err := ParseStreamRequest([]byte(s)); !errors.Is(err, ErrConfig) {
			t.Errorf("ParseStreamRequest(%q) = %d, %v; want ErrConfig", s, got, err)
		}
	}
}

func FuzzParseStreamRequest(f *testing.F) {
	f.Add([]byte("size:64"))
	f.Add([]byte("size:0"))
	f.Add([]byte("size:99999999999999999999"))
	f.Fuzz(func(t *testing.T, b []byte) {
		n, err := ParseStreamRequest(b)
		if err != nil {
			return
		}
		if n < 0 || n > MaxSize || string(StreamRequest(n)) != string(b) {
			t.Fatalf("ParseStreamRequest(%q) = %d", b, n)
		}
	})
}

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
