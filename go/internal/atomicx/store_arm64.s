#include "textflag.h"

// STLR: store-release.

// func StoreRel32(addr *uint32, v uint32)
TEXT ·StoreRel32(SB), NOSPLIT, $0-12
	MOVD addr+0(FP), R0
	MOVWU v+8(FP), R1
	STLRW R1, (R0)
	RET

// func StoreRel64(addr *uint64, v uint64)
TEXT ·StoreRel64(SB), NOSPLIT, $0-16
	MOVD addr+0(FP), R0
	MOVD v+8(FP), R1
	STLR R1, (R0)
	RET
