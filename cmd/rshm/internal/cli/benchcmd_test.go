package cli

import (
	"bytes"
	"context"
	"errors"
	"testing"
)

// TestBenchUsage: bad flags are usage errors, caught before any process
// starts.
func TestBenchUsage(t *testing.T) {
	for _, args := range [][]string{
		{"--sizes", "0"},
		{"--sizes", "64,huge"},
		{"--transports", "grpc"},
		{"extra"},
	} {
		var out, errOut bytes.Buffer
		err := Bench(context.Background(), args, nil, &out, &errOut)
		if !errors.Is(err, ErrUsage) {
			t.Errorf("bench %q: got %v; want a usage error", args, err)
		}
	}
}
