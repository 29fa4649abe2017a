package rsocket

import (
	"encoding/binary"
	"errors"
	"io"

	"github.com/rshm/rshm/rsocket/internal/wire"
)

// Receive path. The receive goroutine parses each frame in place (wire.Parse
// into a Frame reused by the connection) and dispatches it by type. Payload
// views handed on are valid only during the dispatch: inbound stream
// payloads are copied into the stream's reusable queue, handler arguments
// are cloned for the handler's goroutine, inline and async callbacks get
// the view itself.
//
// "Handling the Unexpected" (spec): frames for unknown or finished streams,
// a request on a stream id in use, METADATA_PUSH on a stream other than 0,
// PAYLOAD, CANCEL or REQUEST_N on stream 0, a second SETUP, an unknown
// frame type with I set, a REQUEST_*, PAYLOAD or EXT frame whose metadata
// length runs past its end, and an ERROR with a setup-class code on stream 0
// at a server or at an established client are ignored. An unknown type
// without I, another malformed frame, and a stream-0 frame on another
// stream are connection errors (ERROR[CONNECTION_ERROR] on stream 0, then
// close).

func (c *Conn) onFrame(frame []byte) error {
	if r := c.res; r != nil {
		return r.deliver(c.resGen, frame)
	}
	return c.handleFrame(frame)
}

// handleFrame parses and dispatches one frame (through the resumable
// session's deliver, if there is one).
func (c *Conn) handleFrame(frame []byte) error {
	if !c.recvSeen.Load() {
		c.recvSeen.Store(true) // a plain load per frame; a store per tick
	}
	if c.established && c.setupSeen && len(frame) >= wire.HeaderSize {
		// A stream's flood is PAYLOAD frames with N (or N and C) and no
		// metadata, for a stream not in reassembly: hand the data on
		// without the general parse and dispatch below, which would do
		// the same (an unknown stream ignores the frame either way).
		id := binary.BigEndian.Uint32(frame) & wire.MaxStreamID
		tf := binary.BigEndian.Uint16(frame[4:])
		if id != 0 && (tf == payloadN || tf == payloadNC) {
			s := c.lookup(id)
			if s == nil {
				return nil
			}
			if !s.asm.active {
				if tf == payloadN && s == c.drivenBy && s.kind != wire.TypeRequestResponse {
					c.pushHeld(id, s, frame[wire.HeaderSize:])
					return nil
				}
				c.letGo()
				flags := wire.FlagNext
				if tf == payloadNC {
					flags |= wire.FlagComplete
				}
				c.deliver(id, s, flags, nil, frame[wire.HeaderSize:], false)
				return nil
			}
		}
	}
	c.letGo()
	if !c.setupSeen && !c.setupTurn() {
		<-c.done // the setup deadline closes the connection
		return errStop
	}
	f := &c.rf
	if err := wire.Parse(frame, f); err != nil {
		if errors.Is(err, wire.ErrUnknownType) && f.Flags&wire.FlagIgnore != 0 {
			return nil
		}
		if c.setupSeen && errors.Is(err, wire.ErrMetadataPastEnd) {
			return nil // "the entire frame MUST be ignored"
		}
		if !c.setupSeen {
			c.rejectSetup(CodeInvalidSetup, "first frame must be SETUP: "+err.Error())
			return errStop
		}
		c.connError(CodeConnectionError, err.Error())
		return errStop
	}
	if err := f.CheckStream(); err != nil {
		switch f.Type {
		case wire.TypeMetadataPush, wire.TypePayload, wire.TypeCancel, wire.TypeRequestN:
			// METADATA_PUSH on a stream, and PAYLOAD, CANCEL or
			// REQUEST_N on stream 0 (a stream that does not exist):
			// ignored, as "Handling the Unexpected" says.
			return nil
		}
		c.connError(CodeConnectionError, err.Error())
		return errStop
	}
	if !c.established && f.Type != wire.TypeError {
		c.established = true // a server that rejects a SETUP sends ERROR first
	}
	if !c.setupSeen {
		return c.onSetup(f)
	}
	if f.StreamID == 0 {
		return c.onConnFrame(f)
	}
	switch f.Type {
	case wire.TypeRequestResponse, wire.TypeRequestFNF, wire.TypeRequestStream, wire.TypeRequestChannel:
		c.onRequest(f)
	case wire.TypePayload:
		c.onPayload(f)
	case wire.TypeRequestN:
		if s := c.lookup(f.StreamID); s != nil {
			s.addCredits(f.N)
		}
	case wire.TypeCancel:
		c.onCancel(f.StreamID)
	case wire.TypeError:
		if s := c.lookup(f.StreamID); s != nil && c.unregister(f.StreamID, s) {
			s.terminate(&Error{Code: f.ErrorCode, Message: string(f.Data)})
		}
	case wire.TypeExt:
		if f.Flags&wire.FlagIgnore == 0 {
			c.connError(CodeConnectionError, "unsupported extension frame")
			return errStop
		}
	}
	return nil
}

// The type-and-flags field of the PAYLOAD frames handleFrame takes its
// fast path for.
const (
	payloadN  = uint16(wire.TypePayload)<<10 | uint16(wire.FlagNext)
	payloadNC = payloadN | uint16(wire.FlagComplete)
)

// errStop ends the receive loop after the connection was closed by it.
var errStop = errors.New("rsocket: receive stopped")

// setupClass reports whether code is one of the setup-class error codes
// (INVALID_SETUP, UNSUPPORTED_SETUP, REJECTED_SETUP, REJECTED_RESUME).
func setupClass(code ErrorCode) bool {
	return code >= CodeInvalidSetup && code <= CodeRejectedResume
}

// onConnFrame handles frames on stream 0 after SETUP.
func (c *Conn) onConnFrame(f *wire.Frame) error {
	switch f.Type {
	case wire.TypeKeepalive:
		if f.Flags&wire.FlagRespond != 0 {
			if err := c.sendKeepalive(c.ctx, false, f.Data); err != nil {
				return err
			}
		} else {
			c.onPong()
		}
	case wire.TypeError:
		switch {
		case setupClass(f.ErrorCode) && (c.server || c.established):
			// "Handling the Unexpected": a server ignores a setup-class
			// ERROR, a client ignores it after establishment (before,
			// it is the rejection of its SETUP).
			return nil
		case f.ErrorCode == CodeConnectionClose:
			c.onConnectionClose(&Error{Code: f.ErrorCode, Message: string(f.Data)})
			return nil
		}
		c.fail(&Error{Code: f.ErrorCode, Message: string(f.Data)})
		return errStop
	case wire.TypeMetadataPush:
		md := Payload{Metadata: f.Metadata}.Clone().Metadata
		h := c.handler
		go h.MetadataPush(c.ctx, md)
	case wire.TypeSetup:
		// "Handling the Unexpected": a SETUP after the connection is
		// established is ignored.
	case wire.TypeLease:
		c.onLease(f) // ignored unless lease was negotiated
	case wire.TypeResume, wire.TypeResumeOK:
		c.connError(CodeConnectionError, f.Type.String()+" on an established connection")
		return errStop
	case wire.TypeExt:
		if f.Flags&wire.FlagIgnore == 0 {
			c.connError(CodeConnectionError, "unsupported extension frame")
			return errStop
		}
	}
	return nil
}

// onRequest handles REQUEST_* frames: a new stream opened by the peer.
func (c *Conn) onRequest(f *wire.Frame) {
	id := f.StreamID
	c.sawRequest()
	// The peer's ids have the other parity: client odd, server even.
	if (id%2 == 0) == c.server {
		return
	}
	c.mu.Lock()
	if c.closed || c.streams.get(id) != nil {
		c.mu.Unlock()
		return // a request on an id in use is ignored
	}
	if c.closeSent || c.peerClose != nil {
		// After CONNECTION_CLOSE (either way) new requests are refused.
		c.mu.Unlock()
		_ = c.sendError(c.ctx, id, CodeRejected, "connection closing")
		return
	}
	if c.lease != nil && !c.admitRequest() {
		// Outside this side's lease (a fragmented request is judged by its
		// first frame; its later fragments find no stream and are ignored).
		c.mu.Unlock()
		c.rejectOverLease(id)
		return
	}
	if f.Flags&wire.FlagFollows != 0 && f.Flags&wire.FlagComplete == 0 {
		// First fragment: hold the id while the rest arrives.
		s := newStream(c, f.Type)
		s.id = id
		s.responder = true
		c.streams.put(id, s)
		c.mu.Unlock()
		s.asm.data, c.asmSpare = c.asmSpare, nil
		if err := c.reassemble(s, f); err != nil {
			c.rejectMessage(s, err)
		}
		return
	}
	c.mu.Unlock()
	c.dispatch(nil, f.Type, id, f.InitialN, f.Flags&wire.FlagComplete != 0, Payload{Metadata: f.Metadata, Data: f.Data})
}

// onPayload handles PAYLOAD: a fragment, a response, or a stream item.
func (c *Conn) onPayload(f *wire.Frame) {
	s := c.lookup(f.StreamID)
	if s == nil {
		return
	}
	flags := f.Flags
	md, data := f.Metadata, f.Data
	assembled := false
	if s.asm.active || flags&wire.FlagFollows != 0 && flags&wire.FlagComplete == 0 {
		if err := c.reassemble(s, f); err != nil {
			c.rejectMessage(s, err)
			return
		}
		if flags&wire.FlagFollows != 0 && flags&wire.FlagComplete == 0 {
			return
		}
		// Last fragment: the message has the first frame's kind and the
		// last frame's C.
		md, data = s.asm.message()
		kind, initialN := s.asm.kind, s.asm.initialN
		next := s.asm.next || flags&wire.FlagNext != 0
		c.finish(s)
		if kind != wire.TypePayload {
			c.dispatch(s, kind, s.id, initialN, flags&wire.FlagComplete != 0, Payload{Metadata: md, Data: data})
			if kind != wire.TypeRequestChannel {
				// dispatch has copied the request or is done with its
				// view, and no payload will follow on this stream: its
				// buffers go, the data buffer to be the connection's
				// spare if it is not too large.
				if cap(s.asm.data) <= c.spareCap() {
					c.asmSpare = s.asm.data[:0]
				}
				s.asm.md, s.asm.data = nil, nil
			}
			return
		}
		if next {
			flags |= wire.FlagNext
		}
		assembled = true
	}
	c.deliver(f.StreamID, s, flags, md, data, assembled)
}

// deliver hands a complete inbound PAYLOAD message for stream id to its
// stream s. With assembled set, md and data are the stream's reassembly
// buffers, whose data buffer the stream's queue may take instead of copying
// it. It unregisters by id, the frame's, not s.id: a request-response whose
// requester gave up (cancelled) is recycled, its id rewritten, while this
// goroutine may still hold it from the lookup.
func (c *Conn) deliver(id uint32, s *stream, flags wire.Flags, md, data []byte, assembled bool) {
	next := flags&wire.FlagNext != 0
	complete := flags&wire.FlagComplete != 0
	if s.kind == wire.TypeRequestResponse {
		if s.responder || !next && !complete {
			return
		}
		// A PAYLOAD on a request-response completes it, C or not.
		if c.unregister(id, s) {
			c.completeRR(s, Payload{Metadata: md, Data: data}, nil)
		}
		return
	}
	if next && !s.push(md, data, assembled) {
		c.overCredit(id, s)
		return
	}
	if complete && s.closeIn(io.EOF) {
		c.unregister(id, s)
	}
}

// overCredit ends stream s, whose peer sent beyond the credits granted.
func (c *Conn) overCredit(id uint32, s *stream) {
	if c.unregister(id, s) {
		s.terminate(&Error{Code: CodeInvalid, Message: "peer sent beyond request(n) credits"})
		if s.responder {
			_ = c.sendError(c.ctx, id, CodeInvalid, "payload beyond request(n) credits")
		} else {
			_ = c.sendCancel(c.ctx, id)
		}
	}
}

// pushHeld queues a PAYLOAD's data (N, no metadata, no C) for stream s,
// whose reader receives the frame while it drives the transport: under
// s.mu, which it keeps for the stream's next payloads of the batch, up to
// holdMax of them, instead of taking and releasing it per payload (two
// atomic read-modify-writes each). The reader waits in Drive meanwhile;
// anyone else who wants s.mu (a cancel, a sender on the stream) waits at
// most until the batch ends (endBatch) or another frame comes (letGo). The
// reader's wake-up waits for the same moment.
func (c *Conn) pushHeld(id uint32, s *stream, data []byte) {
	if c.heldS != s {
		c.letGo()
		s.mu.Lock()
		c.heldS = s
	}
	ok, wake := s.pushLocked(nil, data, false)
	c.holdWake = c.holdWake || wake
	if c.holdN++; !ok || c.holdN >= holdMax {
		c.letGo()
	}
	if !ok {
		c.overCredit(id, s)
	}
}

// holdMax is how many payloads pushHeld queues under one hold of a
// stream's lock: what the stream's other users may wait for.
const holdMax = 32

// letGo releases the stream lock pushHeld holds, if any, and wakes the
// stream's reader if it waits.
func (c *Conn) letGo() {
	s := c.heldS
	if s == nil {
		return
	}
	wake := c.holdWake
	c.heldS, c.holdN, c.holdWake = nil, 0, false
	s.mu.Unlock()
	if wake {
		signal(s.inWake)
	}
}

// endBatch is the transport's end of a receive batch (batchMarker): what
// pushHeld holds is let go, and the next batch's frames are not the
// driving reader's until its onDriven says so.
func (c *Conn) endBatch() {
	if c.heldS != nil {
		c.letGo()
	}
	if c.drivenBy != nil {
		c.drivenBy = nil
	}
}

// onCancel handles CANCEL: the peer no longer wants this side's payloads.
func (c *Conn) onCancel(id uint32) {
	s := c.lookup(id)
	if s == nil {
		return
	}
	if !s.responder {
		// A channel responder cancelling the requester's outbound half.
		if s.closeOut(&Error{Code: CodeCanceled, Message: "cancelled by responder"}) {
			c.unregister(id, s)
		}
		return
	}
	if c.unregister(id, s) {
		s.terminate(&Error{Code: CodeCanceled, Message: "cancelled by requester"})
	}
}

// rejectMessage ends a stream whose message cannot be reassembled (err is
// ErrMessageTooLarge or ErrReassemblyLimit) and frees its buffers: the
// requester side cancels, the responder side answers ERROR[INVALID].
// Fragments still in flight are ignored as the stream is gone. The
// connection stays up.
func (c *Conn) rejectMessage(s *stream, err error) {
	c.drop(s)
	if !c.unregister(s.id, s) {
		return
	}
	s.terminate(err)
	if s.responder {
		_ = c.sendError(c.ctx, s.id, CodeInvalid, err.Error())
	} else {
		_ = c.sendCancel(c.ctx, s.id)
	}
}
