package rshmbench

import (
	"context"
	"fmt"
	"os"
	"testing"
)

// The test binary doubles as the benchmark's server: Run re-executes it
// with ChildEnv set, as it re-executes rshm.
func TestMain(m *testing.M) {
	if os.Getenv(ChildEnv) == "1" {
		if err := ServeChild(context.Background(), os.Stdin, os.Stdout); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}
