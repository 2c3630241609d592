//go:build linux && amd64

#include "textflag.h"

// func futexWake1(addr *uint32) uintptr
TEXT ·futexWake1(SB), NOSPLIT, $0-16
	MOVQ	addr+0(FP), DI
	MOVQ	$1, SI		// FUTEX_WAKE (shared: no FUTEX_PRIVATE_FLAG)
	MOVQ	$1, DX		// wake at most one waiter
	XORQ	R10, R10
	XORQ	R8, R8
	XORQ	R9, R9
	MOVQ	$202, AX	// SYS_futex
	SYSCALL
	CMPQ	AX, $0xfffffffffffff001
	JLS	ok
	NEGQ	AX
	MOVQ	AX, ret+8(FP)
	RET
ok:
	MOVQ	$0, ret+8(FP)
	RET
