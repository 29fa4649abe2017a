#include "textflag.h"

// EACH_LINE runs insn, which addresses (AX), on each of the lines
// consecutive 64-byte cache lines from p: the body of the functions of
// the form func(p unsafe.Pointer, lines int) below.
#define EACH_LINE(insn) \
	MOVQ	p+0(FP), AX \
	MOVQ	lines+8(FP), CX \
	TESTQ	CX, CX \
	JLE	done \
loop: \
	insn \
	ADDQ	$64, AX \
	DECQ	CX \
	JNZ	loop \
done: \
	RET

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
// PREFETCHT0 of each line: the loads start together instead of one after
// another.
TEXT ·prefetchLines(SB),NOSPLIT,$0-16
	EACH_LINE(PREFETCHT0 (AX))

// func prefetchWLines(p unsafe.Pointer, lines int)
// PREFETCHW of each line: ownership of lines about to be written is
// requested together instead of one store miss after another. PREFETCHW
// (0F 0D /1) has no mnemonic in the Go assembler; callers check
// hasPrefetchW first.
TEXT ·prefetchWLines(SB),NOSPLIT,$0-16
	EACH_LINE(BYTE $0x0F; BYTE $0x0D; BYTE $0x08)

// func zeroLines(p unsafe.Pointer, lines int)
// CLZERO of each line: the line is taken and zeroed without its old
// contents being read, and without waiting. CLZERO (0F 01 FC, the address
// in AX) has no mnemonic in the Go assembler and is weakly ordered:
// callers order it before their later stores with storeFence, and check
// hasCLZero first.
TEXT ·zeroLines(SB),NOSPLIT,$0-16
	EACH_LINE(BYTE $0x0F; BYTE $0x01; BYTE $0xFC)

// func storeFence()
// SFENCE: the weakly ordered stores before it (CLZERO) become visible
// before the stores after it.
TEXT ·storeFence(SB),NOSPLIT,$0-0
	SFENCE
	RET

// func cpuidExt(leaf uint32) (ebx, ecx uint32)
// EBX and ECX of the extended CPUID leaf (0x80000000 and up), or zeros
// where the CPU's highest extended leaf is below it.
TEXT ·cpuidExt(SB),NOSPLIT,$0-16
	MOVL	$0x80000000, AX
	XORL	CX, CX
	CPUID
	MOVL	leaf+0(FP), DX
	CMPL	AX, DX
	JB	none
	MOVL	DX, AX
	XORL	CX, CX
	CPUID
	MOVL	BX, ebx+8(FP)
	MOVL	CX, ecx+12(FP)
	RET
none:
	MOVL	$0, ebx+8(FP)
	MOVL	$0, ecx+12(FP)
	RET
