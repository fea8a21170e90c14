// Command asm generates the amd64 assembly kernels of package kernels.
//
// It lives in its own module so that avo is not a dependency of the main
// module. Run it through go generate in the parent directory.
package main

import (
	"fmt"

	. "github.com/mmcloughlin/avo/build"
	. "github.com/mmcloughlin/avo/operand"
	. "github.com/mmcloughlin/avo/reg"
)

// Tuning knobs baked into the kernels. The Go side must agree with the
// panel shapes (see arch_amd64.go).
const (
	avx512MR = 12 // rows of the AVX-512 GEMM tile
	avx512NR = 32 // columns of the AVX-512 GEMM tile (two zmm)
	avx2MR   = 6  // rows of the AVX2 GEMM tile
	avx2NR   = 16 // columns of the AVX2 GEMM tile (two ymm)
)

var (
	zmm = []VecPhysical{Z0, Z1, Z2, Z3, Z4, Z5, Z6, Z7, Z8, Z9, Z10, Z11, Z12, Z13, Z14, Z15,
		Z16, Z17, Z18, Z19, Z20, Z21, Z22, Z23, Z24, Z25, Z26, Z27, Z28, Z29, Z30, Z31}
	ymm  = []VecPhysical{Y0, Y1, Y2, Y3, Y4, Y5, Y6, Y7, Y8, Y9, Y10, Y11, Y12, Y13, Y14, Y15}
	kreg = []Register{K1, K2, K3, K4}
)

var (
	laneMask  Mem // 32 int32: 16 × -1 then 16 × 0; a window at (16-n) has n leading ones
	kTailMask Mem // uint16 (1<<i)-1 for i in 0..16
)

func main() {
	ConstraintExpr("!purego")

	laneMask = GLOBL("laneMask", RODATA|NOPTR)
	for i := 0; i < 32; i++ {
		v := uint32(0)
		if i < 16 {
			v = 0xffffffff
		}
		DATA(4*i, U32(v))
	}
	kTailMask = GLOBL("kTailMask", RODATA|NOPTR)
	for i := 0; i <= 16; i++ {
		DATA(2*i, U16(uint16(1<<i-1)))
	}

	gemmAVX512("sgemmKernelAVX512", avx512MR)
	for r := 1; r <= 6; r++ {
		gemvNAVX512(r)
	}
	for r := 1; r <= 4; r++ {
		gemvTAVX512(r)
	}
	packTAVX512("packT12AVX512", 12)
	packTAVX512("packT32AVX512", 32)
	packNAVX512("packN12AVX512", 12)
	packNAVX512("packN32AVX512", 32)
	dotAVX512()
	axpyAVX512()

	gemmAVX2()
	dotAVX2()
	axpyAVX2()

	Generate()
}

// addr returns the frame address of a scalar argument, so float arguments
// can be broadcast straight from memory without touching a vector register
// the register allocator does not know about.
func addr(name string) Mem {
	b, err := Param(name).Resolve()
	if err != nil {
		panic(err)
	}
	return b.Addr
}

// gemmAVX512 emits the mr×32 microkernel: C[rows×32] = alpha·A·B + beta·C
// over packed panels A (kc×mr) and B (kc×32), masked to the valid columns.
func gemmAVX512(name string, mr int) {
	TEXT(name, NOSPLIT, "func(kc int, a, b, c *float32, ldc int, alpha, beta float32, rows int, mask uint32, accumulate int)")
	Pragma("noescape")
	Doc(fmt.Sprintf("%s computes a %d×32 tile of C from packed panels; see gemm.go.", name, mr))
	kc := Load(Param("kc"), GP64())
	a := Load(Param("a"), GP64())
	b := Load(Param("b"), GP64())
	c := Load(Param("c"), GP64())
	ldc := Load(Param("ldc"), GP64())
	SHLQ(Imm(2), ldc)

	nacc := 2 * mr
	bv0, bv1 := zmm[nacc], zmm[nacc+1]
	bcast := zmm[nacc+2:]
	for i := 0; i < nacc; i++ {
		VPXORD(zmm[i], zmm[i], zmm[i])
	}
	// Pull the C tile towards L1 while the k loop runs.
	cp := GP64()
	MOVQ(c, cp)
	for r := 0; r < mr; r++ {
		PREFETCHT0(Mem{Base: cp})
		PREFETCHT0(Mem{Base: cp, Disp: 64})
		if r < mr-1 {
			ADDQ(ldc, cp)
		}
	}

	step := func(u int) {
		VMOVUPS(Mem{Base: b, Disp: u * 128}, bv0)
		VMOVUPS(Mem{Base: b, Disp: u*128 + 64}, bv1)
		for r := 0; r < mr; r++ {
			bc := bcast[r%len(bcast)]
			VBROADCASTSS(Mem{Base: a, Disp: (u*mr + r) * 4}, bc)
			VFMADD231PS(bv0, bc, zmm[2*r])
			VFMADD231PS(bv1, bc, zmm[2*r+1])
		}
	}
	CMPQ(kc, Imm(4))
	JL(LabelRef("k1"))
	Label("k4")
	for u := 0; u < 4; u++ {
		step(u)
	}
	ADDQ(U32(uint64(4*mr*4)), a)
	ADDQ(U32(4*32*4), b)
	SUBQ(U32(4), kc)
	CMPQ(kc, Imm(4))
	JGE(LabelRef("k4"))
	Label("k1")
	TESTQ(kc, kc)
	JZ(LabelRef("store"))
	Label("k1loop")
	step(0)
	ADDQ(U32(uint64(mr*4)), a)
	ADDQ(U32(32*4), b)
	DECQ(kc)
	JNZ(LabelRef("k1loop"))

	Label("store")
	alpha, beta, t0, t1 := zmm[nacc], zmm[nacc+1], zmm[nacc+2], zmm[nacc+3]
	VBROADCASTSS(addr("alpha"), alpha)
	m := Load(Param("mask"), GP32())
	KMOVW(m, K1)
	SHRL(Imm(16), m)
	KMOVW(m, K2)
	rows := Load(Param("rows"), GP64())
	acc := Load(Param("accumulate"), GP64())
	for i := 0; i < nacc; i++ {
		VMULPS(alpha, zmm[i], zmm[i])
	}
	TESTQ(acc, acc)
	JZ(LabelRef("overwrite"))
	VBROADCASTSS(addr("beta"), beta)
	for r := 0; r < mr; r++ {
		if r > 0 {
			CMPQ(rows, Imm(uint64(r)))
			JLE(LabelRef("done"))
			ADDQ(ldc, c)
		}
		// C = beta·C + alpha·acc, one rounding after the product.
		VMOVUPS_Z(Mem{Base: c}, K1, t0)
		VMOVUPS_Z(Mem{Base: c, Disp: 64}, K2, t1)
		VFMADD231PS(beta, t0, zmm[2*r])
		VFMADD231PS(beta, t1, zmm[2*r+1])
		VMOVUPS(zmm[2*r], K1, Mem{Base: c})
		VMOVUPS(zmm[2*r+1], K2, Mem{Base: c, Disp: 64})
	}
	JMP(LabelRef("done"))
	Label("overwrite")
	for r := 0; r < mr; r++ {
		if r > 0 {
			CMPQ(rows, Imm(uint64(r)))
			JLE(LabelRef("done"))
			ADDQ(ldc, c)
		}
		VMOVUPS(zmm[2*r], K1, Mem{Base: c})
		VMOVUPS(zmm[2*r+1], K2, Mem{Base: c, Disp: 64})
	}
	Label("done")
	VZEROUPPER()
	RET()
}

// gemvNAVX512 emits the small-m kernel for untransposed B: an r×64 strip of
// C accumulated in registers over k rows of B, reading rows of A with
// stride lda and rows of B with stride ldb in place (no packing).
func gemvNAVX512(r int) {
	name := fmt.Sprintf("sgemvN%dAVX512", r)
	TEXT(name, NOSPLIT, "func(k int, a *float32, lda int, b *float32, ldb int, c *float32, ldc int, alpha, beta float32, accumulate int, mask uint64)")
	Pragma("noescape")
	Doc(fmt.Sprintf("%s computes C[%d×64] = alpha·A[%d×k]·B[k×64] + beta·C with B read in place.", name, r, r))
	k := Load(Param("k"), GP64())
	a := Load(Param("a"), GP64())
	lda := Load(Param("lda"), GP64())
	SHLQ(Imm(2), lda)
	a3 := GP64()
	LEAQ(Mem{Base: a, Index: lda, Scale: 2}, a3)
	ADDQ(lda, a3)
	b := Load(Param("b"), GP64())
	ldb := Load(Param("ldb"), GP64())
	SHLQ(Imm(2), ldb)
	m := GP64()
	Load(Param("mask"), m)
	for v := 0; v < 4; v++ {
		KMOVW(m.As32(), kreg[v])
		if v < 3 {
			SHRQ(Imm(16), m)
		}
	}
	nacc := 4 * r
	for i := 0; i < nacc; i++ {
		VPXORD(zmm[i], zmm[i], zmm[i])
	}
	rowAddr := []Mem{
		{Base: a},
		{Base: a, Index: lda, Scale: 1},
		{Base: a, Index: lda, Scale: 2},
		{Base: a3},
		{Base: a, Index: lda, Scale: 4},
		{Base: a3, Index: lda, Scale: 2},
	}
	TESTQ(k, k)
	JZ(LabelRef("store"))
	Label("loop")
	for v := 0; v < 4; v++ {
		VMOVUPS_Z(Mem{Base: b, Disp: 64 * v}, kreg[v], zmm[24+v])
	}
	for i := 0; i < r; i++ {
		bc := zmm[28+i%4]
		VBROADCASTSS(rowAddr[i], bc)
		for v := 0; v < 4; v++ {
			VFMADD231PS(zmm[24+v], bc, zmm[4*i+v])
		}
	}
	ADDQ(U32(4), a)
	ADDQ(U32(4), a3)
	ADDQ(ldb, b)
	DECQ(k)
	JNZ(LabelRef("loop"))

	Label("store")
	alpha, beta, t := zmm[24], zmm[25], zmm[26]
	VBROADCASTSS(addr("alpha"), alpha)
	for i := 0; i < nacc; i++ {
		VMULPS(alpha, zmm[i], zmm[i])
	}
	c := Load(Param("c"), GP64())
	ldc := Load(Param("ldc"), GP64())
	SHLQ(Imm(2), ldc)
	acc := Load(Param("accumulate"), GP64())
	TESTQ(acc, acc)
	JZ(LabelRef("overwrite"))
	VBROADCASTSS(addr("beta"), beta)
	for i := 0; i < r; i++ {
		if i > 0 {
			ADDQ(ldc, c)
		}
		for v := 0; v < 4; v++ {
			VMOVUPS_Z(Mem{Base: c, Disp: 64 * v}, kreg[v], t)
			VFMADD231PS(beta, t, zmm[4*i+v])
			VMOVUPS(zmm[4*i+v], kreg[v], Mem{Base: c, Disp: 64 * v})
		}
	}
	JMP(LabelRef("done"))
	Label("overwrite")
	for i := 0; i < r; i++ {
		if i > 0 {
			ADDQ(ldc, c)
		}
		for v := 0; v < 4; v++ {
			VMOVUPS(zmm[4*i+v], kreg[v], Mem{Base: c, Disp: 64 * v})
		}
	}
	Label("done")
	VZEROUPPER()
	RET()
}

// reduceTo folds the 16 lanes of z into a scalar and stores it at dst. It
// goes through the low registers t0 and t1 so only AVX-512F and AVX
// encodings are needed.
func reduceTo(z, t0, t1 VecPhysical, dst Mem) {
	VSHUFF32X4(Imm(0xee), z, z, t0)
	VADDPS(z, t0, t0)
	x0, x1 := t0.AsX(), t1.AsX()
	VEXTRACTF128(Imm(1), t0.AsY(), x1)
	VADDPS(x1, x0, x0)
	VMOVHLPS(x0, x0, x1)
	VADDPS(x1, x0, x0)
	VMOVSHDUP(x0, x1)
	VADDSS(x1, x0, x0)
	VMOVSS(x0, dst)
}

// gemvTAVX512 emits the small-m kernel for transposed B: dot products of r
// rows of A with 4 rows of B, streaming each B row once.
func gemvTAVX512(r int) {
	name := fmt.Sprintf("sgemvT%dAVX512", r)
	TEXT(name, NOSPLIT, "func(k int, a *float32, lda int, b0, b1, b2, b3 *float32, dst *float32, tail uint16)")
	Pragma("noescape")
	Doc(fmt.Sprintf("%s stores dst[4i+j] = A[i,:]·Bj[:] for i < %d, j < 4; tail masks the last k%%16 elements.", name, r))
	k := Load(Param("k"), GP64())
	a0 := Load(Param("a"), GP64())
	lda := Load(Param("lda"), GP64())
	SHLQ(Imm(2), lda)
	arow := []Register{a0}
	for i := 1; i < r; i++ {
		p := GP64()
		LEAQ(Mem{Base: arow[i-1], Index: lda, Scale: 1}, p)
		arow = append(arow, p)
	}
	brow := []Register{
		Load(Param("b0"), GP64()),
		Load(Param("b1"), GP64()),
		Load(Param("b2"), GP64()),
		Load(Param("b3"), GP64()),
	}
	i := GP64()
	XORQ(i, i)
	// Accumulators live in Z16.. so the final reduction can use VEX
	// encodings on the low registers.
	acc := func(ri, cj int) VecPhysical { return zmm[16+4*ri+cj] }
	for ri := 0; ri < r; ri++ {
		for cj := 0; cj < 4; cj++ {
			VPXORD(acc(ri, cj), acc(ri, cj), acc(ri, cj))
		}
	}
	body := func(masked bool) {
		for cj := 0; cj < 4; cj++ {
			src := Mem{Base: brow[cj], Index: i, Scale: 1}
			if masked {
				VMOVUPS_Z(src, K1, zmm[4+cj])
			} else {
				VMOVUPS(src, zmm[4+cj])
			}
		}
		for ri := 0; ri < r; ri++ {
			src := Mem{Base: arow[ri], Index: i, Scale: 1}
			if masked {
				VMOVUPS_Z(src, K1, zmm[ri])
			} else {
				VMOVUPS(src, zmm[ri])
			}
			for cj := 0; cj < 4; cj++ {
				VFMADD231PS(zmm[4+cj], zmm[ri], acc(ri, cj))
			}
		}
	}
	Label("loop")
	CMPQ(k, Imm(16))
	JL(LabelRef("tail"))
	body(false)
	ADDQ(U32(64), i)
	SUBQ(U32(16), k)
	JMP(LabelRef("loop"))
	Label("tail")
	TESTQ(k, k)
	JZ(LabelRef("reduce"))
	tm := Load(Param("tail"), GP32())
	KMOVW(tm, K1)
	body(true)
	Label("reduce")
	dst := Load(Param("dst"), GP64())
	for ri := 0; ri < r; ri++ {
		for cj := 0; cj < 4; cj++ {
			reduceTo(acc(ri, cj), Z8, Z9, Mem{Base: dst, Disp: 4 * (4*ri + cj)})
		}
	}
	VZEROUPPER()
	RET()
}

// packTAVX512 emits a transposing pack: dst[kk*w+j] = src[j*ld+kk] for
// j < rows and kk < kc, with rows j ≥ rows zeroed. It transposes 16×16
// blocks in registers (64 shuffles per block), which beats gathers by far.
func packTAVX512(name string, w int) {
	TEXT(name, NOSPLIT, "func(dst, src *float32, ld int, kc int, rows int)")
	Pragma("noescape")
	Doc(fmt.Sprintf("%s packs a %d-wide transposed panel; see pack.go.", name, w))
	dst := Load(Param("dst"), GP64())
	src := Load(Param("src"), GP64())
	ld := Load(Param("ld"), GP64())
	SHLQ(Imm(2), ld)
	kc := Load(Param("kc"), GP64())
	rows := Load(Param("rows"), GP64())
	tbl := GP64()
	LEAQ(kTailMask, tbl)
	store := GP32()
	MOVL(U32(0xfff), store)
	KMOVW(store, K5)
	cnt := GP64() // columns in this block
	p := GP64()
	t := GP64()
	Label("block")
	TESTQ(kc, kc)
	JZ(LabelRef("done"))
	MOVQ(kc, cnt)
	CMPQ(cnt, Imm(16))
	JLE(LabelRef("short"))
	MOVQ(U32(16), cnt)
	Label("short")
	KMOVW(Mem{Base: tbl, Index: cnt, Scale: 2}, K2)
	for half := 0; half < w; half += 16 {
		h := fmt.Sprint(half)
		// Rows half..half+15 into Z0..Z15, zero past rows.
		MOVQ(src, p)
		if half > 0 {
			MOVQ(ld, t)
			SHLQ(Imm(4), t)
			ADDQ(t, p)
		}
		n := min(16, w-half)
		zl := func(r int) string { return fmt.Sprintf("zero%d_%d", half, r) }
		first := func(r int) bool { return r == 0 && half == 0 } // always valid
		for r := 0; r < n; r++ {
			if !first(r) {
				CMPQ(rows, Imm(uint64(half+r)))
				JLE(LabelRef(zl(r)))
			}
			if r > 0 {
				ADDQ(ld, p)
			}
			VMOVUPS_Z(Mem{Base: p}, K2, zmm[r])
		}
		JMP(LabelRef(zl(n)))
		// Missing rows: entered at the first one, falls through the rest.
		for r := 0; r < n; r++ {
			if !first(r) {
				Label(zl(r))
				VPXORD(zmm[r], zmm[r], zmm[r])
			}
		}
		Label(zl(n))
		for r := n; r < 16; r++ {
			VPXORD(zmm[r], zmm[r], zmm[r])
		}
		transpose16()
		// Row kk of the block is now in Z(kk).
		for c := 0; c < 16; c++ {
			if c > 0 {
				CMPQ(cnt, Imm(uint64(c)))
				JLE(LabelRef("stored" + h))
			}
			m := Mem{Base: dst, Disp: 4*w*c + 4*half}
			if w-half < 16 {
				VMOVUPS(zmm[c], K5, m)
			} else {
				VMOVUPS(zmm[c], m)
			}
		}
		Label("stored" + h)
	}
	MOVQ(cnt, p)
	SHLQ(Imm(2), p)
	ADDQ(p, src)
	IMUL3Q(Imm(uint64(w)), p, p)
	ADDQ(p, dst)
	SUBQ(cnt, kc)
	JMP(LabelRef("block"))
	Label("done")
	VZEROUPPER()
	RET()
}

// transpose16 transposes the 16×16 matrix whose rows are Z0..Z15, in
// place, using Z16..Z31 as scratch.
func transpose16() {
	r, t := zmm[:16], zmm[16:]
	// Go operand order: op imm, b, a, dst for the intrinsic op(a, b, imm).
	for i := 0; i < 16; i += 2 {
		VUNPCKLPS(r[i+1], r[i], t[i])
		VUNPCKHPS(r[i+1], r[i], t[i+1])
	}
	for i := 0; i < 16; i += 4 {
		VSHUFPS(Imm(0x44), t[i+2], t[i], r[i])
		VSHUFPS(Imm(0xee), t[i+2], t[i], r[i+1])
		VSHUFPS(Imm(0x44), t[i+3], t[i+1], r[i+2])
		VSHUFPS(Imm(0xee), t[i+3], t[i+1], r[i+3])
	}
	for i := 0; i < 16; i += 8 {
		for j := 0; j < 4; j++ {
			VSHUFF32X4(Imm(0x88), r[i+4+j], r[i+j], t[i+j])
			VSHUFF32X4(Imm(0xdd), r[i+4+j], r[i+j], t[i+4+j])
		}
	}
	for j := 0; j < 8; j++ {
		VSHUFF32X4(Imm(0x88), t[8+j], t[j], r[j])
		VSHUFF32X4(Imm(0xdd), t[8+j], t[j], r[8+j])
	}
}

// packNAVX512 emits a row-copying pack: dst[kk*w+j] = src[kk*ld+j] for the
// columns j in mask, zero elsewhere.
func packNAVX512(name string, w int) {
	TEXT(name, NOSPLIT, "func(dst, src *float32, ld int, kc int, mask uint32)")
	Pragma("noescape")
	Doc(fmt.Sprintf("%s packs a %d-wide untransposed panel; see pack.go.", name, w))
	dst := Load(Param("dst"), GP64())
	src := Load(Param("src"), GP64())
	ld := Load(Param("ld"), GP64())
	SHLQ(Imm(2), ld)
	kc := Load(Param("kc"), GP64())
	m := Load(Param("mask"), GP32())
	KMOVW(m, K1)
	SHRL(Imm(16), m)
	KMOVW(m, K2)
	store := GP32()
	MOVL(U32(0xfff), store)
	KMOVW(store, K3)
	TESTQ(kc, kc)
	JZ(LabelRef("done"))
	Label("loop")
	VMOVUPS_Z(Mem{Base: src}, K1, Z0)
	if w > 16 {
		VMOVUPS_Z(Mem{Base: src, Disp: 64}, K2, Z1)
		VMOVUPS(Z0, Mem{Base: dst})
		VMOVUPS(Z1, Mem{Base: dst, Disp: 64})
	} else {
		VMOVUPS(Z0, K3, Mem{Base: dst})
	}
	ADDQ(ld, src)
	ADDQ(U32(uint64(4*w)), dst)
	DECQ(kc)
	JNZ(LabelRef("loop"))
	Label("done")
	VZEROUPPER()
	RET()
}

func dotAVX512() {
	TEXT("dotAVX512", NOSPLIT, "func(x, y *float32, n int) float32")
	Pragma("noescape")
	Doc("dotAVX512 returns the dot product of x[:n] and y[:n].")
	x := Load(Param("x"), GP64())
	y := Load(Param("y"), GP64())
	n := Load(Param("n"), GP64())
	for i := 0; i < 4; i++ {
		VPXORD(zmm[i], zmm[i], zmm[i])
	}
	Label("loop64")
	CMPQ(n, Imm(64))
	JL(LabelRef("loop16"))
	for i := 0; i < 4; i++ {
		VMOVUPS(Mem{Base: x, Disp: 64 * i}, zmm[4+i])
		VFMADD231PS(Mem{Base: y, Disp: 64 * i}, zmm[4+i], zmm[i])
	}
	ADDQ(U32(256), x)
	ADDQ(U32(256), y)
	SUBQ(U32(64), n)
	JMP(LabelRef("loop64"))
	Label("loop16")
	CMPQ(n, Imm(16))
	JL(LabelRef("tail"))
	VMOVUPS(Mem{Base: x}, Z4)
	VFMADD231PS(Mem{Base: y}, Z4, Z0)
	ADDQ(U32(64), x)
	ADDQ(U32(64), y)
	SUBQ(U32(16), n)
	JMP(LabelRef("loop16"))
	Label("tail")
	TESTQ(n, n)
	JZ(LabelRef("reduce"))
	tbl := GP64()
	LEAQ(kTailMask, tbl)
	KMOVW(Mem{Base: tbl, Index: n, Scale: 2}, K1)
	VMOVUPS_Z(Mem{Base: x}, K1, Z4)
	VMOVUPS_Z(Mem{Base: y}, K1, Z5)
	VFMADD231PS(Z5, Z4, Z1)
	Label("reduce")
	VADDPS(Z1, Z0, Z0)
	VADDPS(Z3, Z2, Z2)
	VADDPS(Z2, Z0, Z0)
	VSHUFF32X4(Imm(0xee), Z0, Z0, Z8)
	VADDPS(Z0, Z8, Z8)
	VEXTRACTF128(Imm(1), Y8, X9)
	VADDPS(X9, X8, X8)
	VMOVHLPS(X8, X8, X9)
	VADDPS(X9, X8, X8)
	VMOVSHDUP(X8, X9)
	VADDSS(X9, X8, X0)
	VZEROUPPER()
	Store(X0, ReturnIndex(0))
	RET()
}

func axpyAVX512() {
	TEXT("axpyAVX512", NOSPLIT, "func(alpha float32, x, y *float32, n int)")
	Pragma("noescape")
	Doc("axpyAVX512 computes y[:n] += alpha·x[:n].")
	VBROADCASTSS(addr("alpha"), Z31)
	x := Load(Param("x"), GP64())
	y := Load(Param("y"), GP64())
	n := Load(Param("n"), GP64())
	Label("loop64")
	CMPQ(n, Imm(64))
	JL(LabelRef("loop16"))
	for i := 0; i < 4; i++ {
		VMOVUPS(Mem{Base: y, Disp: 64 * i}, zmm[i])
		VFMADD231PS(Mem{Base: x, Disp: 64 * i}, Z31, zmm[i])
		VMOVUPS(zmm[i], Mem{Base: y, Disp: 64 * i})
	}
	ADDQ(U32(256), x)
	ADDQ(U32(256), y)
	SUBQ(U32(64), n)
	JMP(LabelRef("loop64"))
	Label("loop16")
	CMPQ(n, Imm(16))
	JL(LabelRef("tail"))
	VMOVUPS(Mem{Base: y}, Z0)
	VFMADD231PS(Mem{Base: x}, Z31, Z0)
	VMOVUPS(Z0, Mem{Base: y})
	ADDQ(U32(64), x)
	ADDQ(U32(64), y)
	SUBQ(U32(16), n)
	JMP(LabelRef("loop16"))
	Label("tail")
	TESTQ(n, n)
	JZ(LabelRef("done"))
	tbl := GP64()
	LEAQ(kTailMask, tbl)
	KMOVW(Mem{Base: tbl, Index: n, Scale: 2}, K1)
	VMOVUPS_Z(Mem{Base: y}, K1, Z0)
	VMOVUPS_Z(Mem{Base: x}, K1, Z1)
	VFMADD231PS(Z1, Z31, Z0)
	VMOVUPS(Z0, K1, Mem{Base: y})
	Label("done")
	VZEROUPPER()
	RET()
}

// gemmAVX2 emits the 6×16 AVX2+FMA microkernel with the same contract as
// the AVX-512 one, except that the valid columns are given as a count.
func gemmAVX2() {
	const mr = avx2MR
	TEXT("sgemmKernelAVX2", NOSPLIT, "func(kc int, a, b, c *float32, ldc int, alpha, beta float32, rows int, cols int, accumulate int)")
	Pragma("noescape")
	Doc("sgemmKernelAVX2 computes a 6×16 tile of C from packed panels; see gemm.go.")
	kc := Load(Param("kc"), GP64())
	a := Load(Param("a"), GP64())
	b := Load(Param("b"), GP64())
	c := Load(Param("c"), GP64())
	ldc := Load(Param("ldc"), GP64())
	SHLQ(Imm(2), ldc)
	for i := 0; i < 2*mr; i++ {
		VXORPS(ymm[i], ymm[i], ymm[i])
	}
	cp := GP64()
	MOVQ(c, cp)
	for r := 0; r < mr; r++ {
		PREFETCHT0(Mem{Base: cp})
		PREFETCHT0(Mem{Base: cp, Disp: 60})
		if r < mr-1 {
			ADDQ(ldc, cp)
		}
	}
	step := func(u int) {
		VMOVUPS(Mem{Base: b, Disp: u * 64}, Y12)
		VMOVUPS(Mem{Base: b, Disp: u*64 + 32}, Y13)
		for r := 0; r < mr; r++ {
			bc := ymm[14+r%2]
			VBROADCASTSS(Mem{Base: a, Disp: (u*mr + r) * 4}, bc)
			VFMADD231PS(Y12, bc, ymm[2*r])
			VFMADD231PS(Y13, bc, ymm[2*r+1])
		}
	}
	CMPQ(kc, Imm(4))
	JL(LabelRef("k1"))
	Label("k4")
	for u := 0; u < 4; u++ {
		step(u)
	}
	ADDQ(U32(4*mr*4), a)
	ADDQ(U32(4*16*4), b)
	SUBQ(U32(4), kc)
	CMPQ(kc, Imm(4))
	JGE(LabelRef("k4"))
	Label("k1")
	TESTQ(kc, kc)
	JZ(LabelRef("store"))
	Label("k1loop")
	step(0)
	ADDQ(U32(mr*4), a)
	ADDQ(U32(16*4), b)
	DECQ(kc)
	JNZ(LabelRef("k1loop"))

	Label("store")
	VBROADCASTSS(addr("alpha"), Y14)
	for i := 0; i < 2*mr; i++ {
		VMULPS(Y14, ymm[i], ymm[i])
	}
	VBROADCASTSS(addr("beta"), Y15)
	cols := Load(Param("cols"), GP64())
	off := GP64()
	MOVQ(U32(16), off)
	SUBQ(cols, off)
	tbl := GP64()
	LEAQ(laneMask, tbl)
	VMOVDQU(Mem{Base: tbl, Index: off, Scale: 4}, Y12)
	VMOVDQU(Mem{Base: tbl, Index: off, Scale: 4, Disp: 32}, Y13)
	rows := Load(Param("rows"), GP64())
	acc := Load(Param("accumulate"), GP64())
	TESTQ(acc, acc)
	JZ(LabelRef("overwrite"))
	for r := 0; r < mr; r++ {
		if r > 0 {
			CMPQ(rows, Imm(uint64(r)))
			JLE(LabelRef("done"))
			ADDQ(ldc, c)
		}
		VMASKMOVPS(Mem{Base: c}, Y12, Y14)
		VFMADD231PS(Y15, Y14, ymm[2*r])
		VMASKMOVPS(ymm[2*r], Y12, Mem{Base: c})
		VMASKMOVPS(Mem{Base: c, Disp: 32}, Y13, Y14)
		VFMADD231PS(Y15, Y14, ymm[2*r+1])
		VMASKMOVPS(ymm[2*r+1], Y13, Mem{Base: c, Disp: 32})
	}
	JMP(LabelRef("done"))
	Label("overwrite")
	for r := 0; r < mr; r++ {
		if r > 0 {
			CMPQ(rows, Imm(uint64(r)))
			JLE(LabelRef("done"))
			ADDQ(ldc, c)
		}
		VMASKMOVPS(ymm[2*r], Y12, Mem{Base: c})
		VMASKMOVPS(ymm[2*r+1], Y13, Mem{Base: c, Disp: 32})
	}
	Label("done")
	VZEROUPPER()
	RET()
}

func dotAVX2() {
	TEXT("dotAVX2", NOSPLIT, "func(x, y *float32, n int) float32")
	Pragma("noescape")
	Doc("dotAVX2 returns the dot product of x[:n] and y[:n].")
	x := Load(Param("x"), GP64())
	y := Load(Param("y"), GP64())
	n := Load(Param("n"), GP64())
	for i := 0; i < 4; i++ {
		VXORPS(ymm[i], ymm[i], ymm[i])
	}
	Label("loop32")
	CMPQ(n, Imm(32))
	JL(LabelRef("loop8"))
	for i := 0; i < 4; i++ {
		VMOVUPS(Mem{Base: x, Disp: 32 * i}, ymm[4+i])
		VFMADD231PS(Mem{Base: y, Disp: 32 * i}, ymm[4+i], ymm[i])
	}
	ADDQ(U32(128), x)
	ADDQ(U32(128), y)
	SUBQ(U32(32), n)
	JMP(LabelRef("loop32"))
	Label("loop8")
	CMPQ(n, Imm(8))
	JL(LabelRef("tail"))
	VMOVUPS(Mem{Base: x}, Y4)
	VFMADD231PS(Mem{Base: y}, Y4, Y0)
	ADDQ(U32(32), x)
	ADDQ(U32(32), y)
	SUBQ(U32(8), n)
	JMP(LabelRef("loop8"))
	Label("tail")
	TESTQ(n, n)
	JZ(LabelRef("reduce"))
	off := GP64()
	MOVQ(U32(16), off)
	SUBQ(n, off)
	tbl := GP64()
	LEAQ(laneMask, tbl)
	VMOVDQU(Mem{Base: tbl, Index: off, Scale: 4}, Y6)
	VMASKMOVPS(Mem{Base: x}, Y6, Y4)
	VMASKMOVPS(Mem{Base: y}, Y6, Y5)
	VFMADD231PS(Y5, Y4, Y1)
	Label("reduce")
	VADDPS(Y1, Y0, Y0)
	VADDPS(Y3, Y2, Y2)
	VADDPS(Y2, Y0, Y0)
	VEXTRACTF128(Imm(1), Y0, X9)
	VADDPS(X9, X0, X0)
	VMOVHLPS(X0, X0, X9)
	VADDPS(X9, X0, X0)
	VMOVSHDUP(X0, X9)
	VADDSS(X9, X0, X0)
	VZEROUPPER()
	Store(X0, ReturnIndex(0))
	RET()
}

func axpyAVX2() {
	TEXT("axpyAVX2", NOSPLIT, "func(alpha float32, x, y *float32, n int)")
	Pragma("noescape")
	Doc("axpyAVX2 computes y[:n] += alpha·x[:n].")
	VBROADCASTSS(addr("alpha"), Y15)
	x := Load(Param("x"), GP64())
	y := Load(Param("y"), GP64())
	n := Load(Param("n"), GP64())
	Label("loop32")
	CMPQ(n, Imm(32))
	JL(LabelRef("loop8"))
	for i := 0; i < 4; i++ {
		VMOVUPS(Mem{Base: y, Disp: 32 * i}, ymm[i])
		VFMADD231PS(Mem{Base: x, Disp: 32 * i}, Y15, ymm[i])
		VMOVUPS(ymm[i], Mem{Base: y, Disp: 32 * i})
	}
	ADDQ(U32(128), x)
	ADDQ(U32(128), y)
	SUBQ(U32(32), n)
	JMP(LabelRef("loop32"))
	Label("loop8")
	CMPQ(n, Imm(8))
	JL(LabelRef("tail"))
	VMOVUPS(Mem{Base: y}, Y0)
	VFMADD231PS(Mem{Base: x}, Y15, Y0)
	VMOVUPS(Y0, Mem{Base: y})
	ADDQ(U32(32), x)
	ADDQ(U32(32), y)
	SUBQ(U32(8), n)
	JMP(LabelRef("loop8"))
	Label("tail")
	TESTQ(n, n)
	JZ(LabelRef("done"))
	off := GP64()
	MOVQ(U32(16), off)
	SUBQ(n, off)
	tbl := GP64()
	LEAQ(laneMask, tbl)
	VMOVDQU(Mem{Base: tbl, Index: off, Scale: 4}, Y6)
	VMASKMOVPS(Mem{Base: y}, Y6, Y0)
	VMASKMOVPS(Mem{Base: x}, Y6, Y1)
	VFMADD231PS(Y1, Y15, Y0)
	VMASKMOVPS(Y0, Y6, Mem{Base: y})
	Label("done")
	VZEROUPPER()
	RET()
}
