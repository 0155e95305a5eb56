#include "textflag.h"

// Lane offsets for VPERMI2B, in byte 3 of each dword: lane j reads the
// bytes of row j (8 bytes a row, 16 rows in a 128-byte table).
DATA lanes<>+0(SB)/4, $0x00000000
DATA lanes<>+4(SB)/4, $0x08000000
DATA lanes<>+8(SB)/4, $0x10000000
DATA lanes<>+12(SB)/4, $0x18000000
DATA lanes<>+16(SB)/4, $0x20000000
DATA lanes<>+20(SB)/4, $0x28000000
DATA lanes<>+24(SB)/4, $0x30000000
DATA lanes<>+28(SB)/4, $0x38000000
DATA lanes<>+32(SB)/4, $0x40000000
DATA lanes<>+36(SB)/4, $0x48000000
DATA lanes<>+40(SB)/4, $0x50000000
DATA lanes<>+44(SB)/4, $0x58000000
DATA lanes<>+48(SB)/4, $0x60000000
DATA lanes<>+52(SB)/4, $0x68000000
DATA lanes<>+56(SB)/4, $0x70000000
DATA lanes<>+60(SB)/4, $0x78000000
GLOBL lanes<>(SB), RODATA|NOPTR, $64

// One step of 16 rows. Node: bin<<24 | feature<<21 | child. The row's bin
// of the node's feature lands in byte 3 (others zeroed by K6), so that
// "bin(x) > node bin" is the unsigned dword compare t > node.
#define DESCEND(idx, lo, hioff, nd, t) \
	VPSLLD $3, nd, t \
	VPTERNLOGD $0xEA, Z30, Z29, t \
	VPERMI2B.Z hioff(SI), lo, K6, t \
	VPCMPUD $6, nd, t, K5 \
	VPANDD Z28, nd, idx \
	VPADDD Z31, idx, K5, idx

// STEP gathers the nodes; TOPSTEP, for the first levels, where every node
// index is below 32, permutes them out of Z24:Z25.
#define STEP(idx, lo, hioff, nd, t, km) \
	KXNORW km, km, km \
	VPGATHERDD (DI)(idx*4), km, nd \
	DESCEND(idx, lo, hioff, nd, t)

#define TOPSTEP(idx, lo, hioff, nd, t) \
	VMOVDQA32 idx, nd \
	VPERMI2D Z25, Z24, nd \
	DESCEND(idx, lo, hioff, nd, t)

#define START(idx, lo, off) \
	VPXORD idx, idx, idx \
	VMOVDQU64 off(SI), lo

#define STORE(idx, off) \
	VPADDD Z27, idx, idx \
	VMOVDQU32 idx, off(R9)

// ADDROW adds proba row number off(R9) (width floats, reg's size) to acc
// row (R11).
#define ADDROW(off, shift, reg, width) \
	MOVLQSX off(R9), AX \
	SHLQ $shift, AX \
	VMOVUPS (R12)(AX*1), reg \
	VADDPS (R11), reg, reg \
	VMOVUPS reg, (R11) \
	ADDQ $width, R11

// func walk512(nodes *uint32, rows *uint8, n, top, steps int, base int32, proba *float32, width int, acc *float32, leaves *[walkRows]int32)
TEXT ·walk512(SB), NOSPLIT, $0-80
	MOVQ nodes+0(FP), DI
	MOVQ rows+8(FP), SI
	MOVQ n+16(FP), DX
	MOVQ top+24(FP), R10
	MOVQ steps+32(FP), R8
	SUBQ R10, R8
	MOVL base+40(FP), AX
	VPBROADCASTD AX, Z27
	MOVQ proba+48(FP), R12
	MOVQ width+56(FP), R13
	MOVQ acc+64(FP), R11
	MOVQ leaves+72(FP), R9
	VMOVDQU32 0(DI), Z24
	VMOVDQU32 64(DI), Z25
	MOVL $1, AX
	VPBROADCASTD AX, Z31
	VMOVDQU32 lanes<>(SB), Z30
	MOVL $0x07000000, AX
	VPBROADCASTD AX, Z29
	MOVL $0x001fffff, AX
	VPBROADCASTD AX, Z28
	MOVQ $0x8888888888888888, AX
	KMOVQ AX, K6
	TESTQ DX, DX
	JZ done

round:
	START(Z0, Z1, 0)
	START(Z4, Z5, 128)
	START(Z8, Z9, 256)
	START(Z12, Z13, 384)
	START(Z16, Z17, 512)
	START(Z20, Z21, 640)
	MOVQ R10, CX
	TESTQ CX, CX
	JZ gather

topstep:
	TOPSTEP(Z0, Z1, 64, Z2, Z3)
	TOPSTEP(Z4, Z5, 192, Z6, Z7)
	TOPSTEP(Z8, Z9, 320, Z10, Z11)
	TOPSTEP(Z12, Z13, 448, Z14, Z15)
	TOPSTEP(Z16, Z17, 576, Z18, Z19)
	TOPSTEP(Z20, Z21, 704, Z22, Z23)
	DECQ CX
	JNZ topstep

gather:
	MOVQ R8, CX
	TESTQ CX, CX
	JZ store

step:
	STEP(Z0, Z1, 64, Z2, Z3, K1)
	STEP(Z4, Z5, 192, Z6, Z7, K2)
	STEP(Z8, Z9, 320, Z10, Z11, K3)
	STEP(Z12, Z13, 448, Z14, Z15, K4)
	STEP(Z16, Z17, 576, Z18, Z19, K1)
	STEP(Z20, Z21, 704, Z22, Z23, K2)
	DECQ CX
	JNZ step

store:
	STORE(Z0, 0)
	STORE(Z4, 64)
	STORE(Z8, 128)
	STORE(Z12, 192)
	STORE(Z16, 256)
	STORE(Z20, 320)
	XORQ BX, BX
	CMPQ R13, $8
	JNE add16

add8:
	ADDROW(0, 5, Y0, 32)
	ADDROW(4, 5, Y1, 32)
	ADDROW(8, 5, Y2, 32)
	ADDROW(12, 5, Y3, 32)
	ADDQ $16, R9
	ADDQ $4, BX
	CMPQ BX, $96
	JNE add8
	JMP next

add16:
	ADDROW(0, 6, Z0, 64)
	ADDROW(4, 6, Z1, 64)
	ADDROW(8, 6, Z2, 64)
	ADDROW(12, 6, Z3, 64)
	ADDQ $16, R9
	ADDQ $4, BX
	CMPQ BX, $96
	JNE add16

next:
	SUBQ $384, R9
	ADDQ $768, SI
	SUBQ $96, DX
	JNZ round

done:
	VZEROUPPER
	RET

// func binColumn512(col *float32, n int, edges *[edgeTable]float32, out *uint8, stride int)
// out[i*stride] = number of edges below col[i] (0 for NaN), by two
// compares of 16: against every 16th edge (edges[256:272]), then against
// the 16 edges of the bucket found.
TEXT ·binColumn512(SB), NOSPLIT, $0-40
	MOVQ col+0(FP), SI
	MOVQ n+8(FP), CX
	MOVQ edges+16(FP), DI
	MOVQ out+24(FP), R9
	MOVQ stride+32(FP), R10
	VMOVUPS 1024(DI), Z0
	TESTQ CX, CX
	JZ bdone

bloop:
	VBROADCASTSS (SI), Z1
	VCMPPS $0x1e, Z0, Z1, K1
	KMOVW K1, AX
	POPCNTL AX, AX
	MOVL AX, DX
	SHLL $6, DX
	VCMPPS $0x1e, (DI)(DX*1), Z1, K2
	KMOVW K2, BX
	POPCNTL BX, BX
	SHLL $4, AX
	ADDL BX, AX
	MOVB AX, (R9)
	ADDQ $4, SI
	ADDQ R10, R9
	DECQ CX
	JNZ bloop

bdone:
	VZEROUPPER
	RET
