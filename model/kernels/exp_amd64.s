//go:build !purego

#include "textflag.h"

// Cephes expf constants as float32 bit patterns (see exp.go).
DATA expk<>+0(SB)/4, $0x3fb8aa3b  // log2 e
DATA expk<>+4(SB)/4, $0x3f318000  // c1
DATA expk<>+8(SB)/4, $0xb95e8083  // c2
DATA expk<>+12(SB)/4, $0x39506967 // p0
DATA expk<>+16(SB)/4, $0x3ab743ce // p1
DATA expk<>+20(SB)/4, $0x3c088908 // p2
DATA expk<>+24(SB)/4, $0x3d2aa9c1 // p3
DATA expk<>+28(SB)/4, $0x3e2aaaaa // p4
DATA expk<>+32(SB)/4, $0x3f000000 // p5
DATA expk<>+36(SB)/4, $0xc2adcccd // lo
DATA expk<>+40(SB)/4, $0x42b17217 // hi
DATA expk<>+44(SB)/4, $0x3f800000 // 1
DATA expk<>+48(SB)/4, $126       // exponent bias − 1 (one factor 2 applied apart)
GLOBL expk<>(SB), RODATA|NOPTR, $52

// func expShiftAVX512(dst, src *float32, n int, shift, scale float32, store int, acc *[16]float32)
TEXT ·expShiftAVX512(SB), NOSPLIT, $0-48
	MOVQ dst+0(FP), DI
	MOVQ src+8(FP), SI
	MOVQ n+16(FP), CX
	VBROADCASTSS shift+24(FP), Z20
	VBROADCASTSS scale+28(FP), Z21
	MOVQ store+32(FP), DX
	MOVQ acc+40(FP), R8
	VBROADCASTSS expk<>+0(SB), Z22
	VBROADCASTSS expk<>+4(SB), Z23
	VBROADCASTSS expk<>+8(SB), Z24
	VBROADCASTSS expk<>+12(SB), Z25
	VBROADCASTSS expk<>+16(SB), Z26
	VBROADCASTSS expk<>+20(SB), Z27
	VBROADCASTSS expk<>+24(SB), Z28
	VBROADCASTSS expk<>+28(SB), Z29
	VBROADCASTSS expk<>+32(SB), Z30
	VBROADCASTSS expk<>+36(SB), Z18
	VBROADCASTSS expk<>+40(SB), Z19
	VBROADCASTSS expk<>+44(SB), Z17
	VPBROADCASTD expk<>+48(SB), Z16
	VXORPS Z15, Z15, Z15

loop:
	VMOVUPS (SI), Z0
	VSUBPS Z20, Z0, Z0            // x = src − shift
	VMAXPS Z18, Z0, Z0
	VMINPS Z19, Z0, Z0
	VMULPS Z22, Z0, Z1
	VRNDSCALEPS $0, Z1, Z1        // n = round(x·log2 e)
	VFNMADD231PS Z23, Z1, Z0      // r = x − n·c1
	VFNMADD231PS Z24, Z1, Z0      //     − n·c2
	VMOVAPS Z25, Z2               // p = p0
	VFMADD213PS Z26, Z0, Z2       // p = p·r + p1
	VFMADD213PS Z27, Z0, Z2
	VFMADD213PS Z28, Z0, Z2
	VFMADD213PS Z29, Z0, Z2
	VFMADD213PS Z30, Z0, Z2       // p = p·r + p5
	VMULPS Z0, Z0, Z3             // r²
	VFMADD213PS Z0, Z3, Z2        // p·r² + r
	VADDPS Z17, Z2, Z2            // + 1
	VCVTPS2DQ Z1, Z4
	VPADDD Z16, Z4, Z4
	VPSLLD $23, Z4, Z4            // 2^(n−1) as float bits
	VMULPS Z4, Z2, Z2
	VADDPS Z2, Z2, Z2             // · 2
	VADDPS Z2, Z15, Z15
	TESTQ DX, DX
	JZ next
	VMULPS Z21, Z2, Z5
	VMOVUPS Z5, (DI)
	ADDQ $64, DI

next:
	ADDQ $64, SI
	SUBQ $16, CX
	JNZ loop
	VMOVUPS Z15, (R8)
	VZEROUPPER
	RET
