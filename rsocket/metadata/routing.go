package metadata

// Routing metadata (Routing.md) is a list of tags:
//
//	 0                   1                   2                   3
//	 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|  Tag Length   |              Tag (UTF-8)                     ...
//	+---------------+-----------------------------------------------+
//	|  Tag Length   |              Tag                             ...
//	+---------------+-----------------------------------------------+
//
// A tag is at most 255 bytes. Spring and rsocket-js treat the first tag as
// the route.

// MaxTag is the longest routing tag: its length has 8 bits.
const MaxTag = 255

// AppendRoute appends routing metadata holding tags. A tag longer than
// MaxTag is an error, and b is returned unchanged.
func AppendRoute(b []byte, tags ...string) ([]byte, error) {
	for _, t := range tags {
		if len(t) > MaxTag {
			return b, invalid("routing: tag longer than 255 bytes")
		}
	}
	for _, t := range tags {
		b = append(b, byte(len(t)))
		b = append(b, t...)
	}
	return b, nil
}

// RouteReader reads the tags of routing metadata without allocating, as
// Reader does for composite metadata.
type RouteReader struct {
	b   []byte
	off int
	tag []byte
	err error
}

// Routes returns a RouteReader over routing metadata md.
func Routes(md []byte) RouteReader { return RouteReader{b: md} }

// Next decodes the next tag and reports whether there was one.
func (r *RouteReader) Next() bool {
	if r.err != nil || r.off >= len(r.b) {
		return false
	}
	n := int(r.b[r.off])
	p := r.off + 1
	if n > len(r.b)-p {
		r.err = malformed("routing: tag past end", r.off)
		return false
	}
	r.tag, r.off = r.b[p:p+n:p+n], p+n
	return true
}

// Tag returns the tag decoded by the last successful Next, a view.
func (r *RouteReader) Tag() []byte { return r.tag }

// Err returns the error that stopped Next, or nil.
func (r *RouteReader) Err() error { return r.err }

// FirstRoute returns the first tag of routing metadata md, the route.
// ok is false when md holds no tag.
func FirstRoute(md []byte) (tag []byte, ok bool, err error) {
	r := Routes(md)
	if r.Next() {
		return r.tag, true, nil
	}
	return nil, false, r.err
}
