// Package benchfmt reads `go test -bench` output and renders the table the
// issues' targets are written against: every metric of every benchmark, and
// the ratios between a result and the baseline measured in the same run.
package benchfmt

import (
	"bufio"
	"fmt"
	"io"
	"strconv"
	"strings"
)

// Result is one benchmark line: its name (without the Benchmark prefix and
// the -GOMAXPROCS suffix), the iteration count and its metrics by unit.
type Result struct {
	Name    string
	N       int64
	Metrics map[string]float64
	Units   []string // in the order they appeared
}

// Run is everything one `go test -bench` invocation printed that matters.
type Run struct {
	Context []string // machine:, pinning:, goos:, cpu: ... lines
	Results []Result
	Failed  []string // FAIL lines and panics, kept verbatim
}

// Parse reads go test output. Unknown lines are ignored.
func Parse(r io.Reader) (*Run, error) {
	run := &Run{}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64*1024), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		switch {
		case strings.HasPrefix(line, "Benchmark"):
			if res, ok := parseResult(line); ok {
				run.Results = append(run.Results, res)
			}
		case strings.HasPrefix(line, "machine:"), strings.HasPrefix(line, "pinning:"),
			strings.HasPrefix(line, "cpu:"), strings.HasPrefix(line, "goos:"), strings.HasPrefix(line, "goarch:"):
			run.Context = append(run.Context, line)
		case strings.HasPrefix(line, "--- FAIL"), strings.HasPrefix(line, "FAIL"), strings.HasPrefix(line, "panic:"):
			run.Failed = append(run.Failed, line)
		}
	}
	return run, sc.Err()
}

func parseResult(line string) (Result, bool) {
	f := strings.Fields(line)
	if len(f) < 4 || len(f)%2 != 0 {
		return Result{}, false
	}
	n, err := strconv.ParseInt(f[1], 10, 64)
	if err != nil {
		return Result{}, false
	}
	name := strings.TrimPrefix(f[0], "Benchmark")
	if i := strings.LastIndexByte(name, '-'); i > 0 {
		if _, err := strconv.Atoi(name[i+1:]); err == nil {
			name = name[:i]
		}
	}
	res := Result{Name: name, N: n, Metrics: map[string]float64{}}
	for i := 2; i+1 < len(f); i += 2 {
		v, err := strconv.ParseFloat(f[i], 64)
		if err != nil {
			return Result{}, false
		}
		res.Metrics[f[i+1]] = v
		res.Units = append(res.Units, f[i+1])
	}
	return res, true
}

// Lookup returns the metric unit of benchmark name, and whether it exists.
func (r *Run) Lookup(name, unit string) (float64, bool) {
	for _, res := range r.Results {
		if res.Name == name {
			v, ok := res.Metrics[unit]
			return v, ok
		}
	}
	return 0, false
}

// Ratio compares one measured metric against a baseline from the same run.
// Want is the target: the ratio must be at most Want when Lower is true,
// and at least Want otherwise.
type Ratio struct {
	Label          string
	Name, Unit     string
	Base, BaseUnit string
	Want           float64
	Lower          bool
}

// Write renders the run's table and, for each ratio whose inputs are present,
// its value against the target.
func Write(w io.Writer, run *Run, ratios []Ratio) {
	for _, c := range run.Context {
		fmt.Fprintln(w, c)
	}
	width := len("benchmark")
	for _, res := range run.Results {
		width = max(width, len(res.Name))
	}
	fmt.Fprintf(w, "\n%-*s  %s\n", width, "benchmark", "results")
	for _, res := range run.Results {
		var parts []string
		for _, u := range res.Units {
			if u == "ns/op" || u == "B/op" || u == "allocs/op" || u == "MB/s" {
				continue
			}
			parts = append(parts, fmt.Sprintf("%s %s", human(res.Metrics[u]), u))
		}
		if v, ok := res.Metrics["allocs/op"]; ok {
			parts = append(parts, fmt.Sprintf("%s allocs/op", human(v)))
		}
		fmt.Fprintf(w, "%-*s  %s\n", width, res.Name, strings.Join(parts, "   "))
	}
	header := false
	labels := len("ratio (same run, same CPUs)")
	for _, r := range ratios {
		labels = max(labels, len(r.Label))
	}
	for _, r := range ratios {
		v, ok1 := run.Lookup(r.Name, r.Unit)
		base, ok2 := run.Lookup(r.Base, r.BaseUnit)
		if !ok1 || !ok2 || base == 0 {
			continue
		}
		if !header {
			fmt.Fprintf(w, "\n%-*s %9s %9s  %s\n", labels, "ratio (same run, same CPUs)", "measured", "target", "")
			header = true
		}
		got := v / base
		met := got >= r.Want
		op := ">="
		if r.Lower {
			met, op = got <= r.Want, "<="
		}
		verdict := "met"
		if !met {
			verdict = "NOT met"
		}
		fmt.Fprintf(w, "%-*s %8.2fx %3s%5.2fx  %s\n", labels, r.Label, got, op, r.Want, verdict)
	}
	for _, f := range run.Failed {
		fmt.Fprintln(w, f)
	}
}

func human(v float64) string {
	switch {
	case v >= 1e9:
		return strconv.FormatFloat(v/1e9, 'f', 2, 64) + "G"
	case v >= 1e6:
		return strconv.FormatFloat(v/1e6, 'f', 2, 64) + "M"
	case v >= 1e4:
		return strconv.FormatFloat(v/1e3, 'f', 1, 64) + "k"
	case v == float64(int64(v)):
		return strconv.FormatInt(int64(v), 10)
	default:
		return strconv.FormatFloat(v, 'f', 2, 64)
	}
}
