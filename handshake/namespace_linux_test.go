package handshake

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"

	"github.com/rshm/rshm/internal/testchild"
	"github.com/rshm/rshm/rsocket"
	"github.com/rshm/rshm/shm"
)

// TestPodNamespaces runs a server and its clients as two containers of one
// pod would: each process in PID and mount namespaces of its own, as a
// user of its own, the users sharing a group, the processes sharing the
// loopback network and one directory for regions. A client that shares
// the directory talks over shared memory; one that has a directory of its
// own falls back to TCP and says why.
func TestPodNamespaces(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root: it makes PID and mount namespaces and runs children as other users")
	}
	const group, serverUID, clientUID = 20000, 20001, 20002
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	exe := copyExecutable(t, self)
	shared := groupDir(t, group)
	private := groupDir(t, group)
	addr := podServer(t, exe, serverUID, group, shared, fmt.Sprint(group))

	out := podRun(t, exe, clientUID, group, "groupclient", addr, shared, fmt.Sprint(group), "auto")
	t.Logf("client sharing the directory:\n%s", out)
	if !strings.Contains(out, "kind shm") || !strings.Contains(out, "answer hello") {
		t.Fatalf("client sharing the directory:\n%s", out)
	}
	out = podRun(t, exe, clientUID, group, "groupclient", addr, private, fmt.Sprint(group), "auto")
	t.Logf("client with a directory of its own:\n%s", out)
	if !strings.Contains(out, "kind tcp") || !strings.Contains(out, "shm directory") || !strings.Contains(out, "answer hello") {
		t.Fatalf("client with a directory of its own: want TCP and the reason:\n%s", out)
	}
}

// childGroupClient (ADDR DIR GROUP MODE) dials ADDR with regions in DIR
// shared with GROUP, in MODE ("auto" or "shm"), makes one request-response
// and prints the kind, the fallback reason if any, and the answer.
func childGroupClient(args []string) int {
	ctx := context.Background()
	cfg := Config{SHM: shm.Config{Dir: args[1], Group: args[2]}}
	if args[3] == "shm" {
		cfg.Mode = SHMOnly
	}
	cfg.OnFallback = func(err error) { fmt.Println("fallback", err) }
	t, k, err := Dial(ctx, args[0], cfg)
	if err != nil {
		fmt.Println("error", err)
		return 1
	}
	fmt.Println("kind", k)
	c, err := rsocket.Client(ctx, t, rsocket.ClientConfig{})
	if err != nil {
		fmt.Println("error", err)
		return 1
	}
	defer c.Close()
	p, err := c.RequestResponse(ctx, rsocket.Payload{Data: []byte("hello")})
	if err != nil {
		fmt.Println("error", err)
		return 1
	}
	fmt.Println("answer", string(p.Data))
	return 0
}

// groupDir makes a directory that the members of group can use.
func groupDir(t *testing.T, group int) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "rshm-shared-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if err := os.Chown(dir, 0, group); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(dir, 0o770|os.ModeSetgid); err != nil {
		t.Fatal(err)
	}
	return dir
}

// podCommand is the test binary (its copy exe) as a child playing role in
// new PID and mount namespaces, as uid (with a primary group of the same
// number) and a member of group.
func podCommand(ctx context.Context, exe string, uid, group int, role string, args ...string) *exec.Cmd {
	cmd := testchild.Command(ctx, role, args...)
	cmd.Path, cmd.Args[0], cmd.Dir = exe, exe, "/"
	cmd.SysProcAttr = &syscall.SysProcAttr{
		Cloneflags: syscall.CLONE_NEWPID | syscall.CLONE_NEWNS,
		Credential: &syscall.Credential{Uid: uint32(uid), Gid: uint32(uid), Groups: []uint32{uint32(group)}},
	}
	return cmd
}

// podRun runs a pod child to its end and returns its output.
func podRun(t *testing.T, exe string, uid, group int, role string, args ...string) string {
	t.Helper()
	out, err := podCommand(ctxT(t), exe, uid, group, role, args...).CombinedOutput()
	if err != nil {
		t.Fatalf("%s: %v\n%s", role, err, out)
	}
	return string(out)
}

// podServer starts a pod child that serves and returns the address it
// printed; the child is killed when the test ends.
func podServer(t *testing.T, exe string, uid, group int, args ...string) string {
	t.Helper()
	cmd := podCommand(context.Background(), exe, uid, group, "groupserver", args...)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Skipf("cannot start a child in new namespaces: %v", err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	})
	line, err := bufio.NewReader(stdout).ReadString('\n')
	addr, ok := strings.CutPrefix(strings.TrimSpace(line), "addr ")
	if err != nil || !ok {
		t.Fatalf("the server printed %q: %v", line, err)
	}
	go io.Copy(io.Discard, stdout) // its "accepted" lines
	return addr
}
