//go:build unix

package pollread

import "syscall"

// canPoll: a socket can be read without blocking.
const canPoll = true

// try is the rc.Read callback: one non-blocking read. An empty socket ends
// the look (p.empty), or, once the budget is spent, returns false so that
// rc.Read parks until the socket is readable and calls it again.
func (p *Reader) try(fd uintptr) bool {
	for {
		n, err := syscall.Read(int(fd), p.buf)
		switch err {
		case nil:
			p.n = n
			return true
		case syscall.EINTR:
			continue
		case syscall.EAGAIN:
			if p.park {
				return false
			}
			p.empty = true
			return true
		default:
			p.err = err
			return true
		}
	}
}
