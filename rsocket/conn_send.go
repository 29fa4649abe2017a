package rsocket

import (
	"context"
	"errors"
	"fmt"
	"runtime/debug"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/rshm/rshm/rsocket/internal/wire"
)

// Send path. Every frame is encoded with a wire.Append* function straight
// into memory claimed from the transport at its exact size; there is no
// intermediate buffer and no send goroutine. Concurrent senders are
// serialized by the transport's Claim. Messages larger than the MTU are
// fragmented here.

var errShortEncode = errors.New("rsocket: internal: encoded size differs from claim")

// claimFaulter is implemented by a Transport whose Claim memory can fault:
// shared memory, a file the peer can truncate under the mapping.
// ClaimFault takes back the claim after the caller's writes into it
// faulted (v is the recovered value) and returns the transport's error
// for it, closing the transport.
type claimFaulter interface {
	ClaimFault(v any) error
}

// guardFault is deferred by every send helper below, which encode frames
// straight into the memory Claim returned, as
//
//	defer c.guardFault(&err, debug.SetPanicOnFault(true))
//
// so that a write into memory that faults (a shared-memory region whose
// file was truncated) panics instead of killing the process with SIGBUS.
// guardFault restores the setting (old), recovers such a fault, takes the
// claim back, fails the connection and makes the fault the helper's error.
// Anything that is not a memory fault (a runtime error carrying the
// faulting address) is panicked again. The transport's own methods catch
// their faults, so one that reaches here came from the claimed memory,
// with the claim held.
func (c *Conn) guardFault(errp *error, old bool) {
	debug.SetPanicOnFault(old)
	v := recover()
	if v == nil {
		return
	}
	a, ok := v.(interface{ Addr() uintptr })
	if !ok {
		panic(v)
	}
	var err error
	if f, ok := c.t.(claimFaulter); ok {
		err = f.ClaimFault(v)
	} else {
		c.t.Abort()
		err = fmt.Errorf("rsocket: memory fault at %#x writing a frame into transport memory", a.Addr())
	}
	c.fail(err)
	*errp = err
}

// callerGuards is implemented by a transport whose claim methods can leave
// their fault guard to the caller (shmtransport.Transport).
type callerGuards interface {
	SetCallerGuards(on bool)
}

// sendSetup sends the SETUP frame f.
func (c *Conn) sendSetup(ctx context.Context, f *wire.Frame) (err error) {
	defer c.guardFault(&err, debug.SetPanicOnFault(true))
	n := wire.Size(f)
	b, err := c.t.Claim(ctx, n)
	if err != nil {
		return err
	}
	return c.commit(wire.Append(b[:0], f), n)
}

func (c *Conn) commit(b []byte, n int) error {
	if len(b) != n {
		c.t.Abort()
		return errShortEncode
	}
	return c.t.Commit(n)
}

// commitMode says how sendRequest commits a frame.
type commitMode uint8

const (
	commitNow     commitMode = iota // commit
	commitBatch                     // commitLater
	commitDriving                   // drivenCommitter, when the transport is one
	commitPolled                    // drivenCommitter's CommitPolled, when the transport is one
)

// commitLater is commit for a frame that may be published with the next
// ones (laterCommitter).
func (c *Conn) commitLater(b []byte, n int) error {
	if len(b) != n {
		c.t.Abort()
		return errShortEncode
	}
	if c.later != nil {
		return c.later.CommitLater(n)
	}
	return c.t.Commit(n)
}

// sendRequestN sends REQUEST_N and, on a transport that batches, flushes it:
// the peer's sender may be out of credits and waiting for it, and the
// receiver still has half its window queued, which is the time this frame
// has to arrive for the stream to keep flowing.
func (c *Conn) sendRequestN(ctx context.Context, id uint32, n uint32) (err error) {
	defer c.guardFault(&err, debug.SetPanicOnFault(true))
	const size = wire.HeaderSize + 4
	b, err := c.t.Claim(ctx, size)
	if err != nil {
		return c.sendErr(err)
	}
	if err := c.commit(wire.AppendRequestN(b[:0], id, n), size); err != nil {
		return err
	}
	if f, ok := c.t.(flusher); ok {
		f.Flush()
	}
	return nil
}

func (c *Conn) sendCancel(ctx context.Context, id uint32) (err error) {
	defer c.guardFault(&err, debug.SetPanicOnFault(true))
	const size = wire.HeaderSize
	b, err := c.t.Claim(ctx, size)
	if err != nil {
		return c.sendErr(err)
	}
	return c.commit(wire.AppendCancel(b[:0], id), size)
}

func (c *Conn) sendError(ctx context.Context, id uint32, code ErrorCode, msg string) (err error) {
	defer c.guardFault(&err, debug.SetPanicOnFault(true))
	msg = errorData(msg, c.set.mtu-wire.HeaderSize-4)

	size := wire.HeaderSize + 4 + len(msg)
	b, err := c.t.Claim(ctx, size)
	if err != nil {
		return c.sendErr(err)
	}
	return c.commit(wire.AppendError(b[:0], id, code, msg), size)
}

// errorData makes msg fit an ERROR frame's Error Data (UTF-8, spec):
// invalid UTF-8 is replaced with U+FFFD, and a message longer than max bytes
// (an ERROR cannot be fragmented, so it must fit the MTU) is cut at the last
// rune boundary at or before max. Received Error Data is not checked.
func errorData(msg string, max int) string {
	msg = strings.ToValidUTF8(msg, "\uFFFD")
	if len(msg) > max {
		for max > 0 && !utf8.RuneStart(msg[max]) {
			max--
		}
		msg = msg[:max]
	}
	return msg
}

func (c *Conn) sendKeepalive(ctx context.Context, respond bool, data []byte) (err error) {
	defer c.guardFault(&err, debug.SetPanicOnFault(true))
	size := wire.HeaderSize + 8 + len(data)
	b, err := c.t.Claim(ctx, size)
	if err != nil {
		return c.sendErr(err)
	}
	return c.commit(wire.AppendKeepalive(b[:0], respond, 0, data), size)
}

func (c *Conn) sendMetadataPush(ctx context.Context, md []byte) (err error) {
	defer c.guardFault(&err, debug.SetPanicOnFault(true))
	size := wire.HeaderSize + len(md)
	if size > c.t.MaxFrameSize() {
		return errFrameTooLarge
	}
	b, err := c.t.Claim(ctx, size)
	if err != nil {
		return c.sendErr(err)
	}
	return c.commit(wire.AppendMetadataPush(b[:0], md), size)
}

// sendErr maps a transport error after the connection closed to its cause.
func (c *Conn) sendErr(err error) error {
	select {
	case <-c.done:
		return c.Err()
	default:
		return err
	}
}

// requestSendErr is sendErr for a requester (never the receive goroutine)
// whose request could not be sent because the transport failed: the
// connection's own error is usually on its way (the peer's ERROR frame, such
// as a setup rejection, still being read when the transport closed), so it
// waits for the receive loop to end, briefly, and returns that error.
func (c *Conn) requestSendErr(ctx context.Context, err error) error {
	if ctx.Err() != nil {
		return c.sendErr(err)
	}
	t := time.NewTimer(requestErrWait)
	defer t.Stop()
	select {
	case <-c.done:
		return c.Err()
	case <-ctx.Done():
	case <-t.C:
	}
	return c.sendErr(err)
}

// requestErrWait bounds how long requestSendErr waits for the connection's
// error after the transport failed.
const requestErrWait = time.Second

// payloadFlagsComplete is the flag set of a response: N, plus C if complete.
func payloadFlagsComplete(complete bool) wire.Flags {
	if complete {
		return wire.FlagNext | wire.FlagComplete
	}
	return wire.FlagNext
}

// sendPayload sends a PAYLOAD message, fragmented if it exceeds the MTU.
// flags holds N and/or C; N goes on every fragment, C only on the last.
func (c *Conn) sendPayload(ctx context.Context, id uint32, flags wire.Flags, p Payload) (err error) {
	defer c.guardFault(&err, debug.SetPanicOnFault(true))
	size := wire.PayloadSize(p.Metadata, p.Data)
	if size <= c.set.mtu {
		b, err := c.t.Claim(ctx, size)
		if err != nil {
			return c.sendErr(err)
		}
		return c.commit(wire.AppendPayload(b[:0], id, flags, p.Metadata, p.Data), size)
	}
	return c.sendFragments(ctx, wire.TypePayload, id, flags, 0, p)
}

// sendItem sends a stream or channel payload (PAYLOAD with N), fragmented
// if it exceeds the MTU; the transport may publish it with the next ones.
func (c *Conn) sendItem(ctx context.Context, id uint32, p Payload) (err error) {
	defer c.guardFault(&err, debug.SetPanicOnFault(true))
	size := wire.PayloadSize(p.Metadata, p.Data)
	if size <= c.set.mtu {
		b, err := c.t.Claim(ctx, size)
		if err != nil {
			return c.sendErr(err)
		}
		return c.commitLater(wire.AppendPayload(b[:0], id, wire.FlagNext, p.Metadata, p.Data), size)
	}
	return c.sendFragments(ctx, wire.TypePayload, id, wire.FlagNext, 0, p)
}

// sendHeld sends len(sizes) frames under one hold of the transport's
// claim (heldCommitter, which the caller checked c.held for): frame i is
// sizes[i] bytes, at most the MTU, and put(b, i) encodes it into b. The
// last frame is committed as CommitLater, which ends the hold. It returns
// how many frames it sent.
func (c *Conn) sendHeld(ctx context.Context, sizes []int, put func(b []byte, i int) []byte) (sent int, err error) {
	defer c.guardFault(&err, debug.SetPanicOnFault(true))
	n := len(sizes)
	for i, sz := range sizes {
		var b []byte
		if i == 0 {
			b, err = c.t.Claim(ctx, sz)
		} else {
			b, err = c.held.ClaimHeld(ctx, sz)
		}
		if err != nil {
			return i, c.sendErr(err)
		}
		b = put(b[:0], i)
		if i == n-1 {
			err = c.commitLater(b, sz)
		} else if len(b) != sz {
			c.t.Abort()
			err = errShortEncode
		} else {
			err = c.held.CommitHold(sz)
		}
		if err != nil {
			return i, err
		}
	}
	return n, nil
}

// sendRequest sends a REQUEST_* frame, fragmented if it exceeds the MTU.
// flags may hold C (a REQUEST_CHANNEL whose requester has nothing more).
// how says how an unfragmented frame is committed: commitNow, commitBatch
// (fire-and-forget, which comes in floods), commitDriving (a blocking
// request-response whose caller drives the receive side next) or
// commitPolled (an asynchronous request-response).
func (c *Conn) sendRequest(ctx context.Context, t wire.FrameType, id uint32, flags wire.Flags, initialN uint32, p Payload, how commitMode) (err error) {
	defer c.guardFault(&err, debug.SetPanicOnFault(true))
	size := wire.RequestSize(t, p.Metadata, p.Data)
	if size <= c.set.mtu {
		b, err := c.t.Claim(ctx, size)
		if err != nil {
			return c.requestSendErr(ctx, err)
		}
		b = wire.AppendRequest(b[:0], t, id, flags, initialN, p.Metadata, p.Data)
		switch {
		case how == commitBatch:
			return c.commitLater(b, size)
		case how == commitDriving && c.driven != nil && len(b) == size:
			return c.driven.CommitDriven(size)
		case how == commitPolled && c.driven != nil && len(b) == size:
			return c.driven.CommitPolled(size)
		}
		return c.commit(b, size)
	}
	return c.sendFragments(ctx, t, id, flags, initialN, p)
}

// sendFragments splits a message into frames of at most the MTU (spec,
// "Fragmentation and Reassembly"): the first frame has the message's type,
// later ones are PAYLOAD frames; every frame but the last has F; metadata is
// sent completely before data and each frame carrying a part of it has M.
// N (for PAYLOAD messages) is set on every PAYLOAD fragment; C only on the
// last frame.
func (c *Conn) sendFragments(ctx context.Context, t wire.FrameType, id uint32, flags wire.Flags, initialN uint32, p Payload) (err error) {
	defer c.guardFault(&err, debug.SetPanicOnFault(true))
	if c.held == nil {
		// The fragments of one message go out together, as under a held
		// claim below: one fragmented message at a time per connection.
		select {
		case c.fragTurn <- struct{}{}:
		case <-ctx.Done():
			return ctx.Err()
		case <-c.done:
			return c.Err()
		}
		defer func() { <-c.fragTurn }()
	}
	md, data := p.Metadata, p.Data
	hasMD := md != nil
	final := flags & wire.FlagComplete
	next := flags & wire.FlagNext
	if t != wire.TypePayload {
		next = wire.FlagNext // follow-up fragments of a request are PAYLOAD(N)
	}
	first := true
	for first || len(md) > 0 || len(data) > 0 {
		ft := wire.TypePayload
		fixed := wire.HeaderSize
		if first {
			ft = t
			if t == wire.TypeRequestStream || t == wire.TypeRequestChannel {
				fixed += 4
			}
		}
		room := c.set.mtu - fixed
		var mdPart []byte
		if hasMD && (len(md) > 0 || first) {
			room -= 3
			k := min(len(md), room)
			mdPart = md[:k:k]
			md = md[k:]
			room -= k
		}
		k := min(len(data), room)
		dataPart := data[:k:k]
		data = data[k:]
		last := len(md) == 0 && len(data) == 0
		var fl wire.Flags
		if !last {
			fl |= wire.FlagFollows
		} else {
			fl |= final
		}
		var size int
		if ft == wire.TypePayload {
			if !first || t == wire.TypePayload {
				fl |= next
			}
			size = wire.PayloadSize(mdPart, dataPart)
		} else {
			size = wire.RequestSize(ft, mdPart, dataPart)
		}
		// Where the transport can hold its claim (heldCommitter), the
		// fragments of one message go out under one hold (elsewhere under
		// fragTurn): a receiver of many concurrent large messages
		// reassembles them one after another instead of all at once,
		// which would take as much memory as all of them (and exceed its
		// MaxReassemblyBytes).
		hold := c.held != nil && !last
		var b []byte
		if first || c.held == nil {
			b, err = c.t.Claim(ctx, size)
		} else {
			b, err = c.held.ClaimHeld(ctx, size)
		}
		if err != nil {
			return c.sendErr(err)
		}
		if ft == wire.TypePayload {
			b = wire.AppendPayload(b[:0], id, fl, mdPart, dataPart)
		} else {
			b = wire.AppendRequest(b[:0], ft, id, fl, initialN, mdPart, dataPart)
		}
		switch {
		case !hold:
			err = c.commit(b, size)
		case len(b) != size:
			c.t.Abort()
			err = errShortEncode
		default:
			err = c.held.CommitHold(size)
		}
		if err != nil {
			return err
		}
		first = false
	}
	return nil
}
