package rsocket_test

import (
	"context"
	"encoding/binary"
	"testing"
	"time"

	"github.com/rshm/rshm/rsocket"
	"github.com/rshm/rshm/rsocket/internal/wire"
	"github.com/rshm/rshm/rsocket/rsockettest"
)

// FuzzConnFrames feeds arbitrary frames to a server Conn after a valid
// SETUP: input is a sequence of [u16 length][frame]. Nothing may panic, and
// the Conn must close once the peer closes (no hang).
func FuzzConnFrames(f *testing.F) {
	seeds := [][]byte{
		wire.AppendRequest(nil, wire.TypeRequestResponse, 1, 0, 0, []byte("m"), []byte("d")),
		wire.AppendRequest(nil, wire.TypeRequestFNF, 3, 0, 0, nil, []byte("d")),
		wire.AppendRequest(nil, wire.TypeRequestStream, 5, 0, 2, []byte("4"), []byte("d")),
		wire.AppendRequest(nil, wire.TypeRequestChannel, 7, 0, 2, nil, []byte("d")),
		wire.AppendRequest(nil, wire.TypeRequestChannel, 9, wire.FlagFollows, 2, []byte("m"), nil),
		wire.AppendPayload(nil, 9, wire.FlagNext|wire.FlagFollows, []byte("m"), []byte("d")),
		wire.AppendPayload(nil, 9, wire.FlagNext|wire.FlagComplete, nil, []byte("d")),
		wire.AppendPayload(nil, 7, wire.FlagNext, nil, []byte("d")),
		wire.AppendRequestN(nil, 5, 10),
		wire.AppendCancel(nil, 5),
		wire.AppendError(nil, 7, wire.ErrApplicationError, "e"),
		wire.AppendKeepalive(nil, true, 0, []byte("k")),
		wire.AppendMetadataPush(nil, []byte("p")),
		wire.AppendLease(nil, 1, 1, nil),
		wire.AppendError(nil, 0, wire.ErrConnectionClose, "bye"),
		wire.AppendHeader(nil, 0, 0x30, wire.FlagIgnore),
	}
	var all []byte
	for _, s := range seeds {
		one := binary.BigEndian.AppendUint16(nil, uint16(len(s)))
		one = append(one, s...)
		f.Add(one)
		all = append(all, one...)
	}
	f.Add(all)
	f.Fuzz(func(t *testing.T, in []byte) {
		ct, st := rsocket.Pipe(rsocket.PipeConfig{})
		defer ct.Close()
		r := newRaw(t, ct)
		go func() {
			for range r.frames {
			}
		}()
		connc := make(chan *rsocket.Conn, 1)
		go func() {
			c, _ := rsocket.Server(context.Background(), st, rsocket.ServerConfig{MTU: 64, MaxMessageSize: 256, Prefetch: 2,
				Acceptor: func(context.Context, rsocket.SetupInfo, *rsocket.Conn) (rsocket.Handler, error) {
					return &rsockettest.Echo{}, nil
				}})
			connc <- c
		}()
		r.send(setupFrame(0, 1))
		c := <-connc
		if c == nil {
			t.Fatal("setup refused")
		}
		for len(in) >= 2 {
			n := int(binary.BigEndian.Uint16(in))
			in = in[2:]
			if n > len(in) {
				n = len(in)
			}
			b, err := ct.Claim(context.Background(), n)
			if err != nil {
				break // the conn closed the pipe
			}
			copy(b, in[:n])
			ct.Commit(n)
			in = in[n:]
		}
		ct.Close()
		select {
		case <-c.Done():
		case <-time.After(5 * time.Second):
			t.Fatal("conn did not close after the peer closed")
		}
	})
}
