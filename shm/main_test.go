package shm

import (
	"encoding/hex"
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/rshm/rshm/internal/testchild"
)

// TestMain lets tests run the test binary as a second process
// (testchild.Start) in these roles:
//
//	confirm DIR NAME NONCE  open region NAME, Confirm(NONCE), exit
//	create DIR              create a region, print its name, sleep until killed
//	echo DIR NAME           open duplex NAME as the client, read one record
//	                        from ServerToClient, write it back on ClientToServer
func TestMain(m *testing.M) {
	testchild.Main(map[string]func(args []string) int{
		"confirm": childRole(childConfirm, 3),
		"create":  childRole(childCreate, 1),
		"echo":    childRole(childEcho, 2),
	})
	os.Exit(m.Run())
}

// childRole adapts a child's function of n arguments to a testchild role.
func childRole(fn func(args []string) error, n int) func(args []string) int {
	return func(args []string) int {
		err := fmt.Errorf("want %d arguments, got %q", n, args)
		if len(args) == n {
			err = fn(args)
		}
		if err != nil {
			fmt.Fprintln(os.Stderr, "child:", err)
			return 1
		}
		return 0
	}
}

func childConfirm(args []string) error {
	r, err := Open(Config{Dir: args[0]}, args[1])
	if err != nil {
		return err
	}
	defer r.Close()
	var n [NonceSize]byte
	if _, err := hex.Decode(n[:], []byte(args[2])); err != nil {
		return err
	}
	return r.Confirm(n)
}

func childCreate(args []string) error {
	r, err := Create(Config{Dir: args[0]}, 4096)
	if err != nil {
		return err
	}
	fmt.Println(r.Name())
	time.Sleep(time.Minute)
	return fmt.Errorf("not killed")
}

func childEcho(args []string) error {
	d, err := OpenDuplex(Config{Dir: args[0]}, args[1])
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
