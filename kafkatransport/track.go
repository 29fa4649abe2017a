package kafkatransport

import "slices"

// tracker follows, on a responder's side of a connection, the requests the
// client opened and the responder has not finished, from the frames that
// pass the transport: those coming in when they are handed to the engine
// (in), those going out once Kafka has acknowledged them (out). It is what
// a checkpoint records beside the delivered position (state.go), so that
// a responder that takes the connection over knows what the previous one
// left undone:
//
//   - a request-response not yet answered, a fire-and-forget or any request
//     whose fragments have not all arrived: the offsets of its records,
//     which the next responder is given again (pending);
//   - a stream or channel under way: its id, which the next responder ends
//     with ERROR[CANCELED] (a restarted handler would send its first
//     payloads again, which the requester has had).
//
// Only the client's requests are followed (odd ids): the responder's own
// requests, and frames of streams the tracker does not know, change
// nothing. Fragments count as one request; a PAYLOAD with C ends a stream
// whatever its F says (the spec ignores F with C). Not safe for concurrent
// use: the session holds its lock around it.
type tracker struct {
	open map[uint32]*request
}

// request is one open request.
type request struct {
	typ uint8 // the REQUEST_* frame type
	// offsets of the request's records while it must be given again to a
	// new responder: the fragments received so far, and for a
	// request-response until it is answered.
	offsets []int64
	more    bool // the request's own fragments are still coming
	// A channel ends when both halves have: inDone (the requester's
	// payloads: its C, a CANCEL from the responder) and outDone (the
	// responder's: its C, the requester's CANCEL).
	inDone, outDone bool
}

func newTracker() tracker { return tracker{open: make(map[uint32]*request)} }

// in follows frame f, the record at offset off, as it is handed to the
// engine. It reports whether the tracked state changed.
func (t *tracker) in(f []byte, off int64) bool {
	h, ok := parseHeader(f)
	if !ok || h.stream == 0 {
		return false
	}
	follows := h.flags&flagFollows != 0 && h.flags&flagComplete == 0
	r := t.open[h.stream]
	switch h.typ {
	case typeRequestResponse, typeRequestFNF, typeRequestStream, typeRequestChannel:
		if r != nil {
			return false // an id in use: the engine ignores the request
		}
		if h.typ == typeRequestFNF && !follows {
			return false // delivered whole: done
		}
		r = &request{typ: h.typ, offsets: []int64{off}, more: follows}
		if h.typ == typeRequestStream {
			r.inDone = true // a stream's requester sends no payloads
		}
		if h.typ == typeRequestChannel && h.flags&flagComplete != 0 {
			r.inDone = true
		}
		t.open[h.stream] = r
		return true
	case typePayload:
		if r == nil {
			return false
		}
		if r.more {
			r.offsets = append(r.offsets, off)
			r.more = follows
			if !r.more && r.typ == typeRequestFNF {
				delete(t.open, h.stream)
			}
			if !r.more && r.typ == typeRequestChannel && h.flags&flagComplete != 0 {
				r.inDone = true
			}
			return t.settle(h.stream, r)
		}
		if r.typ == typeRequestChannel && h.flags&flagComplete != 0 {
			r.inDone = true
			return t.settle(h.stream, r)
		}
		return false
	case typeCancel:
		if r == nil {
			return false
		}
		if r.typ == typeRequestChannel {
			r.outDone = true
			return t.settle(h.stream, r)
		}
		delete(t.open, h.stream)
		return true
	case typeError:
		if r == nil {
			return false
		}
		delete(t.open, h.stream)
		return true
	}
	return false
}

// out follows frame f, which the responder sent and Kafka acknowledged. It
// reports whether the tracked state changed.
func (t *tracker) out(f []byte) bool {
	h, ok := parseHeader(f)
	if !ok || h.stream == 0 {
		return false
	}
	r := t.open[h.stream]
	if r == nil {
		return false
	}
	complete := h.flags&flagComplete != 0
	switch h.typ {
	case typePayload:
		switch r.typ {
		case typeRequestResponse:
			if h.flags&flagFollows == 0 || complete {
				delete(t.open, h.stream)
				return true
			}
		case typeRequestStream:
			if complete {
				delete(t.open, h.stream)
				return true
			}
		case typeRequestChannel:
			if complete {
				r.outDone = true
				return t.settle(h.stream, r)
			}
		}
	case typeError:
		delete(t.open, h.stream)
		return true
	case typeCancel:
		if r.typ == typeRequestChannel {
			r.inDone = true
			return t.settle(h.stream, r)
		}
	}
	return false
}

// settle removes a channel both of whose halves have ended; it reports
// true (the caller changed r).
func (t *tracker) settle(id uint32, r *request) bool {
	if r.typ == typeRequestChannel && !r.more && r.inDone && r.outDone {
		delete(t.open, id)
	}
	return true
}

// pending returns, ascending, the offsets of the records a new responder
// must be given again: the requests that are not answered, or not whole.
func (t *tracker) pending() []int64 {
	var p []int64
	for _, r := range t.open {
		if r.more || r.typ == typeRequestResponse {
			p = append(p, r.offsets...)
		}
	}
	slices.Sort(p)
	return p
}

// streams returns, ascending, the ids of the streams and channels under
// way: whole requests that a new responder cannot continue.
func (t *tracker) streams() []uint32 {
	var s []uint32
	for id, r := range t.open {
		if !r.more && (r.typ == typeRequestStream || r.typ == typeRequestChannel) {
			s = append(s, id)
		}
	}
	slices.Sort(s)
	return s
}

// busy reports whether a request-response is unanswered.
func (t *tracker) busy() bool {
	for _, r := range t.open {
		if r.typ == typeRequestResponse {
			return true
		}
	}
	return false
}
