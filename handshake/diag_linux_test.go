package handshake

import (
	"context"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
	"unsafe"

	"github.com/rshm/rshm/internal/testchild"
	"golang.org/x/sys/unix"
)

// Requests and answers captured from Linux 6.18 on x86-64 (little-endian)
// with the seq numbers below. The sockets were owned by root, so uid reads
// 0; withUID patches in another owner to show where the field sits.
const (
	// Lookup of 127.0.0.1:38253 -> 127.0.0.1:37662, AF_INET, seq 7.
	capReq4 = "4800000014000100070000000000000002060000ffffffff956d931e7f0000010000000000000000000000007f00000100000000000000000000000000000000ffffffffffffffff"
	capAns4 = "7c0000001400000007000000bb0a000002010200956d931e7f0000010000000000000000000000007f000001000000000000000000000000000000000210000000000000983a0000000000000000000000000000b8320500050008000000000008000f00000000000c00150001000000000000000600160052000000"
	// The same socket asked for with AF_INET6 and IPv4-mapped addresses:
	// the kernel looks it up as IPv4 and answers AF_INET.
	capReq4in6 = "480000001400010007000000000000000a060000ffffffff956d931e00000000000000000000ffff7f00000100000000000000000000ffff7f00000100000000ffffffffffffffff"
	// Lookup of [::1]:46769 -> [::1]:45512, AF_INET6, seq 7.
	capReq6 = "480000001400010007000000000000000a060000ffffffffb6b1b1c8000000000000000000000000000000010000000000000000000000000000000100000000ffffffffffffffff"
	capAns6 = "7c0000001400000007000000bb0a00000a010200b6b1b1c80000000000000000000000000000000100000000000000000000000000000001000000000410000000000000983a0000000000000000000000000000c0320500050008000000000008000f00000000000c00150001000000000000000600160012000000"
	// A socket of a listener on [::] serving an IPv4 client, found by an
	// AF_INET lookup of 127.0.0.1:46777 -> 127.0.0.1:43466: an AF_INET6
	// record with mapped addresses.
	capAnsMapped = "7c0000001400000007000000bb0a00000a010200b6b9a9ca00000000000000000000ffff7f00000100000000000000000000ffff7f000001000000000610000000000000983a0000000000000000000000000000c6320500050008000000000008000f00000000000c00150001000000000000000600160012000000"
	// No socket 127.0.0.1:1 -> 127.0.0.1:2 (seq 9): NLMSG_ERROR -ENOENT
	// and the request echoed.
	capNoent = "5c0000000200000009000000990c0000feffffff4800000014000100090000000000000002060000ffffffff000100027f0000010000000000000000000000007f00000100000000000000000000000000000000ffffffffffffffff"
	// Address family 99 (seq 9): NLMSG_ERROR -EINVAL.
	capEinval = "5c0000000200000009000000990c0000eaffffff4800000014000100090000000000000063060000ffffffff0001000200000000000000000000ffff7f00000100000000000000000000ffff7f00000100000000ffffffffffffffff"
)

func unhex(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// withUID returns a copy of answer b with uid set in its inet_diag_msg.
func withUID(b []byte, uid uint32) []byte {
	b = append([]byte(nil), b...)
	binary.NativeEndian.PutUint32(b[nlHdrLen+msgUID:], uid)
	return b
}

// inetDiagSockID and inetDiagMsg mirror linux/inet_diag.h, to check the
// offsets used by the codec against the compiler's layout of the C
// structures.
type inetDiagSockID struct {
	sport, dport uint16
	src, dst     [4]uint32
	ifindex      uint32
	cookie       [2]uint32
}

type inetDiagReqV2 struct {
	family, protocol, ext, pad uint8
	states                     uint32
	id                         inetDiagSockID
}

type inetDiagMsg struct {
	family, state, timer, retrans uint8
	id                            inetDiagSockID
	expires, rqueue, wqueue, uid  uint32
	inode                         uint32
}

func TestDiagLayout(t *testing.T) {
	var id inetDiagSockID
	var req inetDiagReqV2
	var msg inetDiagMsg
	tests := []struct {
		name      string
		got, want uintptr
	}{
		{"nlmsghdr", nlHdrLen, unix.SizeofNlMsghdr},
		{"sockid", diagSockIDLen, unsafe.Sizeof(id)},
		{"sockid.sport", idSport, unsafe.Offsetof(id.sport)},
		{"sockid.dport", idDport, unsafe.Offsetof(id.dport)},
		{"sockid.src", idSrc, unsafe.Offsetof(id.src)},
		{"sockid.dst", idDst, unsafe.Offsetof(id.dst)},
		{"sockid.if", idIf, unsafe.Offsetof(id.ifindex)},
		{"sockid.cookie", idCookie, unsafe.Offsetof(id.cookie)},
		{"req", diagReqLen, unsafe.Sizeof(req)},
		{"req.family", reqFamily - nlHdrLen, unsafe.Offsetof(req.family)},
		{"req.protocol", reqProto - nlHdrLen, unsafe.Offsetof(req.protocol)},
		{"req.ext", 2, unsafe.Offsetof(req.ext)},
		{"req.pad", 3, unsafe.Offsetof(req.pad)},
		{"req.states", reqStates - nlHdrLen, unsafe.Offsetof(req.states)},
		{"req.id", reqID - nlHdrLen, unsafe.Offsetof(req.id)},
		{"whole request", reqEnd, 72},
		{"msg", diagMsgLen, unsafe.Sizeof(msg)},
		{"msg.family", msgFamily, unsafe.Offsetof(msg.family)},
		{"msg.state", msgState, unsafe.Offsetof(msg.state)},
		{"msg.timer", 2, unsafe.Offsetof(msg.timer)},
		{"msg.retrans", 3, unsafe.Offsetof(msg.retrans)},
		{"msg.expires", msgID + diagSockIDLen, unsafe.Offsetof(msg.expires)},
		{"msg.rqueue", msgID + diagSockIDLen + 4, unsafe.Offsetof(msg.rqueue)},
		{"msg.wqueue", msgID + diagSockIDLen + 8, unsafe.Offsetof(msg.wqueue)},
		{"msg.id", msgID, unsafe.Offsetof(msg.id)},
		{"msg.uid", msgUID, unsafe.Offsetof(msg.uid)},
		{"msg.uid is 64", msgUID, 64},
		{"msg.inode", msgInode, unsafe.Offsetof(msg.inode)},
	}
	for _, tc := range tests {
		if tc.got != tc.want {
			t.Errorf("%s: got %d; want %d", tc.name, tc.got, tc.want)
		}
	}
}

func TestAppendDiagRequest(t *testing.T) {
	if !nativeLittle {
		t.Skip("captures are from a little-endian machine")
	}
	ap := netip.MustParseAddrPort
	tests := []struct {
		family   uint8
		src, dst netip.AddrPort
		want     string
	}{
		{unix.AF_INET, ap("127.0.0.1:38253"), ap("127.0.0.1:37662"), capReq4},
		{unix.AF_INET6, ap("[::ffff:127.0.0.1]:38253"), ap("[::ffff:127.0.0.1]:37662"), capReq4in6},
		{unix.AF_INET6, ap("[::1]:46769"), ap("[::1]:45512"), capReq6},
	}
	for i, tc := range tests {
		prefix := []byte("x")
		got := appendDiagRequest(prefix, 7, tc.family, tc.src, tc.dst)
		if string(got[:1]) != "x" || hex.EncodeToString(got[1:]) != tc.want {
			t.Errorf("%d: got %x; want x+%s", i, got, tc.want)
		}
	}
}

func TestParseDiagReply(t *testing.T) {
	if !nativeLittle {
		t.Skip("captures are from a little-endian machine")
	}
	ap := netip.MustParseAddrPort
	tests := []struct {
		answer   []byte
		family   uint8
		src, dst netip.AddrPort
		uid      uint32
		inode    uint32
	}{
		{unhex(t, capAns4), unix.AF_INET, ap("127.0.0.1:38253"), ap("127.0.0.1:37662"), 0, 340664},
		{withUID(unhex(t, capAns4), 1000), unix.AF_INET, ap("127.0.0.1:38253"), ap("127.0.0.1:37662"), 1000, 340664},
		{withUID(unhex(t, capAns6), 65534), unix.AF_INET6, ap("[::1]:46769"), ap("[::1]:45512"), 65534, 340672},
		{withUID(unhex(t, capAnsMapped), 1001), unix.AF_INET6, ap("[::ffff:127.0.0.1]:46777"), ap("[::ffff:127.0.0.1]:43466"), 1001, 340678},
	}
	for i, tc := range tests {
		r, err := parseDiagReply(tc.answer, 7)
		if err != nil {
			t.Errorf("%d: %v", i, err)
			continue
		}
		if r.family != tc.family || r.state != 1 || r.src != tc.src || r.dst != tc.dst || r.uid != tc.uid || r.inode != tc.inode {
			t.Errorf("%d: got %+v; want family %d established %v -> %v uid %d inode %d", i, r, tc.family, tc.src, tc.dst, tc.uid, tc.inode)
		}
		// The owner is that of the socket asked for, mapped or not.
		if uid, err := r.owner(unmap(tc.src), unmap(tc.dst)); err != nil || uid != tc.uid {
			t.Errorf("%d: owner: got %d, %v; want %d", i, uid, err, tc.uid)
		}
		if _, err := r.owner(tc.dst, tc.src); err == nil {
			t.Errorf("%d: owner of the other direction: no error", i)
		}
	}

	if _, err := parseDiagReply(unhex(t, capNoent), 9); !errors.Is(err, errDiagNotFound) {
		t.Errorf("ENOENT: got %v; want errDiagNotFound", err)
	}
	if _, err := parseDiagReply(unhex(t, capEinval), 9); !errors.Is(err, syscall.EINVAL) {
		t.Errorf("EINVAL: got %v; want EINVAL", err)
	}
}

func TestParseDiagReplyMalformed(t *testing.T) {
	ans := unhex(t, capAns4)
	patch := func(off int, v uint32, size int) []byte {
		b := append([]byte(nil), ans...)
		switch size {
		case 1:
			b[off] = byte(v)
		case 2:
			binary.NativeEndian.PutUint16(b[off:], uint16(v))
		default:
			binary.NativeEndian.PutUint32(b[off:], v)
		}
		return b
	}
	ack := unhex(t, capNoent)
	binary.NativeEndian.PutUint32(ack[nlHdrLen:], 0)
	shortErr := unhex(t, capNoent)[:nlHdrLen+2]
	binary.NativeEndian.PutUint32(shortErr, uint32(len(shortErr)))
	tests := []struct {
		name string
		b    []byte
		seq  uint32
	}{
		{"empty", nil, 7},
		{"header only", ans[:nlHdrLen], 7},
		{"wrong seq", ans, 8},
		{"length past the end", patch(0, uint32(len(ans)+1), 4), 7},
		{"length below the header", patch(0, nlHdrLen-1, 4), 7},
		{"length cuts the record", patch(0, nlHdrLen+diagMsgLen-1, 4), 7},
		{"type NLMSG_DONE", patch(4, unix.NLMSG_DONE, 2), 7},
		{"family 99", patch(nlHdrLen+msgFamily, 99, 1), 7},
		{"acknowledgement", ack, 9},
		{"short error", shortErr, 9},
	}
	for _, tc := range tests {
		if r, err := parseDiagReply(tc.b, tc.seq); err == nil {
			t.Errorf("%s: got %+v; want an error", tc.name, r)
		}
	}
	// Every truncation of a good answer is refused (the length field
	// then points past the end).
	for n := range len(ans) {
		if _, err := parseDiagReply(ans[:n], 7); err == nil {
			t.Errorf("answer cut to %d bytes: no error", n)
		}
	}
	// Sockets in states without an owner.
	r, err := parseDiagReply(ans, 7)
	if err != nil {
		t.Fatal(err)
	}
	for _, st := range []uint8{tcpTimeWait, tcpNewSynRecv} {
		r.state = st
		if _, err := r.owner(r.src, r.dst); err == nil {
			t.Errorf("state %d: no error", st)
		}
	}
}

func FuzzDiagReply(f *testing.F) {
	for _, s := range []string{capAns4, capAns6, capAnsMapped, capNoent, capEinval, capReq4} {
		b, err := hex.DecodeString(s)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b, uint32(7))
		f.Add(b, uint32(9))
	}
	f.Fuzz(func(t *testing.T, b []byte, seq uint32) {
		r, err := parseDiagReply(b, seq)
		if err != nil {
			return
		}
		if len(b) < nlHdrLen+diagMsgLen {
			t.Fatalf("accepted a %d-byte answer", len(b))
		}
		if got := binary.NativeEndian.Uint32(b[nlHdrLen+msgUID:]); r.uid != got {
			t.Fatalf("uid %d; bytes say %d", r.uid, got)
		}
		if !r.src.IsValid() || !r.dst.IsValid() {
			t.Fatalf("invalid addresses in %+v", r)
		}
		_, _ = r.owner(r.src, r.dst)
	})
}

// loopbackPair returns both ends of a TCP connection to a listener on
// lnAddr, dialed at dialHost; it skips when the address family is missing.
func loopbackPair(t *testing.T, lnAddr, dialHost string) (client, server net.Conn) {
	t.Helper()
	ln, err := net.Listen("tcp", lnAddr)
	if err != nil {
		t.Skipf("listen %s: %v", lnAddr, err)
	}
	defer ln.Close()
	port := ln.Addr().(*net.TCPAddr).Port
	c, err := net.DialTimeout("tcp", net.JoinHostPort(dialHost, strconv.Itoa(port)), time.Second)
	if err != nil {
		t.Skipf("dial %s: %v", dialHost, err)
	}
	t.Cleanup(func() { c.Close() })
	s, err := ln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return c, s
}

// TestDiagMatchesProc asks sock_diag and /proc/net/tcp{,6} for the owner
// of both ends of live loopback connections: IPv4, IPv6, and an IPv6
// listener on [::] serving an IPv4 client (mapped addresses on its side).
func TestDiagMatchesProc(t *testing.T) {
	for _, nw := range []struct{ name, ln, dial string }{
		{"ipv4", "127.0.0.1:0", "127.0.0.1"},
		{"ipv6", "[::1]:0", "::1"},
		{"mapped", "[::]:0", "127.0.0.1"},
	} {
		t.Run(nw.name, func(t *testing.T) {
			c, s := loopbackPair(t, nw.ln, nw.dial)
			for _, conn := range []net.Conn{c, s} {
				local, _ := addrPort(conn.LocalAddr())
				remote, _ := addrPort(conn.RemoteAddr())
				d, err := diagUID(remote, local)
				if err != nil {
					t.Fatalf("sock_diag %v -> %v: %v", remote, local, err)
				}
				p, err := procUID(remote, local)
				if err != nil {
					t.Fatalf("/proc %v -> %v: %v", remote, local, err)
				}
				if d != p || d != uint32(os.Getuid()) {
					t.Errorf("%v -> %v: sock_diag says %d, /proc %d; we are %d", remote, local, d, p, os.Getuid())
				}
			}
			// A 4-tuple nobody holds.
			local, _ := addrPort(c.LocalAddr())
			gone := netip.AddrPortFrom(local.Addr(), 1)
			if _, err := diagUID(gone, local); !errors.Is(err, errDiagNotFound) {
				t.Errorf("no such socket: got %v; want errDiagNotFound", err)
			}
		})
	}
}

// TestDiagOtherUser runs, as root, a child owned by uid 65534 that holds
// a connection to us: sock_diag and /proc must both name 65534 as the
// owner of its end, and peerUID must return it.
func TestDiagOtherUser(t *testing.T) {
	const nobody = 65534
	if os.Getuid() != 0 {
		t.Skip("needs root to run a child as another user")
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	// The go tool's build directory is private to root: run a copy.
	bin, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cmd := testchild.Command(context.Background(), "hold", ln.Addr().String())
	cmd.Path = copyExecutable(t, bin)
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: nobody, Gid: nobody}}
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	var out strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Skipf("cannot run the test binary as uid %d: %v", nobody, err)
	}
	defer func() {
		stdin.Close()
		if err := cmd.Wait(); err != nil {
			t.Errorf("child: %v: %s", err, out.String())
		}
	}()
	_ = ln.(*net.TCPListener).SetDeadline(time.Now().Add(5 * time.Second))
	s, err := ln.Accept()
	if err != nil {
		t.Fatalf("accept: %v (child said %q)", err, out.String())
	}
	defer s.Close()
	local, _ := addrPort(s.LocalAddr())
	remote, _ := addrPort(s.RemoteAddr())
	d, derr := diagUID(remote, local)
	p, perr := procUID(remote, local)
	u, uerr := peerUID(s)
	if derr != nil || perr != nil || uerr != nil || d != nobody || p != nobody || u != nobody {
		t.Errorf("sock_diag %d, %v; /proc %d, %v; peerUID %d, %v; want %d", d, derr, p, perr, u, uerr, nobody)
	}
}

// copyExecutable copies the file at path into a fresh directory that any
// user may enter and returns the copy's path.
func copyExecutable(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	// t.TempDir makes dir and its parent, both private to us.
	for _, d := range []string{filepath.Dir(dir), dir} {
		if err := os.Chmod(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	bin := filepath.Join(dir, "child.test")
	if err := os.WriteFile(bin, b, 0o755); err != nil {
		t.Fatal(err)
	}
	return bin
}

// childHold (ADDR) dials the parent at ADDR and holds the connection until
// stdin ends.
func childHold(args []string) int {
	c, err := net.Dial("tcp", args[0])
	if err != nil {
		os.Stdout.WriteString(err.Error())
		return 1
	}
	defer c.Close()
	var b [1]byte
	_, _ = os.Stdin.Read(b[:])
	return 0
}

func BenchmarkPeerUID(b *testing.B) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	defer ln.Close()
	c, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	s, err := ln.Accept()
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	local, _ := addrPort(s.LocalAddr())
	remote, _ := addrPort(s.RemoteAddr())
	for _, bc := range []struct {
		name string
		f    func(src, dst netip.AddrPort) (uint32, error)
	}{{"sock_diag", diagUID}, {"proc", procUID}} {
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := bc.f(remote, local); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
