package rsocket

// Payload is the metadata and data of one RSocket message.
//
// Metadata nil means the message carries no metadata (the M flag is clear);
// an empty non-nil slice is metadata of length zero.
//
// Ownership: a Payload handed to a handler, to a ResponseHandler, or
// returned by Stream.Recv or Channel.Recv is a view into memory the
// connection reuses: it is valid until the handler returns, or until the
// next Recv on that stream. Call Clone to keep it longer. The Payload
// returned by Conn.RequestResponse is the caller's own. Payloads passed to
// the send calls are only read during the call.
type Payload struct {
	Metadata []byte
	Data     []byte
}

// HasMetadata reports whether p carries metadata (the M flag).
func (p Payload) HasMetadata() bool { return p.Metadata != nil }

// Clone returns a deep copy of p in one allocation that keeps the
// nil-ness of Metadata.
func (p Payload) Clone() Payload {
	if p.Metadata == nil && len(p.Data) == 0 {
		return Payload{}
	}
	b := make([]byte, len(p.Metadata)+len(p.Data))
	n := copy(b, p.Metadata)
	copy(b[n:], p.Data)
	var q Payload
	if p.Metadata != nil {
		q.Metadata = b[:n:n]
	}
	if len(p.Data) > 0 {
		q.Data = b[n:]
	}
	return q
}
