package rshmbench

import (
	"bytes"
	"encoding/xml"
	"io"
	"path/filepath"
	"strings"
	"testing"

	"github.com/rshm/rshm/internal/benchkit"
)

// checkSVG parses b as XML and checks it is one <svg> element with drawing
// in it; it returns the count of each element name.
func checkSVG(t *testing.T, name string, b []byte) map[string]int {
	t.Helper()
	d := xml.NewDecoder(bytes.NewReader(b))
	counts := map[string]int{}
	depth, roots := 0, 0
	for {
		tok, err := d.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("%s: not XML: %v", name, err)
		}
		switch tok := tok.(type) {
		case xml.StartElement:
			if depth == 0 {
				roots++
				if tok.Name.Local != "svg" || tok.Name.Space != "http://www.w3.org/2000/svg" {
					t.Fatalf("%s: root element %v, want svg", name, tok.Name)
				}
			}
			depth++
			counts[tok.Name.Local]++
		case xml.EndElement:
			depth--
		}
	}
	if roots != 1 || depth != 0 {
		t.Fatalf("%s: %d root elements, depth %d at the end", name, roots, depth)
	}
	return counts
}

func plotRows() []benchkit.Row {
	var rows []benchkit.Row
	for i, tr := range []string{"rshm-shm-spin", "rshm-tcp", "raw-tcp"} {
		for _, size := range []int{64, 16 << 10} {
			f := int64(i + 1)
			rows = append(rows, benchkit.Row{Transport: tr, Model: "rr", Size: size, Concurrency: 1, Msgs: 10,
				P50: 1000 * f, P90: 2000 * f, P99: 5000 * f, P999: 9000 * f, Max: 20000 * f,
				MsgsPerS: 1e5 / float64(f), BytesPerS: 1e5 / float64(f) * float64(size)})
		}
	}
	rows = append(rows, benchkit.Row{Transport: "raw-unix", Model: "rr", Size: 64, Concurrency: 1, Err: "failed"})
	return rows
}

func TestWritePlots(t *testing.T) {
	dir := t.TempDir()
	paths, err := WritePlots(dir, plotRows())
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"latency-rr-c1-64B.svg", "latency-rr-c1-16KiB.svg", "throughput-rr-c1.svg"}
	if len(paths) != len(want) {
		t.Fatalf("got %v; want %v", paths, want)
	}
	for i, p := range paths {
		if filepath.Base(p) != want[i] {
			t.Errorf("plot %d: got %s; want %s", i, filepath.Base(p), want[i])
		}
	}
	for _, p := range paths {
		b := readFile(t, p)
		counts := checkSVG(t, p, b)
		if strings.Contains(string(b), "raw-unix") {
			t.Errorf("%s: the failed row is plotted", p)
		}
		if strings.HasPrefix(filepath.Base(p), "latency") {
			// background + 3 transports × 5 quantiles + 5 legend swatches
			if got, want := counts["rect"], 1+3*5+5; got != want {
				t.Errorf("%s: %d rects; want %d", p, got, want)
			}
		} else if got := counts["polyline"]; got != 3 {
			t.Errorf("%s: %d lines; want 3 (one per transport)", p, got)
		}
	}
}

func TestLogScale(t *testing.T) {
	s := newLogScale([]float64{150, 0, 42000}, 300)
	if s.lo != 100 || s.hi != 100000 {
		t.Fatalf("got [%v, %v]; want [100, 100000]", s.lo, s.hi)
	}
	for _, c := range []struct{ v, want float64 }{{100, 0}, {1000, 100}, {100000, 300}, {0, 0}, {50, 0}} {
		if got := s.at(c.v); got < c.want-1e-9 || got > c.want+1e-9 {
			t.Errorf("at(%v) = %v; want %v", c.v, got, c.want)
		}
	}
	if got := len(s.decades()); got != 4 {
		t.Errorf("%d decades; want 4", got)
	}
}
