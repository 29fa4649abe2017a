#include "textflag.h"

// func procyield(pauses uint32)
// Executes PAUSE pauses times: tells the core this is a spin-wait loop, which
// saves power, yields to a hyper-thread sibling and avoids the memory-order
// mis-speculation penalty when the awaited store arrives.
TEXT ·procyield(SB),NOSPLIT,$0-4
	MOVL	pauses+0(FP), AX
	TESTL	AX, AX
	JZ	done
again:
	PAUSE
	DECL	AX
	JNZ	again
done:
	RET
