package metadata

// Per-stream data MIME types (PerStreamDataMimeTypesDefinition.md). The
// data MIME type entry (MessageMimeType, 0x7A) holds one MIME type; the
// accepted MIME types entry (MessageAcceptMimeTypes, 0x7B) a list:
//
//	 0                   1                   2                   3
//	 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|M| MIME ID/Len |   Data Encoding MIME Type (if M clear)      ...
//	+---------------+-----------------------------------------------+
//	|M| MIME ID/Len |   Data Encoding MIME Type (if M clear)      ...   (0x7B only)
//	+---------------+-----------------------------------------------+
//
// As in composite metadata, a custom name's length is written minus one
// (rsocket-java's MimeTypeMetadataCodec does the same).

// MIMERef is one MIME type as the extensions write it: a well-known id or a
// name (a view into the decoded input).
type MIMERef struct {
	// ID is the well-known id when WellKnown is set.
	ID MimeType
	// WellKnown: the MIME type is named by ID; otherwise by Name.
	WellKnown bool
	// Name is a custom MIME type name; nil when WellKnown.
	Name []byte
}

// Is reports whether m is the well-known type id, by id or by name.
func (m MIMERef) Is(id MimeType) bool {
	return Entry{ID: m.ID, WellKnown: m.WellKnown, Name: m.Name}.Is(id)
}

// String returns the MIME type name (a copy for a custom one).
func (m MIMERef) String() string {
	if m.WellKnown {
		return m.ID.String()
	}
	return string(m.Name)
}

// appendMIME appends mime as a well-known id or a custom name.
func appendMIME(b []byte, mime string) ([]byte, error) {
	if id, ok := LookupMimeType(mime); ok {
		return append(b, compositeKnown|byte(id)), nil
	}
	if len(mime) < 1 || len(mime) > MaxCustomMIME {
		return b, invalid("mime type must be 1..128 bytes")
	}
	if !isASCII(mime) {
		return b, invalid("mime type must be US-ASCII")
	}
	b = append(b, byte(len(mime)-1))
	return append(b, mime...), nil
}

// parseMIME decodes one MIME type at b[off:] and returns the offset after it.
func parseMIME(b []byte, off int) (MIMERef, int, error) {
	if off >= len(b) {
		return MIMERef{}, off, malformed("mime type: empty", off)
	}
	c := b[off]
	if c&compositeKnown != 0 {
		return MIMERef{ID: MimeType(c & compositeIDMask), WellKnown: true}, off + 1, nil
	}
	n := int(c&compositeIDMask) + 1
	p := off + 1
	if n > len(b)-p {
		return MIMERef{}, off, malformed("mime type: name past end", off)
	}
	return MIMERef{Name: b[p : p+n : p+n]}, p + n, nil
}

// AppendDataMIME appends the content of a data MIME type entry (0x7A).
func AppendDataMIME(b []byte, mime string) ([]byte, error) {
	return appendMIME(b, mime)
}

// ParseDataMIME decodes the content of a data MIME type entry (0x7A): one
// MIME type and nothing after it.
func ParseDataMIME(content []byte) (MIMERef, error) {
	m, off, err := parseMIME(content, 0)
	if err != nil {
		return MIMERef{}, err
	}
	if off != len(content) {
		return MIMERef{}, malformed("mime type: trailing bytes", off)
	}
	return m, nil
}

// AppendAcceptMIMEs appends the content of an accepted MIME types entry
// (0x7B). On error b is returned unchanged.
func AppendAcceptMIMEs(b []byte, mimes ...string) ([]byte, error) {
	n := len(b)
	for _, m := range mimes {
		var err error
		if b, err = appendMIME(b, m); err != nil {
			return b[:n], err
		}
	}
	return b, nil
}

// MIMEReader reads the MIME types of an accepted MIME types entry without
// allocating, as Reader does for composite metadata.
type MIMEReader struct {
	b   []byte
	off int
	m   MIMERef
	err error
}

// AcceptMIMEs returns a MIMEReader over the content of an accepted MIME
// types entry (0x7B).
func AcceptMIMEs(content []byte) MIMEReader { return MIMEReader{b: content} }

// Next decodes the next MIME type and reports whether there was one.
func (r *MIMEReader) Next() bool {
	if r.err != nil || r.off >= len(r.b) {
		return false
	}
	m, off, err := parseMIME(r.b, r.off)
	if err != nil {
		r.err = err
		return false
	}
	r.m, r.off = m, off
	return true
}

// MIME returns the MIME type decoded by the last successful Next.
func (r *MIMEReader) MIME() MIMERef { return r.m }

// Err returns the error that stopped Next, or nil.
func (r *MIMEReader) Err() error { return r.err }
