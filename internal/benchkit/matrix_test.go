package benchkit

import (
	"errors"
	"slices"
	"testing"
)

func TestParseTransport(t *testing.T) {
	for _, tr := range Transports() {
		if back, err := ParseTransport(tr.String()); err != nil || back != tr {
			t.Errorf("%v does not round-trip: %v, %v", tr, back, err)
		}
	}
	if got, err := ParseTransport("RSHM-SHM-SPIN"); err != nil || got != SHMSpin {
		t.Errorf("RSHM-SHM-SPIN: got %v, %v", got, err)
	}
	if _, err := ParseTransport("grpc"); !errors.Is(err, ErrConfig) {
		t.Errorf("grpc: got %v; want ErrConfig", err)
	}
}

// TestTransportModels: the raw baselines and the transports measured by
// another binary (gRPC, Kafka) have request-response and stream only,
// rshm's own transports every model.
func TestTransportModels(t *testing.T) {
	for _, tr := range Transports() {
		want := Models()
		if tr.Raw() || tr.External() {
			want = []Model{RR, Stream}
		}
		if got := tr.Models(); !slices.Equal(got, want) {
			t.Errorf("%v runs %v; want %v", tr, got, want)
		}
	}
	for _, tr := range Transports() {
		if want := tr == GRPCTCP || tr == GRPCUnix || tr == Kafka; tr.External() != want {
			t.Errorf("%v: External() = %v; want %v", tr, tr.External(), want)
		}
	}
	if k, err := ParseTransport("kafka"); err != nil || k != Kafka || Kafka.String() != "kafka" {
		t.Errorf("kafka: %v, %v", k, err)
	}
}

func TestParseModel(t *testing.T) {
	for _, m := range Models() {
		if back, err := ParseModel(m.String()); err != nil || back != m {
			t.Errorf("%v does not round-trip: %v, %v", m, back, err)
		}
	}
	if _, err := ParseModel("bogus"); !errors.Is(err, ErrConfig) {
		t.Errorf("bogus: got %v; want ErrConfig", err)
	}
}

func TestSizeName(t *testing.T) {
	for _, c := range []struct {
		n    int
		want string
	}{{64, "64B"}, {16 << 10, "16KiB"}, {1 << 20, "1MiB"}, {1000, "1000B"}} {
		if got := SizeName(c.n); got != c.want {
			t.Errorf("SizeName(%d) = %q; want %q", c.n, got, c.want)
		}
	}
}
