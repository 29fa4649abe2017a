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

// func prefetchWLines(p unsafe.Pointer, lines int)
// PREFETCHW of lines consecutive 64-byte cache lines from p: ownership of
// lines about to be written is requested together instead of one store
// miss after another. PREFETCHW (0F 0D /1) has no mnemonic in the Go
// assembler; callers check hasPrefetchW first.
TEXT ·prefetchWLines(SB),NOSPLIT,$0-16
	MOVQ	p+0(FP), AX
	MOVQ	lines+8(FP), CX
	TESTQ	CX, CX
	JLE	wdone
wloop:
	BYTE	$0x0F; BYTE $0x0D; BYTE $0x08 // PREFETCHW (AX)
	ADDQ	$64, AX
	DECQ	CX
	JNZ	wloop
wdone:
	RET

// func cpuPrefetchW() bool
// CPUID.80000001H:ECX bit 8 (PRFCHW): the CPU implements PREFETCHW.
TEXT ·cpuPrefetchW(SB),NOSPLIT,$0-1
	MOVL	$0x80000000, AX
	XORL	CX, CX
	CPUID
	CMPL	AX, $0x80000001
	JB	no
	MOVL	$0x80000001, AX
	XORL	CX, CX
	CPUID
	SHRL	$8, CX
	ANDL	$1, CX
	MOVB	CX, ret+0(FP)
	RET
no:
	MOVB	$0, ret+0(FP)
	RET

// func zeroLines(p unsafe.Pointer, lines int)
// CLZERO of lines consecutive 64-byte cache lines from p: each line is
// taken in exclusive state and zeroed without its old contents being read,
// and without waiting. CLZERO is weakly ordered: callers order it before
// their later stores with storeFence, and check hasCLZero first. It has no
// mnemonic in the Go assembler.
TEXT ·zeroLines(SB),NOSPLIT,$0-16
	MOVQ	p+0(FP), AX
	MOVQ	lines+8(FP), CX
	TESTQ	CX, CX
	JLE	zdone
zloop:
	BYTE	$0x0F; BYTE $0x01; BYTE $0xFC // CLZERO (AX)
	ADDQ	$64, AX
	DECQ	CX
	JNZ	zloop
zdone:
	RET

// func storeFence()
// SFENCE: the weakly ordered stores before it (CLZERO) become visible
// before the stores after it.
TEXT ·storeFence(SB),NOSPLIT,$0-0
	SFENCE
	RET

// func cpuCLZero() bool
// CPUID.80000008H:EBX bit 0 (CLZERO): the CPU implements CLZERO.
TEXT ·cpuCLZero(SB),NOSPLIT,$0-1
	MOVL	$0x80000000, AX
	XORL	CX, CX
	CPUID
	CMPL	AX, $0x80000008
	JB	zno
	MOVL	$0x80000008, AX
	XORL	CX, CX
	CPUID
	ANDL	$1, BX
	MOVB	BX, ret+0(FP)
	RET
zno:
	MOVB	$0, ret+0(FP)
	RET
