package kafkatransport

import (
	"encoding/binary"
	"errors"
)

// Session records. A responder checkpoints each connection it serves as one
// record on the state topic ("<topic>.sessions", compacted), keyed by the
// connection id, and writes a tombstone (no value) when the connection
// ends; a responder that is assigned a partition of the request topic reads
// the latest record of each connection of that partition, so it knows the
// connection without having seen its connect record or SETUP.
//
//	offset  size  field
//	0       4     magic "RSKS"
//	4       1     layout version (1)
//	5       4     partition of the request topic (int32)
//	9       8     delivered: the offset after the last record of the
//	              connection handed to the engine (int64)
//	17      2     n: length of the reply topic
//	19      n     reply topic
//	+0      4     m: length of the SETUP frame
//	+4      m     SETUP frame
//	+0      4     p: pending offsets
//	+4      8p    the offsets, ascending (int64 each)
//	+0      4     s: open streams
//	+4      4s    the stream ids, ascending (uint32 each)
//
// Big-endian throughout. A record that does not parse is ErrCorruptState:
// the responder skips that connection (its requester's keepalive ends it).
const (
	stateMagic   = "RSKS"
	stateVersion = 1
	stateFixed   = 4 + 1 + 4 + 8
)

// ErrCorruptState is returned for a session record that does not parse.
var ErrCorruptState = errors.New("kafkatransport: corrupt session record")

// sessionState is what a checkpoint records of one connection.
type sessionState struct {
	partition int32
	delivered int64
	reply     string
	setup     []byte
	pending   []int64
	streams   []uint32
}

// appendState appends s's encoding to b.
func appendState(b []byte, s *sessionState) []byte {
	b = append(b, stateMagic...)
	b = append(b, stateVersion)
	b = binary.BigEndian.AppendUint32(b, uint32(s.partition))
	b = binary.BigEndian.AppendUint64(b, uint64(s.delivered))
	b = binary.BigEndian.AppendUint16(b, uint16(len(s.reply)))
	b = append(b, s.reply...)
	b = binary.BigEndian.AppendUint32(b, uint32(len(s.setup)))
	b = append(b, s.setup...)
	b = binary.BigEndian.AppendUint32(b, uint32(len(s.pending)))
	for _, o := range s.pending {
		b = binary.BigEndian.AppendUint64(b, uint64(o))
	}
	b = binary.BigEndian.AppendUint32(b, uint32(len(s.streams)))
	for _, id := range s.streams {
		b = binary.BigEndian.AppendUint32(b, id)
	}
	return b
}

// parseState decodes a session record; the result shares no memory with b.
func parseState(b []byte) (*sessionState, error) {
	if len(b) < stateFixed || string(b[:4]) != stateMagic {
		return nil, ErrCorruptState
	}
	if b[4] != stateVersion {
		return nil, errors.New("kafkatransport: session record of an unknown layout version")
	}
	s := &sessionState{
		partition: int32(binary.BigEndian.Uint32(b[5:])),
		delivered: int64(binary.BigEndian.Uint64(b[9:])),
	}
	if s.partition < 0 || s.delivered < 0 {
		return nil, ErrCorruptState
	}
	r := b[stateFixed:]
	reply, r, ok := cut(r, 2)
	if !ok || !validTopic(string(reply)) {
		return nil, ErrCorruptState
	}
	s.reply = string(reply)
	setup, r, ok := cut(r, 4)
	if !ok {
		return nil, ErrCorruptState
	}
	s.setup = append([]byte(nil), setup...)
	if len(r) < 4 {
		return nil, ErrCorruptState
	}
	n := binary.BigEndian.Uint32(r)
	r = r[4:]
	if uint64(n)*8 > uint64(len(r)) {
		return nil, ErrCorruptState
	}
	s.pending = make([]int64, n)
	for i := range s.pending {
		s.pending[i] = int64(binary.BigEndian.Uint64(r[8*i:]))
		if s.pending[i] < 0 || i > 0 && s.pending[i] <= s.pending[i-1] {
			return nil, ErrCorruptState
		}
	}
	r = r[8*n:]
	if len(r) < 4 {
		return nil, ErrCorruptState
	}
	n = binary.BigEndian.Uint32(r)
	r = r[4:]
	if uint64(n)*4 != uint64(len(r)) {
		return nil, ErrCorruptState
	}
	s.streams = make([]uint32, n)
	for i := range s.streams {
		s.streams[i] = binary.BigEndian.Uint32(r[4*i:])
		if s.streams[i] == 0 || s.streams[i] > 0x7FFFFFFF || i > 0 && s.streams[i] <= s.streams[i-1] {
			return nil, ErrCorruptState
		}
	}
	return s, nil
}

// cut splits a field with a big-endian length of size bytes (2 or 4) off
// the front of b.
func cut(b []byte, size int) (field, rest []byte, ok bool) {
	if len(b) < size {
		return nil, nil, false
	}
	var n uint64
	if size == 2 {
		n = uint64(binary.BigEndian.Uint16(b))
	} else {
		n = uint64(binary.BigEndian.Uint32(b))
	}
	b = b[size:]
	if n > uint64(len(b)) {
		return nil, nil, false
	}
	return b[:n], b[n:], true
}
