package handshake

import (
	"net"
	"net/netip"
	"os"
	"testing"
	"time"
)

// A table as Linux prints it (little-endian machine), with an IPv4 row and
// an IPv4-mapped IPv6 row.
const tcp4Table = `  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 00000000:07E8 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 620 1 00000000bf67efd7 100 0 0 10 0
   1: 0100007F:8B38 0100007F:1ED2 01 00000000:00000000 03:00000098 00000000  1000        0 0 3 00000000a6aec86f
`

const tcp6Table = `  sl  local_address                         remote_address                        st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 0000000000000000FFFF00000100007F:9C40 0000000000000000FFFF00000100007F:1ED2 01 00000000:00000000 00:00000000 00000000  1001        0 1 1 0000000000000000 20 4 30 10 -1
   1: 00000000000000000000000001000000:A000 00000000000000000000000001000000:1ED3 01 00000000:00000000 00:00000000 00000000  1002        0 1 1 0000000000000000 20 4 30 10 -1
`

func TestSocketUID(t *testing.T) {
	if !nativeLittle {
		t.Skip("tables below are as a little-endian kernel prints them")
	}
	ap := netip.MustParseAddrPort
	tests := []struct {
		table         string
		local, remote netip.AddrPort
		uid           uint32
		found         bool
	}{
		{tcp4Table, ap("127.0.0.1:35640"), ap("127.0.0.1:7890"), 1000, true},
		{tcp4Table, ap("127.0.0.1:7890"), ap("127.0.0.1:35640"), 0, false}, // the other direction
		{tcp4Table, ap("127.0.0.2:35640"), ap("127.0.0.1:7890"), 0, false},
		{tcp6Table, ap("127.0.0.1:40000"), ap("127.0.0.1:7890"), 1001, true},
		{tcp6Table, ap("[::ffff:127.0.0.1]:40000"), ap("127.0.0.1:7890"), 1001, true},
		{tcp6Table, ap("[::1]:40960"), ap("[::1]:7891"), 1002, true},
	}
	for i, tc := range tests {
		uid, found, err := socketUID([]byte(tc.table), tc.local, tc.remote)
		if err != nil || uid != tc.uid || found != tc.found {
			t.Errorf("%d: got %d, %v, %v; want %d, %v", i, uid, found, err, tc.uid, tc.found)
		}
	}
	if _, _, err := socketUID([]byte("hdr\n 0: zz:1 0100007F:1 01 0 0 0 5\n"), ap("1.2.3.4:1"), ap("1.2.3.4:2")); err == nil {
		t.Error("bad address: no error")
	}
}

func TestParseBootID(t *testing.T) {
	id, err := parseBootID([]byte("a69272cb-6d44-41fb-9e8d-ba796401b192\n"))
	if err != nil || id != testHello().host.bootID {
		t.Fatalf("got %x, %v", id, err)
	}
	for _, bad := range []string{"", "a69272cb6d4441fb9e8dba796401b192", "a69272cb-6d44-41fb-9e8d-ba796401b19z"} {
		if _, err := parseBootID([]byte(bad)); err == nil {
			t.Errorf("%q: no error", bad)
		}
	}
}

// TestPeerUIDLive finds the uid of a real loopback peer in both directions.
func TestPeerUIDLive(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	c, err := net.DialTimeout("tcp", ln.Addr().String(), time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	s, err := ln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	for _, conn := range []net.Conn{c, s} {
		uid, err := peerUID(conn)
		if err != nil || uid != uint32(os.Getuid()) {
			t.Fatalf("got %d, %v; want %d", uid, err, os.Getuid())
		}
	}
}

func FuzzSocketTable(f *testing.F) {
	f.Add([]byte(tcp4Table))
	f.Add([]byte(tcp6Table))
	f.Add([]byte("h\n 1: 0100007F:8B38 0100007F:1ED2 01 0:0 0:0 0 99999999999\n"))
	l, r := netip.MustParseAddrPort("127.0.0.1:35640"), netip.MustParseAddrPort("127.0.0.1:7890")
	f.Fuzz(func(t *testing.T, b []byte) {
		_, _, _ = socketUID(b, l, r)
		_, _ = parseBootID(b)
	})
}
