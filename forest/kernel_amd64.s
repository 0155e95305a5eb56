#include "textflag.h"

// AVX-512 prediction kernels (see packedForest in predict.go).
//
// walk512 registers: five groups of 16 rows, each (node index, rows 0-7 of
// its 128-byte bin table, gathered node, temp): Z0-Z3, Z4-Z7, Z8-Z11,
// Z12-Z15, Z24-Z27 (rows 8-15 are read from memory by VPERMI2B); Z16-Z23 the
// tree's first 128 nodes; Z28 child mask, Z29 feature mask (byte 3), Z30
// lane offsets, Z31 ones; K1-K4 gather masks, K5 compare, K6 byte 3 of each
// dword. Every step is branch free; only the loop counters branch.

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

DATA bit5<>+0(SB)/4, $32
GLOBL bit5<>(SB), RODATA|NOPTR, $4
DATA bit6<>+0(SB)/4, $64
GLOBL bit6<>(SB), RODATA|NOPTR, $4

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

// STEP gathers the nodes. TOP32 and TOP128 take them from the first 32 or
// 128 nodes, held in Z16-Z23, for the first levels.
#define STEP(idx, lo, hioff, nd, t, km) \
	KXNORW km, km, km \
	VPGATHERDD (DI)(idx*4), km, nd \
	DESCEND(idx, lo, hioff, nd, t)

#define TOP32(idx, lo, hioff, nd, t) \
	VMOVDQA32 idx, nd \
	VPERMI2D Z17, Z16, nd \
	DESCEND(idx, lo, hioff, nd, t)

#define TOP128(idx, lo, hioff, nd, t) \
	VPTESTMD.BCST bit5<>(SB), idx, K1 \
	VPTESTMD.BCST bit6<>(SB), idx, K2 \
	VMOVDQA32 idx, nd \
	VPERMI2D Z17, Z16, nd \
	VMOVDQA32 idx, t \
	VPERMI2D Z19, Z18, t \
	VPBLENDMD t, nd, K1, nd \
	VMOVDQA32 idx, t \
	VPERMI2D Z21, Z20, t \
	VPERMI2D Z23, Z22, idx \
	VPBLENDMD idx, t, K1, t \
	VPBLENDMD t, nd, K2, nd \
	DESCEND(idx, lo, hioff, nd, t)

// ADDROW adds proba row number off(R9) (width floats, reg's size) to acc
// row (R11).
#define ADDROW(off, shift, reg, width) \
	MOVLQSX off(R9), AX \
	SHLQ $shift, AX \
	VMOVUPS (R12)(AX*1), reg \
	VADDPS (R11), reg, reg \
	VMOVUPS reg, (R11) \
	ADDQ $width, R11

// func walk512(nodes *uint32, top *[topNodes]uint32, rows *uint8, n, steps, top32, top128 int, base int32, proba *float32, width int, acc *float32, leaves *[walkRows]int32)
TEXT ·walk512(SB), NOSPLIT, $0-96
	MOVQ nodes+0(FP), DI
	MOVQ top+8(FP), AX
	VMOVDQU32 0(AX), Z16
	VMOVDQU32 64(AX), Z17
	VMOVDQU32 128(AX), Z18
	VMOVDQU32 192(AX), Z19
	VMOVDQU32 256(AX), Z20
	VMOVDQU32 320(AX), Z21
	VMOVDQU32 384(AX), Z22
	VMOVDQU32 448(AX), Z23
	MOVQ rows+16(FP), SI
	MOVQ n+24(FP), DX
	MOVQ steps+32(FP), R8
	MOVQ top32+40(FP), R10
	MOVQ top128+48(FP), R14
	SUBQ R10, R8
	SUBQ R14, R8
	MOVQ proba+64(FP), R12
	MOVQ width+72(FP), R13
	MOVQ acc+80(FP), R11
	MOVQ leaves+88(FP), R9
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
	VPXORD Z0, Z0, Z0
	VMOVDQU64 0(SI), Z1
	VPXORD Z4, Z4, Z4
	VMOVDQU64 128(SI), Z5
	VPXORD Z8, Z8, Z8
	VMOVDQU64 256(SI), Z9
	VPXORD Z12, Z12, Z12
	VMOVDQU64 384(SI), Z13
	VPXORD Z24, Z24, Z24
	VMOVDQU64 512(SI), Z25
	MOVQ R10, CX
	TESTQ CX, CX
	JZ top32end

top32:
	TOP32(Z0, Z1, 64, Z2, Z3)
	TOP32(Z4, Z5, 192, Z6, Z7)
	TOP32(Z8, Z9, 320, Z10, Z11)
	TOP32(Z12, Z13, 448, Z14, Z15)
	TOP32(Z24, Z25, 576, Z26, Z27)
	DECQ CX
	JNZ top32

top32end:
	MOVQ R14, CX
	TESTQ CX, CX
	JZ top128end

top128:
	TOP128(Z0, Z1, 64, Z2, Z3)
	TOP128(Z4, Z5, 192, Z6, Z7)
	TOP128(Z8, Z9, 320, Z10, Z11)
	TOP128(Z12, Z13, 448, Z14, Z15)
	TOP128(Z24, Z25, 576, Z26, Z27)
	DECQ CX
	JNZ top128

top128end:
	MOVQ R8, CX
	TESTQ CX, CX
	JZ gatherend

gather:
	STEP(Z0, Z1, 64, Z2, Z3, K1)
	STEP(Z4, Z5, 192, Z6, Z7, K2)
	STEP(Z8, Z9, 320, Z10, Z11, K3)
	STEP(Z12, Z13, 448, Z14, Z15, K4)
	STEP(Z24, Z25, 576, Z26, Z27, K1)
	DECQ CX
	JNZ gather

gatherend:
	MOVL base+56(FP), AX
	VPBROADCASTD AX, Z1
	VPADDD Z1, Z0, Z0
	VMOVDQU32 Z0, 0(R9)
	VPADDD Z1, Z4, Z4
	VMOVDQU32 Z4, 64(R9)
	VPADDD Z1, Z8, Z8
	VMOVDQU32 Z8, 128(R9)
	VPADDD Z1, Z12, Z12
	VMOVDQU32 Z12, 192(R9)
	VPADDD Z1, Z24, Z24
	VMOVDQU32 Z24, 256(R9)
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
	CMPQ BX, $80
	JNE add8
	JMP next

add16:
	ADDROW(0, 6, Z0, 64)
	ADDROW(4, 6, Z1, 64)
	ADDROW(8, 6, Z2, 64)
	ADDROW(12, 6, Z3, 64)
	ADDQ $16, R9
	ADDQ $4, BX
	CMPQ BX, $80
	JNE add16

next:
	SUBQ $320, R9
	ADDQ $640, SI
	SUBQ $80, DX
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
