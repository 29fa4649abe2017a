package shm

import (
	"fmt"
	"runtime/debug"
)

// guard runs f, which reads or writes a mapping, and returns an error
// wrapping ErrFault if that faulted because the file was truncated under
// the mapping (see Region). With debug.SetPanicOnFault set for f's
// duration, a load or store past the end of the file panics with a runtime
// error that carries the faulting address, instead of killing the process
// with SIGBUS; guard recovers it. Any other panic is panicked again.
func guard(f func()) (err error) {
	defer func(old bool) {
		debug.SetPanicOnFault(old)
		if v := recover(); v != nil {
			a, ok := v.(interface{ Addr() uintptr })
			if !ok {
				panic(v)
			}
			err = fmt.Errorf("%w: at %#x", ErrFault, a.Addr())
		}
	}(debug.SetPanicOnFault(true))
	f()
	return nil
}
