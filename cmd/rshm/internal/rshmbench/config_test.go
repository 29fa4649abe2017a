package rshmbench

import (
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/rshm/rshm/internal/benchkit"
)

func TestParseSizes(t *testing.T) {
	for _, c := range []struct {
		in   string
		want []int
	}{
		{"64", []int{64}},
		{"64,1024, 16k,1m", []int{64, 1024, 16384, 1 << 20}},
		{"8M", []int{8 << 20}},
		{"", nil}, {"0", nil}, {"-1", nil}, {"9m", nil}, {"k", nil}, {"1x", nil}, {"64,,1", nil},
	} {
		got, err := ParseSizes(c.in)
		if c.want == nil {
			if !errors.Is(err, benchkit.ErrConfig) {
				t.Errorf("ParseSizes(%q) = %v, %v; want ErrConfig", c.in, got, err)
			}
			continue
		}
		if err != nil || !slices.Equal(got, c.want) {
			t.Errorf("ParseSizes(%q) = %v, %v; want %v", c.in, got, err, c.want)
		}
	}
}

func FuzzParseSizes(f *testing.F) {
	for _, s := range []string{"64", "64,1k,1m", "8m", "0", "k", "9999999999999999999k"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		sizes, err := ParseSizes(s)
		if err != nil {
			return
		}
		for _, n := range sizes {
			if n < 1 || n > benchkit.MaxSize {
				t.Fatalf("ParseSizes(%q) gave %d", s, n)
			}
		}
	})
}

func TestParseTransports(t *testing.T) {
	got, err := ParseTransports("raw-tcp, RSHM-SHM-SPIN")
	if err != nil || !slices.Equal(got, []benchkit.Transport{benchkit.RawTCP, benchkit.SHMSpin}) {
		t.Errorf("got %v, %v", got, err)
	}
	if _, err := ParseTransports("grpc"); !errors.Is(err, benchkit.ErrConfig) {
		t.Errorf("grpc: got %v; want ErrConfig", err)
	}
	got, err = ParseTransports("grpc-tcp,grpc-unix")
	if err != nil || !slices.Equal(got, []benchkit.Transport{benchkit.GRPCTCP, benchkit.GRPCUnix}) {
		t.Errorf("grpc-tcp,grpc-unix: got %v, %v", got, err)
	}
}

func TestMatrix(t *testing.T) {
	quick := &Config{Quick: true}
	cases := Matrix(quick)
	// rshm: 5 transports × (4 models × 2 sizes + rr at c=64 × 2 sizes);
	// raw and grpc: 2+2 × (2 models × 2 sizes + rr at c=64 × 2 sizes);
	// kafka: rr and stream at 64 B, c=1; rshm-ws: its 4 models at 64 B,
	// c=1.
	if got, want := len(cases), 5*(8+2)+4*(4+2)+2+4; got != want {
		t.Errorf("quick matrix: %d cases; want %d", got, want)
	}
	for _, c := range cases {
		if c.Concurrency != 1 && c.Model != benchkit.RR {
			t.Errorf("quick matrix has %v", c)
		}
		if (c.Transport.Raw() || c.Transport.External()) && (c.Model == benchkit.FNF || c.Model == benchkit.Channel) {
			t.Errorf("raw, grpc or kafka baseline with %v", c)
		}
	}
	kafka := func(cases []benchkit.Case) []benchkit.Case {
		return slices.DeleteFunc(slices.Clone(cases), func(c benchkit.Case) bool { return c.Transport != benchkit.Kafka })
	}
	if got, want := kafka(cases), []benchkit.Case{
		{Transport: benchkit.Kafka, Model: benchkit.RR, Size: 64, Concurrency: 1},
		{Transport: benchkit.Kafka, Model: benchkit.Stream, Size: 64, Concurrency: 1},
	}; !slices.Equal(got, want) {
		t.Errorf("quick matrix's Kafka cases %v; want %v", got, want)
	}
	if got := kafka(Matrix(&Config{Quick: true, Sizes: []int{1024, 64}})); len(got) != 2 || got[0].Size != 1024 || got[1].Size != 1024 {
		t.Errorf("quick matrix of sizes 1024, 64: Kafka cases %v; want rr and stream at 1024", got)
	}
	full := Matrix(&Config{})
	if got, want := len(full), 6*4*5*2+5*2*5*2; got != want {
		t.Errorf("full matrix: %d cases; want %d", got, want)
	}
	// Kafka: rr and stream × 5 sizes × c=1 and 64.
	if got := kafka(full); len(got) != 2*5*2 || slices.ContainsFunc(got, func(c benchkit.Case) bool {
		return c.Model != benchkit.RR && c.Model != benchkit.Stream
	}) {
		t.Errorf("full matrix's Kafka cases: %v", got)
	}
	if d := quick.duration() + quick.warmup(); d != 500*time.Millisecond {
		t.Errorf("quick measurement takes %v; want 500ms", d)
	}
	if est := Estimate(quick, len(cases)); est > 45*time.Second {
		t.Errorf("quick estimate %v; the quick suite must stay under a minute", est)
	}
	if err := (&Config{Sizes: []int{0}}).check(); !errors.Is(err, benchkit.ErrConfig) {
		t.Errorf("size 0: got %v; want ErrConfig", err)
	}
}
