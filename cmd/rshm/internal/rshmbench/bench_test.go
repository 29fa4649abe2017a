package rshmbench

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/rshm/rshm/internal/benchkit"
)

// TestRunQuickJSON runs the quick matrix end to end, server process and
// all, with a short window and no external binary, and checks that every
// case of the matrix but the external ones has a JSON row that measured
// something, and that the external ones (gRPC, Kafka) were skipped with
// GRPCMissing and KafkaMissing.
func TestRunQuickJSON(t *testing.T) {
	cfg := Config{Quick: true, Duration: 30 * time.Millisecond, Warmup: 5 * time.Millisecond, PlotDir: t.TempDir(),
		GRPCBinary: filepath.Join(t.TempDir(), "rshm-grpc"), KafkaBinary: filepath.Join(t.TempDir(), "rshm-kafka")}
	if testing.Short() {
		cfg.Sizes = []int{64}
	}
	var js, out, progress bytes.Buffer
	cfg.JSON, cfg.Progress = &js, &progress
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	rows, err := Run(ctx, cfg, &out)
	if err != nil {
		t.Fatalf("Run: %v\n%s", err, out.String())
	}
	cases, external := splitExternal(Matrix(&cfg))
	for i, group := range external {
		if len(group) == 0 {
			t.Fatalf("the quick matrix has no case for %s", binaries[i].name)
		}
	}
	var parsed []benchkit.Row
	sc := bufio.NewScanner(&js)
	for sc.Scan() {
		var r benchkit.Row
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			t.Fatalf("JSON line %q: %v", sc.Text(), err)
		}
		parsed = append(parsed, r)
	}
	if len(parsed) != len(cases) || len(rows) != len(cases) {
		t.Fatalf("got %d JSON rows and %d returned; want %d (one per case)", len(parsed), len(rows), len(cases))
	}
	msgs := map[string]uint64{}
	for i, r := range parsed {
		c := cases[i]
		if r.Transport != c.Transport.String() || r.Model != c.Model.String() || r.Size != c.Size || r.Concurrency != c.Concurrency {
			t.Errorf("row %d is %s %s %d c=%d; want %v", i, r.Transport, r.Model, r.Size, r.Concurrency, c)
		}
		if r.Err != "" || r.BytesPerS != r.MsgsPerS*float64(r.Size) || r.Suite != "quick" || r.Seconds <= 0 {
			t.Errorf("row %d (%v) failed: %+v", i, c, r)
		}
		// A window this short can pass without a message where a spinning
		// side starves the other of its only P (under -race especially),
		// so each row need not have one; each transport must.
		if r.Msgs > 0 && r.Model != "fnf" && (r.P50 <= 0 || r.P50 > r.P99 || r.P99 > r.P999 || r.P999 > r.Max) {
			t.Errorf("row %d (%v): quantiles out of order: %+v", i, c, r)
		}
		msgs[r.Transport] += r.Msgs
	}
	for _, tr := range benchkit.Transports() {
		if tr.External() {
			continue
		}
		if msgs[tr.String()] == 0 {
			t.Errorf("no message measured over %v", tr)
		}
	}
	text := out.String()
	for _, want := range []string{"cpu:", "pinning:", "kernel:", "go:", "grpc:     " + GRPCMissing, "kafka:    " + KafkaMissing, "×rshm-tcp", "wall time:"} {
		if !strings.Contains(text, want) {
			t.Errorf("output lacks %q:\n%s", want, text)
		}
	}
	if !strings.Contains(progress.String(), "\r[1/") {
		t.Errorf("no progress line on the progress writer: %q", progress.String())
	}
	svgs, _ := filepath.Glob(filepath.Join(cfg.PlotDir, "*.svg"))
	if len(svgs) == 0 {
		t.Fatal("no plots written")
	}
	for _, p := range svgs {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		checkSVG(t, p, b)
	}
}
