#include "textflag.h"

// x86-64 keeps stores in program order (TSO): a plain MOV is a release
// store.

// func StoreRel32(addr *uint32, v uint32)
TEXT ·StoreRel32(SB), NOSPLIT, $0-12
	MOVQ addr+0(FP), AX
	MOVL v+8(FP), BX
	MOVL BX, 0(AX)
	RET

// func StoreRel64(addr *uint64, v uint64)
TEXT ·StoreRel64(SB), NOSPLIT, $0-16
	MOVQ addr+0(FP), AX
	MOVQ v+8(FP), BX
	MOVQ BX, 0(AX)
	RET
