package shm

import (
	"bufio"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"testing"
	"time"
)

// childEnv selects what a re-executed test binary does instead of running
// tests; see TestMain.
const childEnv = "RSHM_SHM_TEST_CHILD"

// TestMain lets tests re-exec the test binary as a second process:
//
//	confirm DIR NAME NONCE  open region NAME, Confirm(NONCE), exit
//	create DIR - -          create a region, print its name, sleep until killed
//	echo DIR NAME -         open duplex NAME as the client, read one record
//	                        from ServerToClient, write it back on ClientToServer
func TestMain(m *testing.M) {
	if mode := os.Getenv(childEnv); mode != "" {
		if err := child(mode, os.Args[len(os.Args)-3:]); err != nil {
			fmt.Fprintln(os.Stderr, "child:", err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

func child(mode string, args []string) error {
	dir, name, arg := args[0], args[1], args[2]
	cfg := Config{Dir: dir}
	switch mode {
	case "confirm":
		r, err := Open(cfg, name)
		if err != nil {
			return err
		}
		defer r.Close()
		var n [NonceSize]byte
		if _, err := hex.Decode(n[:], []byte(arg)); err != nil {
			return err
		}
		return r.Confirm(n)
	case "create":
		r, err := Create(cfg, 4096)
		if err != nil {
			return err
		}
		fmt.Println(r.Name())
		time.Sleep(time.Minute)
		return fmt.Errorf("not killed")
	case "echo":
		d, err := OpenDuplex(cfg, name)
		if err != nil {
			return err
		}
		defer d.Close()
		in, out := d.ServerToClient(), d.ClientToServer()
		deadline := time.Now().Add(5 * time.Second)
		for time.Now().Before(deadline) {
			if !in.WaitData(100 * time.Millisecond) {
				continue
			}
			var werr error
			n, err := in.Read(func(rec []byte) bool {
				werr = out.Write(rec)
				return false
			})
			if err != nil {
				return err
			}
			if n > 0 {
				return werr
			}
		}
		return fmt.Errorf("no record")
	}
	return fmt.Errorf("unknown mode %q", mode)
}

// startChild re-execs the test binary in the given mode; args are always
// three (use "-" for unused ones).
func startChild(t *testing.T, mode string, args ...string) (*exec.Cmd, *bufio.Reader) {
	t.Helper()
	if len(args) != 3 {
		t.Fatalf("startChild wants 3 args, got %d", len(args))
	}
	cmd := exec.Command(os.Args[0], append([]string{"-test.run=^$"}, args...)...)
	cmd.Env = append(os.Environ(), childEnv+"="+mode)
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
	})
	return cmd, bufio.NewReader(out)
}
