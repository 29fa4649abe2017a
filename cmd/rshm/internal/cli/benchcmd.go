package cli

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"

	"github.com/rshm/rshm/cmd/rshm/internal/rshmbench"
)

// BenchCommand is "rshm bench", registered in cmd/rshm's command table.
var BenchCommand = Command{
	Name:    "bench",
	Usage:   "bench [--quick] [-json FILE|-] [-plot DIR] [--duration D] [--sizes 64,1k,...] [--transports rshm-shm-spin,...] [--models rr,...] [--cpuprofile PREFIX]",
	Summary: "compare rshm with RSocket over TCP and raw sockets on this machine",
	Run:     Bench,
}

// Bench runs the comparison benchmark (package rshmbench). With
// rshmbench.ChildEnv set, or the hidden --server flag, it is instead the
// benchmark's server process, driven over stdin and stdout.
func Bench(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	var (
		cfg        rshmbench.Config
		jsonPath   string
		sizes      string
		transports string
		models     string
		server     bool
	)
	fs.BoolVar(&cfg.Quick, "quick", false, "the short matrix (64 B and 16 KiB; concurrency 64 for rr only)")
	fs.StringVar(&jsonPath, "json", "", "write one JSON object per measurement to `FILE` (- for stdout; the table then goes to stderr)")
	fs.StringVar(&cfg.PlotDir, "plot", "", "write SVG charts into `DIR`")
	fs.DurationVar(&cfg.Duration, "duration", 0, "measured window of each measurement (default 1s, 400ms with --quick)")
	fs.DurationVar(&cfg.Warmup, "warmup", 0, "unrecorded warm-up before each window (default duration/4; negative: none)")
	fs.StringVar(&sizes, "sizes", "", "payload sizes, comma-separated, k and m binary (default 64,1k,16k,256k,1m)")
	fs.StringVar(&transports, "transports", "", "transports, comma-separated (default all: rshm-shm-spin,rshm-shm-default,rshm-shm-backoff,rshm-shm-block,rshm-tcp,raw-tcp,raw-unix,grpc-tcp,grpc-unix,kafka)")
	fs.StringVar(&models, "models", "", "interaction models, comma-separated (default all: rr,fnf,stream,channel)")
	fs.StringVar(&cfg.CPUProfile, "cpuprofile", "", "write CPU profiles of the client and server processes to `PREFIX`.client and PREFIX.server")
	fs.BoolVar(&cfg.NoPin, "nopin", false, "do not pin the client and server processes")
	fs.BoolVar(&server, "server", false, "") // hidden: the benchmark's server process
	pos, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if server || os.Getenv(rshmbench.ChildEnv) == "1" {
		return rshmbench.ServeChild(ctx, stdin, stdout)
	}
	if len(pos) > 0 {
		return usageErr("unexpected argument %q", pos[0])
	}
	if sizes != "" {
		if cfg.Sizes, err = rshmbench.ParseSizes(sizes); err != nil {
			return usageErr("%v", err)
		}
	}
	if transports != "" {
		if cfg.Transports, err = rshmbench.ParseTransports(transports); err != nil {
			return usageErr("%v", err)
		}
	}
	if models != "" {
		if cfg.Models, err = rshmbench.ParseModels(models); err != nil {
			return usageErr("%v", err)
		}
	}
	out := stdout
	var jsonFile *os.File
	switch jsonPath {
	case "":
	case "-":
		cfg.JSON, out = stdout, stderr
	default:
		if jsonFile, err = os.Create(jsonPath); err != nil {
			return err
		}
		defer jsonFile.Close() // a second Close after the one below is harmless
		cfg.JSON = jsonFile
	}
	cfg.Progress = stderr
	if _, err := rshmbench.Run(ctx, cfg, out); err != nil {
		return fmt.Errorf("bench: %w", err)
	}
	if jsonFile != nil {
		return jsonFile.Close()
	}
	return nil
}
