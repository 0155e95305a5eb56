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

// func walk512(nodes *uint32, rows *uint8, n, top, steps int, base int32, out *int32)
TEXT ·walk512(SB), NOSPLIT, $0-56
	MOVQ nodes+0(FP), DI
	MOVQ rows+8(FP), SI
	MOVQ n+16(FP), DX
	MOVQ top+24(FP), R10
	MOVQ steps+32(FP), R8
	SUBQ R10, R8
	MOVL base+40(FP), AX
	VPBROADCASTD AX, Z27
	MOVQ out+48(FP), R9
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
	ADDQ $768, SI
	ADDQ $384, R9
	SUBQ $96, DX
	JNZ round

done:
	VZEROUPPER
	RET

// func sumRows8(rows *int32, stride, trees int, proba *float32, n int, out *float32)
// out[r*8:r*8+8] = sum over t of proba[rows[t*stride+r]*8 :][:8], t in order,
// for r < n (a multiple of 8).
TEXT ·sumRows8(SB), NOSPLIT, $0-48
	MOVQ rows+0(FP), SI
	MOVQ stride+8(FP), R10
	SHLQ $2, R10
	MOVQ trees+16(FP), R11
	MOVQ proba+24(FP), DI
	MOVQ n+32(FP), DX
	MOVQ out+40(FP), R9
	TESTQ DX, DX
	JZ sdone

srow:
	VXORPS Y0, Y0, Y0
	VXORPS Y1, Y1, Y1
	VXORPS Y2, Y2, Y2
	VXORPS Y3, Y3, Y3
	VXORPS Y4, Y4, Y4
	VXORPS Y5, Y5, Y5
	VXORPS Y6, Y6, Y6
	VXORPS Y7, Y7, Y7
	MOVQ SI, BX
	MOVQ R11, CX

stree:
	MOVLQSX 0(BX), AX
	SHLQ $5, AX
	VADDPS (DI)(AX*1), Y0, Y0
	MOVLQSX 4(BX), AX
	SHLQ $5, AX
	VADDPS (DI)(AX*1), Y1, Y1
	MOVLQSX 8(BX), AX
	SHLQ $5, AX
	VADDPS (DI)(AX*1), Y2, Y2
	MOVLQSX 12(BX), AX
	SHLQ $5, AX
	VADDPS (DI)(AX*1), Y3, Y3
	MOVLQSX 16(BX), AX
	SHLQ $5, AX
	VADDPS (DI)(AX*1), Y4, Y4
	MOVLQSX 20(BX), AX
	SHLQ $5, AX
	VADDPS (DI)(AX*1), Y5, Y5
	MOVLQSX 24(BX), AX
	SHLQ $5, AX
	VADDPS (DI)(AX*1), Y6, Y6
	MOVLQSX 28(BX), AX
	SHLQ $5, AX
	VADDPS (DI)(AX*1), Y7, Y7
	ADDQ R10, BX
	DECQ CX
	JNZ stree

	VMOVUPS Y0, 0(R9)
	VMOVUPS Y1, 32(R9)
	VMOVUPS Y2, 64(R9)
	VMOVUPS Y3, 96(R9)
	VMOVUPS Y4, 128(R9)
	VMOVUPS Y5, 160(R9)
	VMOVUPS Y6, 192(R9)
	VMOVUPS Y7, 224(R9)
	ADDQ $32, SI
	ADDQ $256, R9
	SUBQ $8, DX
	JNZ srow

sdone:
	VZEROUPPER
	RET

// func sumRows16(rows *int32, stride, trees int, proba *float32, n int, out *float32)
// sumRows8 with 16 classes a row.
TEXT ·sumRows16(SB), NOSPLIT, $0-48
	MOVQ rows+0(FP), SI
	MOVQ stride+8(FP), R10
	SHLQ $2, R10
	MOVQ trees+16(FP), R11
	MOVQ proba+24(FP), DI
	MOVQ n+32(FP), DX
	MOVQ out+40(FP), R9
	TESTQ DX, DX
	JZ zdone

zrow:
	VPXORD Z0, Z0, Z0
	VPXORD Z1, Z1, Z1
	VPXORD Z2, Z2, Z2
	VPXORD Z3, Z3, Z3
	VPXORD Z4, Z4, Z4
	VPXORD Z5, Z5, Z5
	VPXORD Z6, Z6, Z6
	VPXORD Z7, Z7, Z7
	MOVQ SI, BX
	MOVQ R11, CX

ztree:
	MOVLQSX 0(BX), AX
	SHLQ $6, AX
	VADDPS (DI)(AX*1), Z0, Z0
	MOVLQSX 4(BX), AX
	SHLQ $6, AX
	VADDPS (DI)(AX*1), Z1, Z1
	MOVLQSX 8(BX), AX
	SHLQ $6, AX
	VADDPS (DI)(AX*1), Z2, Z2
	MOVLQSX 12(BX), AX
	SHLQ $6, AX
	VADDPS (DI)(AX*1), Z3, Z3
	MOVLQSX 16(BX), AX
	SHLQ $6, AX
	VADDPS (DI)(AX*1), Z4, Z4
	MOVLQSX 20(BX), AX
	SHLQ $6, AX
	VADDPS (DI)(AX*1), Z5, Z5
	MOVLQSX 24(BX), AX
	SHLQ $6, AX
	VADDPS (DI)(AX*1), Z6, Z6
	MOVLQSX 28(BX), AX
	SHLQ $6, AX
	VADDPS (DI)(AX*1), Z7, Z7
	ADDQ R10, BX
	DECQ CX
	JNZ ztree

	VMOVUPS Z0, 0(R9)
	VMOVUPS Z1, 64(R9)
	VMOVUPS Z2, 128(R9)
	VMOVUPS Z3, 192(R9)
	VMOVUPS Z4, 256(R9)
	VMOVUPS Z5, 320(R9)
	VMOVUPS Z6, 384(R9)
	VMOVUPS Z7, 448(R9)
	ADDQ $32, SI
	ADDQ $512, R9
	SUBQ $8, DX
	JNZ zrow

zdone:
	VZEROUPPER
	RET
