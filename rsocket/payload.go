package rsocket

// Payload is the metadata and data of one RSocket message.
//
// Metadata nil means the message carries no metadata (the M flag is clear);
// an empty non-nil slice is metadata of length zero.
//
// Ownership is stated once, in the package documentation ("Payload
// ownership"): a Payload handed to a handler or returned by Recv is a view
// valid until the handler returns or the next Recv (a handler may return
// it as its response); Clone what is kept longer.
type Payload struct {
	Metadata []byte
	Data     []byte
}

// HasMetadata reports whether p carries metadata (the M flag).
func (p Payload) HasMetadata() bool { return p.Metadata != nil }

// Clone returns a deep copy of p in one allocation (none when p carries
// nothing) that keeps the nil-ness of Metadata: CloneInto(nil).
func (p Payload) Clone() Payload { return p.CloneInto(nil) }

// CloneInto copies p into buf's array and returns the copy, Metadata first
// and keeping its nil-ness. It allocates a new array only
// when cap(buf) is less than len(p.Metadata)+len(p.Data); buf's contents
// are overwritten, whatever its length.
func (p Payload) CloneInto(buf []byte) Payload {
	n := len(p.Metadata) + len(p.Data)
	if cap(buf) < n || buf == nil { // nil: empty non-nil Metadata stays non-nil
		buf = make([]byte, n)
	}
	b := buf[:n]
	n = copy(b, p.Metadata)
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
