package rshmbench

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/rshm/rshm/affinity"
	"github.com/rshm/rshm/internal/benchkit"
)

// withBinary is a Config whose field for b gives path.
func withBinary(t *testing.T, b *extBinary, path string) *Config {
	t.Helper()
	var cfg Config
	switch b.name {
	case "rshm-grpc":
		cfg.GRPCBinary = path
	case "rshm-kafka":
		cfg.KafkaBinary = path
	default:
		t.Fatalf("no Config field for %s", b.name)
	}
	if got := b.configured(&cfg); got != path {
		t.Fatalf("%s reads %q from its Config field; want %q", b.name, got, path)
	}
	return &cfg
}

func TestFindBinary(t *testing.T) {
	for i := range binaries {
		b := &binaries[i]
		t.Run(b.name, func(t *testing.T) {
			dir := t.TempDir()
			exe := filepath.Join(dir, b.name)
			if err := os.WriteFile(exe, []byte("#!/bin/sh\n"), 0o755); err != nil {
				t.Fatal(err)
			}
			plain := filepath.Join(dir, "plain")
			if err := os.WriteFile(plain, nil, 0o644); err != nil {
				t.Fatal(err)
			}
			for _, c := range []struct {
				cfg, env string
				want     string
				ok       bool
			}{
				{cfg: exe, want: exe, ok: true},
				{cfg: exe, env: plain, want: exe, ok: true}, // the Config field wins
				{env: exe, want: exe, ok: true},
				{env: plain, want: plain},                                           // not executable
				{cfg: dir, want: dir},                                               // a directory
				{cfg: filepath.Join(dir, "none"), want: filepath.Join(dir, "none")}, // missing
			} {
				t.Setenv(b.env, c.env)
				got, ok := b.find(withBinary(t, b, c.cfg))
				if got != c.want || ok != c.ok {
					t.Errorf("cfg %q env %q: got %q, %v; want %q, %v", c.cfg, c.env, got, ok, c.want, c.ok)
				}
			}
			t.Setenv(b.env, "")
			self, err := os.Executable()
			if err != nil {
				t.Fatal(err)
			}
			if got, ok := b.find(&Config{}); got != filepath.Join(filepath.Dir(self), b.name) || ok {
				t.Errorf("default: got %q, %v; want %s beside %s, missing", got, ok, b.name, self)
			}
		})
	}
}

// TestSplitExternal: every transport that is External goes to exactly one
// binary, every other one stays in this process, and each keeps the
// matrix's order.
func TestSplitExternal(t *testing.T) {
	cases := Matrix(&Config{Quick: true})
	local, external := splitExternal(cases)
	if len(external) != len(binaries) {
		t.Fatalf("%d groups; want one per binary (%d)", len(external), len(binaries))
	}
	for _, c := range local {
		if c.Transport.External() {
			t.Errorf("%v is measured in this process", c)
		}
	}
	n := len(local)
	for i, group := range external {
		if len(group) == 0 {
			t.Errorf("%s has no case in the quick matrix", binaries[i].name)
		}
		for _, c := range group {
			if !c.Transport.External() || !slices.Contains(binaries[i].transports, c.Transport) {
				t.Errorf("%v is given to %s", c, binaries[i].name)
			}
		}
		n += len(group)
	}
	if n != len(cases) {
		t.Errorf("%d cases after the split; want %d", n, len(cases))
	}
	for _, tr := range benchkit.Transports() {
		owners := 0
		for _, b := range binaries {
			if slices.Contains(b.transports, tr) {
				owners++
			}
		}
		if want := map[bool]int{true: 1, false: 0}[tr.External()]; owners != want {
			t.Errorf("%v is measured by %d external binaries; want %d", tr, owners, want)
		}
	}
	var grpc, kafka []benchkit.Case
	for _, c := range cases {
		switch c.Transport {
		case benchkit.GRPCTCP, benchkit.GRPCUnix:
			grpc = append(grpc, c)
		case benchkit.Kafka:
			kafka = append(kafka, c)
		}
	}
	if !slices.Equal(external[0], grpc) {
		t.Errorf("rshm-grpc's cases %v; want %v", external[0], grpc)
	}
	if !slices.Equal(external[1], kafka) {
		t.Errorf("rshm-kafka's cases %v; want %v", external[1], kafka)
	}
}

func TestExternalArgs(t *testing.T) {
	cfg := &Config{Quick: true, Warmup: -1}
	cases := []benchkit.Case{
		{Transport: benchkit.GRPCTCP, Model: benchkit.RR, Size: 64, Concurrency: 1},
		{Transport: benchkit.GRPCUnix, Model: benchkit.Stream, Size: 16, Concurrency: 1},
	}
	got := strings.Join(externalArgs(cfg, cases, []int{0, 1}), " ")
	want := "run --suite quick --duration 400ms --warmup 0s --cases grpc-tcp/rr/64/1,grpc-unix/stream/16/1 --client-cpu 0 --server-cpu 1"
	if got != want {
		t.Errorf("pinned: %q; want %q", got, want)
	}
	cfg = &Config{Duration: time.Second}
	got = strings.Join(externalArgs(cfg, cases[:1], nil), " ")
	if want := "run --suite full --duration 1s --warmup 250ms --cases grpc-tcp/rr/64/1 --nopin"; got != want {
		t.Errorf("unpinned: %q; want %q", got, want)
	}
}

// fakeBinary writes a shell script standing in for an external binary.
func fakeBinary(t *testing.T, script string) string {
	t.Helper()
	if _, err := exec.LookPath("sh"); err != nil {
		t.Skip("no sh")
	}
	p := filepath.Join(t.TempDir(), "fake")
	if err := os.WriteFile(p, []byte("#!/bin/sh\n"+script), 0o755); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestRunExternalFailures: every case gets a row, in order, whatever the
// binary does; the ones it did not measure carry why.
func TestRunExternalFailures(t *testing.T) {
	cases := []benchkit.Case{
		{Transport: benchkit.GRPCTCP, Model: benchkit.RR, Size: 64, Concurrency: 1},
		{Transport: benchkit.GRPCUnix, Model: benchkit.RR, Size: 64, Concurrency: 1},
	}
	good := `{"suite":"quick","transport":"grpc-tcp","model":"rr","size":64,"concurrency":1,"msgs":10,"seconds":0.1,"msgs_per_s":100}`
	both := fmt.Sprintf("echo '%s'\necho '%s'\n", good, strings.ReplaceAll(good, "grpc-tcp", "grpc-unix"))
	for _, c := range []struct {
		name, script string
		errs         []string // want in each row's Err; "" for none
		note         string   // want in the returned note
	}{
		{"ok", both + "echo 'rshm-grpc: gRPC-go 1.2.3' >&2\n", []string{"", ""}, "rshm-grpc: gRPC-go 1.2.3"},
		{"garbage", "echo hello\n", []string{"corrupt frame", "corrupt frame"}, "corrupt frame"},
		{"wrong case", fmt.Sprintf("echo '%s'\n", strings.ReplaceAll(good, "grpc-tcp", "grpc-unix")), []string{"want grpc-tcp rr", "want grpc-tcp rr"}, "want grpc-tcp"},
		{"dies", fmt.Sprintf("echo '%s'\necho 'it broke' >&2\nexit 3\n", good), []string{"", "exit status 3; its stderr: it broke"}, "exit status 3"},
		{"dies late", both + "exit 4\n", []string{"", ""}, "exit status 4"},
		{"quiet", "exit 0\n", []string{"exited early", "exited early"}, "exited early"},
	} {
		t.Run(c.name, func(t *testing.T) {
			cfg := &Config{Quick: true, Duration: time.Millisecond, GRPCBinary: fakeBinary(t, c.script)}
			var rows []benchkit.Row
			var nexts []int
			note, err := runExternal(context.Background(), cfg, &binaries[0], cfg.GRPCBinary, cases, nil,
				func(i int) { nexts = append(nexts, i) }, func(r benchkit.Row) error { rows = append(rows, r); return nil })
			if err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(note, c.note) {
				t.Errorf("note %q; want %q in it", note, c.note)
			}
			if len(rows) != len(cases) {
				t.Fatalf("%d rows; want %d", len(rows), len(cases))
			}
			for i, r := range rows {
				if r.Transport != cases[i].Transport.String() || r.Model != "rr" || r.Size != 64 {
					t.Errorf("row %d is for %s %s %d; want %v", i, r.Transport, r.Model, r.Size, cases[i])
				}
				if w := c.errs[i]; (w == "") != (r.Err == "") || !strings.Contains(r.Err, w) {
					t.Errorf("row %d: Err %q; want %q", i, r.Err, w)
				}
			}
			if c.name == "ok" && !slices.Equal(nexts, []int{0, 1}) {
				t.Errorf("next called with %v; want [0 1]", nexts)
			}
		})
	}
}

// buildExternal builds b from its nested module into a temporary
// directory, skipping the test where the build cannot fetch its modules.
func buildExternal(t *testing.T, b *extBinary) string {
	t.Helper()
	src, err := filepath.Abs(filepath.Join("..", "..", "..", "..", filepath.FromSlash(b.src)))
	if err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(t.TempDir(), b.name)
	cmd := exec.Command("go", "build", "-o", bin, ".")
	cmd.Dir = src
	out, err := cmd.CombinedOutput()
	if err != nil {
		for _, offline := range []string{"dial tcp", "lookup ", "i/o timeout", "GOPROXY", "GOFLAGS=-mod=mod", "connection refused", "network is unreachable"} {
			if bytes.Contains(out, []byte(offline)) {
				t.Skipf("cannot build %s (no network for its modules?): %s", b.name, out)
			}
		}
		t.Fatalf("go build %s: %v\n%s", b.name, err, out)
	}
	return bin
}

// TestRunExternal runs rshm bench with the transports of each external
// binary, built from its nested module: they have measured rows, in -json
// and in the table with their ratio to raw-tcp, and the output names the
// binary and what it said.
func TestRunExternal(t *testing.T) {
	if testing.Short() {
		t.Skip("builds rshm-grpc (gRPC-go) and rshm-kafka (franz-go): not in -short")
	}
	for i := range binaries {
		b := &binaries[i]
		t.Run(b.name, func(t *testing.T) {
			bin := buildExternal(t, b)
			var js, out bytes.Buffer
			cfg := *withBinary(t, b, bin)
			cfg.Quick, cfg.Duration, cfg.Warmup, cfg.Sizes, cfg.JSON = true, 40*time.Millisecond, 10*time.Millisecond, []int{64}, &js
			cfg.Transports = append([]benchkit.Transport{benchkit.RawTCP}, b.transports...)
			ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
			defer cancel()
			rows, err := Run(ctx, cfg, &out)
			if err != nil {
				t.Fatalf("Run: %v\n%s", err, out.String())
			}
			local, external := splitExternal(Matrix(&cfg))
			cases := append(local, slices.Concat(external...)...) // the order Run measures them in
			if len(rows) != len(cases) || strings.Count(js.String(), "\n") != len(cases) {
				t.Fatalf("%d rows, %d JSON lines; want %d\n%s", len(rows), strings.Count(js.String(), "\n"), len(cases), out.String())
			}
			for i, r := range rows {
				c := cases[i]
				if r.Transport != c.Transport.String() || r.Model != c.Model.String() || r.Concurrency != c.Concurrency {
					t.Errorf("row %d is %s %s c=%d; want %v", i, r.Transport, r.Model, r.Concurrency, c)
				}
				if r.Err != "" || r.Msgs == 0 || r.Suite != "quick" || r.P50 <= 0 || r.P50 > r.Max {
					t.Errorf("row %d (%v): %+v", i, c, r)
				}
				// rshm-kafka's responder shares the requester's process:
				// all of its CPU is the client's.
				server := c.Transport != benchkit.Kafka
				if c.Transport.External() && (r.ClientCPUPerMsg <= 0 || (r.ServerCPUPerMsg > 0) != server) {
					t.Errorf("row %d (%v): CPU per message: %+v", i, c, r)
				}
			}
			text := out.String()
			for _, want := range []string{fmt.Sprintf("%-10s%s", b.label+":", bin), "\n" + b.label + ": " + b.name + ": "} {
				if !strings.Contains(text, want) {
					t.Errorf("output lacks %q:\n%s", want, text)
				}
			}
			for _, l := range strings.Split(text, "\n") {
				f := strings.Fields(l)
				if len(f) <= 4 {
					continue
				}
				if tr, err := benchkit.ParseTransport(f[3]); err == nil && tr.External() && f[len(f)-1] == "-" {
					t.Errorf("no ratio to raw-tcp: %q", l)
				}
			}
		})
	}
}

// echoRows is a shell script standing in for an external binary that
// measures every case of its --cases: a row of made-up figures each.
const echoRows = `cases=
while [ $# -gt 0 ]; do
	[ "$1" = --cases ] && cases=$2
	shift
done
for c in $(echo "$cases" | tr , ' '); do
	set -- $(echo "$c" | tr / ' ')
	echo "{\"suite\":\"quick\",\"transport\":\"$1\",\"model\":\"$2\",\"size\":$3,\"concurrency\":$4,\"msgs\":10,\"seconds\":0.1,\"samples\":10,\"p50_ns\":1000,\"max_ns\":2000,\"msgs_per_s\":100}"
done
`

// TestRunExternalUnpinned: an external binary starts on the CPUs this
// process had before Run pinned itself to the client's CPU, so that one
// that pins nothing (rshm-kafka) is not confined to that CPU.
func TestRunExternalUnpinned(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("pinning is Linux's")
	}
	allowed, err := affinity.Allowed()
	if err != nil || len(allowed) < 2 {
		t.Skipf("fewer than two CPUs to pin to: %v, %v", allowed, err)
	}
	script := echoRows + `echo "fake: cpus $(grep Cpus_allowed_list /proc/self/status | cut -f2)" >&2` + "\n"
	cfg := Config{Quick: true, Duration: 5 * time.Millisecond, Warmup: -1, Sizes: []int{64},
		Models: []benchkit.Model{benchkit.RR}, Transports: []benchkit.Transport{benchkit.Kafka}, KafkaBinary: fakeBinary(t, script)}
	var out bytes.Buffer
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	rows, err := Run(ctx, cfg, &out)
	if err != nil {
		t.Fatalf("Run: %v\n%s", err, out.String())
	}
	if !strings.Contains(out.String(), "pinning:  client on CPU") {
		t.Skipf("Run did not pin:\n%s", out.String())
	}
	if len(rows) != len(Matrix(&cfg)) || slices.ContainsFunc(rows, func(r benchkit.Row) bool { return r.Err != "" }) {
		t.Errorf("rows %+v; want the fake's, one per case", rows)
	}
	if want := "\nkafka: fake: cpus " + affinity.FormatList(allowed) + "\n"; !strings.Contains(out.String(), want) {
		t.Errorf("output lacks %q:\n%s", want, out.String())
	}
}
