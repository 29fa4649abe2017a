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

// func prefetchLines(p unsafe.Pointer, lines int)
// PREFETCHT0 of lines consecutive 64-byte cache lines from p: the loads
// start together instead of one after another.
TEXT ·prefetchLines(SB),NOSPLIT,$0-16
	MOVQ	p+0(FP), AX
	MOVQ	lines+8(FP), CX
	TESTQ	CX, CX
	JLE	pdone
ploop:
	PREFETCHT0	(AX)
	ADDQ	$64, AX
	DECQ	CX
	JNZ	ploop
pdone:
	RET
