package rshmbench

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"runtime"
	"sync"
	"time"

	"github.com/rshm/rshm/affinity"
	"github.com/rshm/rshm/internal/benchkit"
)

// Run measures the matrix of cfg: it prints the machine and the plan to
// out, starts the server process, runs every measurement (a progress line
// on cfg.Progress, a JSON line each on cfg.JSON), those of the external
// binaries last, each binary once (see external.go), prints the table to
// out, writes the plots, and returns the rows. A measurement that fails is
// a row with Err set, not an error of Run; Run fails when the server
// cannot be started or ctx ends. The cases of an external binary that is
// not there are skipped: Run prints how to build it (GRPCMissing,
// KafkaMissing) and returns no row for them.
func Run(ctx context.Context, cfg Config, out io.Writer) ([]benchkit.Row, error) {
	if err := cfg.check(); err != nil {
		return nil, err
	}
	began := time.Now()
	cases, groups := splitExternal(Matrix(&cfg))
	// ext are the external binaries with cases to run; notes what Run
	// says of each before the results, in the order of binaries.
	type extRun struct {
		b     *extBinary
		path  string
		cases []benchkit.Case
		note  string // what the binary said (runExternal)
	}
	var ext []extRun
	var notes []string
	all := len(cases)
	for i, group := range groups {
		if len(group) == 0 {
			continue
		}
		b := &binaries[i]
		path, ok := b.find(&cfg)
		if !ok {
			notes = append(notes, fmt.Sprintf("%-10s%s (none at %s): %s rows skipped", b.label+":", b.missing, path, b.label))
			continue
		}
		notes = append(notes, fmt.Sprintf("%-10s%s, %d measurements after the others", b.label+":", path, len(group)))
		ext = append(ext, extRun{b: b, path: path, cases: group})
		all += len(group)
	}
	m := probeMachine()
	pin := !cfg.NoPin && m.ClientCPU >= 0
	// unpin puts back this process's CPUs and GOMAXPROCS once its own
	// measurements are done: a child inherits the mask, and an external
	// binary that pins nothing (rshm-kafka) would otherwise run on the
	// client's CPU alone.
	unpin := func() {}
	switch {
	case cfg.NoPin:
		m.Pinning = "none (disabled)"
	case pin:
		restore, err := affinity.PinProcess(m.ClientCPU)
		if err != nil {
			pin = false
			m.Pinning = "none: " + err.Error()
		} else {
			// One CPU, one P: what the runtime picks for a process started
			// pinned, and what it converges to after PinProcess.
			runtime.GOMAXPROCS(1)
			// The default is computed from the mask: restored first.
			unpin = sync.OnceFunc(func() { restore(); runtime.SetDefaultGOMAXPROCS() })
			defer unpin()
			m.GOMAXPROCS = 1
			m.Pinning = fmt.Sprintf("client on CPU %d, server on CPU %d (affinity.BestPair)", m.ClientCPU, m.ServerCPU)
		}
	}
	ch, err := startChild(ctx, &cfg)
	if err != nil {
		return nil, err
	}
	defer ch.close()
	var profile string
	if cfg.CPUProfile != "" {
		stop, err := startProfile(cfg.CPUProfile + ".client")
		if err != nil {
			return nil, fmt.Errorf("rshmbench: %w", err)
		}
		defer stop()
		profile = cfg.CPUProfile + ".server"
	}
	hello, err := ch.call(request{Op: "hello", Pin: pin, CPU: m.ServerCPU, Profile: profile})
	if err != nil && hello.PID == 0 {
		return nil, err
	}
	if err != nil {
		m.Pinning = fmt.Sprintf("client on CPU %d, server unpinned: %v", m.ClientCPU, err)
	}
	m.print(out)
	fmt.Fprintf(out, "server:   pid %d, GOMAXPROCS %d\n", hello.PID, hello.GOMAXPROCS)
	for _, n := range notes {
		fmt.Fprintln(out, n)
	}
	est := Estimate(&cfg, all)
	fmt.Fprintf(out, "plan:     %s suite, %d measurements of %v (+%v warm-up) each, about %v\n\n",
		cfg.suite(), all, cfg.duration(), cfg.warmup(), est.Round(time.Second))

	var enc *json.Encoder
	if cfg.JSON != nil {
		enc = json.NewEncoder(cfg.JSON)
	}
	prog := &progress{w: cfg.Progress, total: all, start: began}
	rows := make([]benchkit.Row, 0, all)
	emit := func(row benchkit.Row) error {
		rows = append(rows, row)
		if enc != nil {
			return enc.Encode(row)
		}
		return nil
	}
	var tg *target
	var listenErr error
	defer func() { tg.close() }()
	for i, c := range cases {
		if ctx.Err() != nil {
			break
		}
		prog.update(i, c, Estimate(&cfg, all-i))
		if tg == nil || tg.t != c.Transport {
			tg.close()
			tg = &target{t: c.Transport}
			var r reply
			r, listenErr = ch.call(request{Op: "listen", Transport: c.Transport.String()})
			tg.addr = r.Addr
		}
		var row benchkit.Row
		if listenErr != nil {
			row = benchkit.NewRow(cfg.suite(), c, nil)
			row.Err = listenErr.Error()
		} else {
			w, err := measure(ctx, tg, ch, c, cfg.warmup(), cfg.duration())
			row = benchkit.NewRow(cfg.suite(), c, w)
			if err != nil {
				row.Err = err.Error()
			}
		}
		if err := emit(row); err != nil {
			return rows, err
		}
	}
	tg.close()
	tg = nil
	if err := ctx.Err(); err != nil {
		prog.end()
		return rows, err
	}
	if _, err := ch.call(request{Op: "stop"}); err != nil {
		prog.end()
		return rows, err
	}
	unpin()
	var cpus []int
	if pin {
		cpus = []int{m.ClientCPU, m.ServerCPU}
	}
	done := len(cases)
	for i := range ext {
		e := &ext[i]
		next := func(j int) {
			prog.update(done+j, e.cases[j], Estimate(&cfg, all-done-j))
		}
		var err error
		if e.note, err = runExternal(ctx, &cfg, e.b, e.path, e.cases, cpus, next, emit); err != nil {
			prog.end()
			return rows, err
		}
		done += len(e.cases)
	}
	prog.end()
	if err := WriteTable(out, rows); err != nil {
		return rows, err
	}
	for _, e := range ext {
		if e.note != "" {
			fmt.Fprintf(out, "\n%s: %s\n", e.b.label, e.note)
		}
	}
	if cfg.PlotDir != "" {
		paths, err := WritePlots(cfg.PlotDir, rows)
		if err != nil {
			return rows, err
		}
		fmt.Fprintf(out, "\nplots: %d SVG files in %s\n", len(paths), cfg.PlotDir)
	}
	fmt.Fprintf(out, "\nwall time: %v\n", time.Since(began).Round(100*time.Millisecond))
	return rows, nil
}
