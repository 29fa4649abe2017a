//go:build !unix

package rsocket

// canPoll: elsewhere the receive loop reads the connection plainly.
const canPoll = false

// try is never called where canPoll is false.
func (p *pollReader) try(uintptr) bool { panic("rsocket: no non-blocking reads on this system") }
