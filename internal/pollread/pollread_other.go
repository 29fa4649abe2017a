//go:build !unix

package pollread

// canPoll: elsewhere the Reader reads the connection plainly.
const canPoll = false

// try is never called where canPoll is false.
func (p *Reader) try(uintptr) bool { panic("pollread: no non-blocking reads on this system") }
