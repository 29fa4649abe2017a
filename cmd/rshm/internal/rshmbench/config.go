package rshmbench

import (
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/rshm/rshm/internal/benchkit"
)

// Defaults used where a Config field is zero.
const (
	DefaultDuration      = time.Second
	DefaultQuickDuration = 400 * time.Millisecond
	// HighConcurrency is the second concurrency of the matrix.
	HighConcurrency = 64
)

// DefaultSizes and QuickSizes are the payload sizes of the full and the
// quick matrix.
var (
	DefaultSizes = []int{64, 1 << 10, 16 << 10, 256 << 10, 1 << 20}
	QuickSizes   = []int{64, 16 << 10}
)

// Config configures Run, which fails with benchkit.ErrConfig for a Config
// that cannot run. The zero value runs the full matrix, prints the table
// to Run's stdout, and pins both processes.
type Config struct {
	// Quick runs the short matrix: QuickSizes, concurrency 1 for every
	// model and HighConcurrency for request-response only (Kafka: the
	// first size at concurrency 1 only), and DefaultQuickDuration per
	// measurement.
	Quick bool
	// Duration is the measured window of one measurement; zero means
	// DefaultDuration (DefaultQuickDuration with Quick).
	Duration time.Duration
	// Warmup runs before each window, unrecorded, and goes on until every
	// worker has done a few operations (benchkit.Collect); zero means
	// Duration/4, negative means none.
	Warmup time.Duration
	// Sizes are the payload sizes in bytes (1 to benchkit.MaxSize); nil means
	// DefaultSizes (QuickSizes with Quick).
	Sizes []int
	// Transports to measure; nil means all of them.
	Transports []benchkit.Transport
	// Models to measure (of those each transport has); nil means all.
	Models []benchkit.Model
	// CPUProfile, when set, makes the client process write a CPU profile
	// of the whole run to CPUProfile+".client" and the server process to
	// CPUProfile+".server" (go tool pprof reads both).
	CPUProfile string
	// JSON, when set, receives one JSON object (a benchkit.Row) per
	// measurement, a line each.
	JSON io.Writer
	// PlotDir, when set, receives SVG charts (see WritePlots).
	PlotDir string
	// Progress, when set, receives a live progress line (use stderr).
	Progress io.Writer
	// NoPin leaves both processes unpinned; false (zero) pins the client to
	// the first CPU of affinity.BestPair and the server to the second.
	NoPin bool
	// Executable is the binary to run as the server with ChildEnv set; ""
	// means os.Executable(). ChildArgs are its arguments; nil means
	// {"bench", "--server"}.
	Executable string
	ChildArgs  []string
	// GRPCBinary is the rshm-grpc binary that measures the gRPC transports
	// (see external.go); "" means $RSHM_GRPC_BIN, and when that is unset too,
	// rshm-grpc in the directory of os.Executable(). When there is none,
	// Run says so (GRPCMissing) and skips the gRPC rows.
	GRPCBinary string
	// KafkaBinary is the rshm-kafka binary that measures the Kafka
	// transport (see external.go); "" means $RSHM_KAFKA_BIN, and when that
	// is unset too, rshm-kafka in the directory of os.Executable(). When
	// there is none, Run says so (KafkaMissing) and skips the Kafka rows.
	KafkaBinary string
}

func (c *Config) duration() time.Duration {
	switch {
	case c.Duration > 0:
		return c.Duration
	case c.Quick:
		return DefaultQuickDuration
	}
	return DefaultDuration
}

func (c *Config) warmup() time.Duration {
	switch {
	case c.Warmup < 0:
		return 0
	case c.Warmup > 0:
		return c.Warmup
	}
	return c.duration() / 4
}

func (c *Config) sizes() []int {
	switch {
	case c.Sizes != nil:
		return c.Sizes
	case c.Quick:
		return QuickSizes
	}
	return DefaultSizes
}

func (c *Config) transports() []benchkit.Transport {
	if c.Transports != nil {
		return c.Transports
	}
	return benchkit.Transports()
}

func (c *Config) concurrencies(m benchkit.Model) []int {
	if c.Quick && m != benchkit.RR {
		return []int{1}
	}
	return []int{1, HighConcurrency}
}

// measures reports whether the matrix has transport t at size and
// concurrency conc, one of the sizes and concurrencies c gives. The quick
// matrix has Kafka and WebSocket at the first size and concurrency 1 only:
// their cost at a glance, in a suite that must stay under a minute; the
// full matrix has them everywhere.
func (c *Config) measures(t benchkit.Transport, size, conc int) bool {
	return !c.Quick || (t != benchkit.Kafka && t != benchkit.WebSocket) || (size == c.sizes()[0] && conc == 1)
}

func (c *Config) suite() string {
	if c.Quick {
		return "quick"
	}
	return "full"
}

func (c *Config) check() error {
	for _, s := range c.Sizes {
		if s < 1 || s > benchkit.MaxSize {
			return fmt.Errorf("%w: size %d is not in [1, %d]", benchkit.ErrConfig, s, benchkit.MaxSize)
		}
	}
	for _, t := range c.Transports {
		if !slices.Contains(benchkit.Transports(), t) {
			return fmt.Errorf("%w: %v", benchkit.ErrConfig, t)
		}
	}
	return nil
}

// ParseModels reads a comma-separated model list: "rr,stream".
func ParseModels(s string) ([]benchkit.Model, error) {
	var out []benchkit.Model
	for f := range strings.SplitSeq(s, ",") {
		m, err := benchkit.ParseModel(strings.TrimSpace(f))
		if err != nil {
			return nil, err
		}
		out = append(out, m)
	}
	return out, nil
}

// ParseSizes reads a comma-separated size list: "64,1024,16k,1m" (k and m
// are binary: 1k = 1024).
func ParseSizes(s string) ([]int, error) {
	var out []int
	for f := range strings.SplitSeq(s, ",") {
		f = strings.ToLower(strings.TrimSpace(f))
		mul := 1
		switch {
		case strings.HasSuffix(f, "k"):
			mul, f = 1<<10, f[:len(f)-1]
		case strings.HasSuffix(f, "m"):
			mul, f = 1<<20, f[:len(f)-1]
		}
		n, err := strconv.Atoi(f)
		if err != nil || n < 1 || n > benchkit.MaxSize/mul {
			return nil, fmt.Errorf("%w: size %q is not a number of bytes in [1, %d]", benchkit.ErrConfig, f, benchkit.MaxSize)
		}
		out = append(out, n*mul)
	}
	return out, nil
}

// ParseTransports reads a comma-separated list of transport names.
func ParseTransports(s string) ([]benchkit.Transport, error) {
	var out []benchkit.Transport
	for f := range strings.SplitSeq(s, ",") {
		t, err := benchkit.ParseTransport(strings.TrimSpace(f))
		if err != nil {
			return nil, err
		}
		out = append(out, t)
	}
	return out, nil
}
