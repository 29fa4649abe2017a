package metadata

import "iter"

// Composite metadata (CompositeMetadata.md) is a sequence of entries, each
// its own MIME type, length and content:
//
//	 0                   1                   2                   3
//	 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|M| MIME ID/Len |   Metadata Encoding MIME Type (if M clear)  ...
//	+---------------+-----------------------------------------------+
//	|              Metadata Length (u24)            |
//	+-----------------------------------------------+---------------+
//	|                     Metadata Payload                         ...
//	+---------------------------------------------------------------+
//
// M set: the 7 bits are a well-known MimeType id and no name follows.
// M clear: a US-ASCII name follows; the 7 bits hold its length minus one
// (so 1..128 bytes), as rsocket-java and rsocket-js write and read it (the
// specification's text says "length", but a reader of the other form could
// not read any of them).
const (
	compositeKnown   = 0x80 // M: well-known id
	compositeIDMask  = 0x7F
	compositeLenSize = 3 // Metadata Length

	// MaxCustomMIME is the longest custom MIME type (or auth type) name:
	// 7 bits of length minus one.
	MaxCustomMIME = 128
	// MaxEntry is the largest content of one composite entry: 24 bits.
	MaxEntry = 1<<24 - 1
)

// AppendComposite appends one composite metadata entry: with the well-known
// id when mime is in the table, else with mime as a custom name (US-ASCII,
// 1..MaxCustomMIME bytes). content must be at most MaxEntry bytes.
func AppendComposite(b []byte, mime string, content []byte) ([]byte, error) {
	if id, ok := LookupMimeType(mime); ok {
		return AppendCompositeID(b, id, content)
	}
	return AppendCompositeCustom(b, mime, content)
}

// AppendCompositeID appends an entry with a well-known id (reserved ids
// are allowed: a peer may know them).
func AppendCompositeID(b []byte, id MimeType, content []byte) ([]byte, error) {
	if id > MaxMimeType {
		return b, invalid("composite: mime id above 0x7f")
	}
	if len(content) > MaxEntry {
		return b, invalid("composite: entry longer than 16 MiB - 1")
	}
	b = append(b, compositeKnown|byte(id))
	return appendContent(b, content), nil
}

// AppendCompositeCustom appends an entry with mime written out as a name,
// even when it is in the well-known table.
func AppendCompositeCustom(b []byte, mime string, content []byte) ([]byte, error) {
	if len(mime) < 1 || len(mime) > MaxCustomMIME {
		return b, invalid("composite: custom mime type must be 1..128 bytes")
	}
	if !isASCII(mime) {
		return b, invalid("composite: custom mime type must be US-ASCII")
	}
	if len(content) > MaxEntry {
		return b, invalid("composite: entry longer than 16 MiB - 1")
	}
	b = append(b, byte(len(mime)-1))
	b = append(b, mime...)
	return appendContent(b, content), nil
}

func appendContent(b, content []byte) []byte {
	n := len(content)
	b = append(b, byte(n>>16), byte(n>>8), byte(n))
	return append(b, content...)
}

// Entry is one composite metadata entry. Name and Content are views into
// the decoded input.
type Entry struct {
	// ID is the well-known MIME type id when WellKnown is set (possibly a
	// reserved id without a name).
	ID MimeType
	// WellKnown: the entry names its MIME type by ID; otherwise by Name.
	WellKnown bool
	// Name is the custom MIME type name; nil when WellKnown.
	Name []byte
	// Content is the entry's metadata.
	Content []byte
}

// Is reports whether the entry's MIME type is id, written either as the id
// or as its name.
func (e Entry) Is(id MimeType) bool {
	if e.WellKnown {
		return e.ID == id
	}
	n := id.Name()
	return n != "" && string(e.Name) == n
}

// MIME returns the entry's MIME type name: the table's name for a
// well-known id (id.String() for a reserved one), a copy of Name otherwise.
func (e Entry) MIME() string {
	if e.WellKnown {
		return e.ID.String()
	}
	return string(e.Name)
}

// Reader reads the entries of composite metadata without allocating:
//
//	r := metadata.NewReader(md)
//	for r.Next() {
//		e := r.Entry()
//		...
//	}
//	if err := r.Err(); err != nil { ... }
//
// Next stops at the first malformed entry; Err then says why. The entries
// before it were well formed.
type Reader struct {
	b   []byte
	off int
	e   Entry
	err error
}

// NewReader returns a Reader over composite metadata md.
func NewReader(md []byte) Reader { return Reader{b: md} }

// Next decodes the next entry and reports whether there was one.
func (r *Reader) Next() bool {
	if r.err != nil || r.off >= len(r.b) {
		return false
	}
	b, off := r.b, r.off
	first := b[off]
	var e Entry
	p := off + 1
	if first&compositeKnown != 0 {
		e.ID, e.WellKnown = MimeType(first&compositeIDMask), true
	} else {
		n := int(first&compositeIDMask) + 1
		if n > len(b)-p {
			r.err = malformed("composite: custom mime type past end", off)
			return false
		}
		e.Name = b[p : p+n : p+n]
		p += n
	}
	if len(b)-p < compositeLenSize {
		r.err = malformed("composite: truncated entry length", p)
		return false
	}
	n := int(b[p])<<16 | int(b[p+1])<<8 | int(b[p+2])
	p += compositeLenSize
	if n > len(b)-p {
		r.err = malformed("composite: entry content past end", p-compositeLenSize)
		return false
	}
	e.Content = b[p : p+n : p+n]
	r.e, r.off = e, p+n
	return true
}

// Entry returns the entry decoded by the last successful Next.
func (r *Reader) Entry() Entry { return r.e }

// Err returns the error that stopped Next, or nil.
func (r *Reader) Err() error { return r.err }

// Entries iterates over the entries of md. A malformed entry ends the
// iteration with a zero Entry and the error:
//
//	for e, err := range metadata.Entries(md) {
//		if err != nil { ... }
//	}
func Entries(md []byte) iter.Seq2[Entry, error] {
	return func(yield func(Entry, error) bool) {
		r := NewReader(md)
		for r.Next() {
			if !yield(r.e, nil) {
				return
			}
		}
		if r.err != nil {
			yield(Entry{}, r.err)
		}
	}
}

// Find returns the content of the first entry of md whose MIME type is id
// (see Entry.Is). ok is false when there is none; err is non-nil when md is
// malformed before such an entry.
func Find(md []byte, id MimeType) (content []byte, ok bool, err error) {
	r := NewReader(md)
	for r.Next() {
		if r.e.Is(id) {
			return r.e.Content, true, nil
		}
	}
	return nil, false, r.err
}
