package benchkit

import (
	"time"

	"github.com/rshm/rshm/internal/hist"
)

// Row is one measurement, as rshm bench's table prints it and its -json,
// like rshm-grpc, writes it.
// Latencies are in ns; see rshm bench's package comment (rshmbench) for
// what a message and its latency are in each model.
type Row struct {
	Suite       string `json:"suite"` // "quick" or "full"
	Transport   string `json:"transport"`
	Model       string `json:"model"`
	Size        int    `json:"size"`
	Concurrency int    `json:"concurrency"`

	Msgs    uint64  `json:"msgs"`
	Seconds float64 `json:"seconds"`
	Samples uint64  `json:"samples"` // latencies recorded
	P50     int64   `json:"p50_ns"`
	P90     int64   `json:"p90_ns"`
	P99     int64   `json:"p99_ns"`
	P999    int64   `json:"p999_ns"`
	Max     int64   `json:"max_ns"`

	MsgsPerS  float64 `json:"msgs_per_s"`
	BytesPerS float64 `json:"bytes_per_s"`
	// CPUPerMsg is ClientCPUPerMsg + ServerCPUPerMsg: the CPU the two
	// processes spent per message (user + system, getrusage).
	CPUPerMsg       float64 `json:"cpu_ns_per_msg"`
	ClientCPUPerMsg float64 `json:"client_cpu_ns_per_msg"`
	ServerCPUPerMsg float64 `json:"server_cpu_ns_per_msg"`

	// Starved counts the workers that had not done warmOps operations
	// when the warm-up ended at its bound: the transport served some of
	// its concurrent callers and left others waiting (a fairness bug), or
	// an operation takes longer than the bound.
	Starved int `json:"starved_workers,omitempty"`

	// Err is set when the measurement failed; the other fields then hold
	// what was measured before the failure.
	Err string `json:"error,omitempty"`
}

// usage is a process's CPU time at one instant.
type usage struct{ user, sys int64 }

func (u usage) ns() int64 { return u.user + u.sys }

// Window is what one measurement's workers produced (Collect); NewRow
// turns it into a Row.
type Window struct {
	// Msgs counts the messages of the window: the operations its workers
	// recorded, unless the caller counts them elsewhere and sets it (rshm
	// bench counts fire-and-forget by what the server's handler received).
	Msgs uint64
	// Starved: see Row.Starved.
	Starved int

	h         *hist.Histogram
	nsPerUnit float64 // ns per histogram unit (tsc ticks or ns)
	elapsed   time.Duration
	client    [2]usage // before, after
	server    [2]usage
}

// NewRow turns a window into the row of case c in suite: quantiles from
// the merged histogram scaled to ns, rates over the window, CPU deltas per
// message. A nil window, nothing measured, gives a row of c's identity
// fields and zeros, for a failure to carry in Err.
func NewRow(suite string, c Case, w *Window) Row {
	if w == nil {
		w = &Window{}
	}
	r := Row{Suite: suite, Transport: c.Transport.String(), Model: c.Model.String(),
		Size: c.Size, Concurrency: c.Concurrency, Msgs: w.Msgs, Seconds: w.elapsed.Seconds(), Starved: w.Starved}
	if w.h != nil {
		ns := func(v int64) int64 { return int64(float64(v)*w.nsPerUnit + 0.5) }
		r.Samples = w.h.Count()
		r.P50, r.P90, r.P99 = ns(w.h.Quantile(0.5)), ns(w.h.Quantile(0.9)), ns(w.h.Quantile(0.99))
		r.P999, r.Max = ns(w.h.Quantile(0.999)), ns(w.h.Max())
	}
	if r.Seconds > 0 {
		r.MsgsPerS = float64(w.Msgs) / r.Seconds
		r.BytesPerS = r.MsgsPerS * float64(c.Size)
	}
	if w.Msgs > 0 {
		r.ClientCPUPerMsg = float64(w.client[1].ns()-w.client[0].ns()) / float64(w.Msgs)
		r.ServerCPUPerMsg = float64(w.server[1].ns()-w.server[0].ns()) / float64(w.Msgs)
		r.CPUPerMsg = r.ClientCPUPerMsg + r.ServerCPUPerMsg
	}
	return r
}
