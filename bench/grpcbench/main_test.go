package main

import (
	"context"
	"os"
	"testing"
)

// The test binary doubles as rshm-grpc's server: run re-executes it with
// serveEnv set and "serve ..." as its arguments.
func TestMain(m *testing.M) {
	if os.Getenv(serveEnv) == "1" {
		os.Exit(exitCode(command(context.Background(), os.Args[1:], os.Stdin, os.Stdout, os.Stderr), os.Stderr))
	}
	os.Exit(m.Run())
}
