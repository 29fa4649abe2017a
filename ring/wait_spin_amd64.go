package ring

// procyield executes the PAUSE instruction pauses times (wait_spin_amd64.s).
func procyield(pauses uint32)
