package benchkit

import (
	"errors"
	"slices"
	"testing"
)

func TestCasesRoundTrip(t *testing.T) {
	cases := []Case{
		{GRPCTCP, RR, 64, 1}, {GRPCUnix, Stream, 16 << 10, 1}, {GRPCTCP, RR, MaxSize, 64}, {SHMSpin, Channel, 1, 4096},
		{Kafka, RR, 64, 1}, {Kafka, Stream, 1 << 20, 64},
	}
	s := FormatCases(cases)
	if want := "grpc-tcp/rr/64/1,grpc-unix/stream/16384/1,grpc-tcp/rr/8388608/64,rshm-shm-spin/channel/1/4096," +
		"kafka/rr/64/1,kafka/stream/1048576/64"; s != want {
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
		"grpc-tcp/rr/64/1,", "grpc-tcp/bogus/64/1", "kafka/fnf/64/1", "kafka/channel/64/1", "kafka/rr/64/0",
	} {
		if got, err := ParseCases(s); !errors.Is(err, ErrConfig) {
			t.Errorf("ParseCases(%q) = %v, %v; want ErrConfig", s, got, err)
		}
	}
}

func FuzzParseCases(f *testing.F) {
	f.Add(FormatCases(allCases(64, 1)))
	f.Add("grpc-tcp/rr/64/1")
	f.Add("grpc-unix/stream/16384/1,raw-tcp/rr/1/64")
	f.Add("kafka/rr/64/1,kafka/stream/1024/64")
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

// allCases is every transport with every model it runs, of size bytes and
// concurrency conc.
func allCases(size, conc int) []Case {
	var out []Case
	for _, t := range Transports() {
		for _, m := range t.Models() {
			out = append(out, Case{Transport: t, Model: m, Size: size, Concurrency: conc})
		}
	}
	return out
}
