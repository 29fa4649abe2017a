package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

// KafkaBinEnv names the environment variable that gives the rshm-kafka
// binary's path.
const KafkaBinEnv = "RSHM_KAFKA_BIN"

// kafkaName is the binary's file name next to the running executable.
const kafkaName = "rshm-kafka"

// KafkaURL reports whether args, the arguments of a subcommand, address a
// kafka:// URL: rshm request and rshm serve then run rshm-kafka instead
// (see Kafka).
func KafkaURL(args []string) bool {
	for _, a := range args {
		if len(a) >= len("kafka://") && strings.EqualFold(a[:len("kafka://")], "kafka://") {
			return true
		}
	}
	return false
}

// Kafka runs "rshm-kafka CMD ARGS..." for a subcommand addressed at a
// kafka:// URL: the Kafka transport lives in the nested module
// kafkatransport so that the Kafka client is no dependency of the rshm
// module, and its binary, rshm-kafka, implements request and serve over
// it with the same flags (those it does not know are its usage errors).
// It looks for the binary at $RSHM_KAFKA_BIN, else next to the running
// executable, passes stdio through and returns the binary's exit status.
// ^C reaches it as SIGINT: it stops as rshm serve does.
func Kafka(ctx context.Context, cmd string, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	bin := os.Getenv(KafkaBinEnv)
	if bin == "" {
		exe, err := os.Executable()
		if err == nil {
			bin = filepath.Join(filepath.Dir(exe), kafkaName)
		}
	}
	if st, err := os.Stat(bin); bin == "" || err != nil || !st.Mode().IsRegular() {
		fmt.Fprintf(stderr, "rshm %s: kafka:// needs %s (not found at %q): run make kafka-bench, or set %s\n", cmd, kafkaName, bin, KafkaBinEnv)
		return 1
	}
	c := exec.CommandContext(ctx, bin, append([]string{cmd}, args...)...)
	c.Stdin, c.Stdout, c.Stderr = stdin, stdout, stderr
	c.Cancel = func() error { return c.Process.Signal(syscall.SIGINT) }
	c.WaitDelay = 10 * time.Second
	err := c.Run()
	var ee *exec.ExitError
	switch {
	case err == nil:
		return 0
	case errors.As(err, &ee) && ee.ExitCode() >= 0:
		return ee.ExitCode()
	case ctx.Err() != nil:
		return 0 // stopped by ^C, as rshm serve
	}
	fmt.Fprintf(stderr, "rshm %s: %s: %v\n", cmd, kafkaName, err)
	return 1
}
