package kernels

// The small-m paths compute C for m ≤ smallM untransposed rows of A. They
// read B in place, once, in units of columns of C: smallNUnit columns when
// B is k×n (a strip of each row of B), smallTUnit columns when B is n×k
// (whole rows of B). Workers get whole units, and every element of C is
// computed the same way whatever unit range it falls in, so the results
// do not depend on the split.
const (
	smallNUnit = 64
	smallTUnit = 4

	// smallNDepth is how many rows of B the AVX-512 kernel for
	// untransposed B sweeps at a time (see smallNAVX512). It is fixed,
	// like kc, since it decides where sums are rounded into C.
	smallNDepth = 16
)

// smallJob runs a small-m product on the workers, over column units.
type smallJob struct {
	p  gemmParams
	ar *arch
}

// Run computes the column units [lo, hi).
func (j *smallJob) Run(worker, lo, hi int) {
	if j.p.transB {
		j.ar.smallT(j.p, lo, hi)
	} else {
		j.ar.smallN(j.p, lo, hi)
	}
}

func (c *CPU) smallParallel(p *gemmParams) {
	if c.threads == 1 || p.m*p.n*p.k < minParallelFlops {
		gemmSerial(c.ws[0], p)
		return
	}
	units := ceilDiv(p.n, smallNUnit)
	if p.transB {
		units = ceilDiv(p.n, smallTUnit)
	}
	j := &c.small
	j.p, j.ar = *p, c.arch
	c.run(units, 1, j)
	j.p = gemmParams{}
}

// smallNVia returns a small-m kernel for untransposed B built on axpy: each
// row of B updates a strip of every row of C, which stays in cache.
func smallNVia(axpy func(alpha float32, x, y []float32)) func(p gemmParams, lo, hi int) {
	return func(p gemmParams, lo, hi int) {
		const strip = 8 // units per pass: m rows of 512 columns of C fit in L2
		for u0 := lo; u0 < hi; u0 += strip {
			j0 := u0 * smallNUnit
			j1 := min(min(u0+strip, hi)*smallNUnit, p.n)
			for i := 0; i < p.m; i++ {
				row := p.c[i*p.ldc+j0 : i*p.ldc+j1]
				if p.beta == 0 {
					clear(row)
				} else if p.beta != 1 {
					for j := range row {
						row[j] *= p.beta
					}
				}
			}
			for kk := 0; kk < p.k; kk++ {
				brow := p.b[kk*p.ldb+j0 : kk*p.ldb+j1]
				for i := 0; i < p.m; i++ {
					axpy(p.alpha*p.a[i*p.lda+kk], brow, p.c[i*p.ldc+j0:i*p.ldc+j1])
				}
			}
		}
	}
}

// smallTVia returns a small-m kernel for transposed B built on dot: each
// element of C is the dot product of a row of A and a row of B.
func smallTVia(dot func(x, y []float32) float32) func(p gemmParams, lo, hi int) {
	return func(p gemmParams, lo, hi int) {
		for j := lo * smallTUnit; j < min(hi*smallTUnit, p.n); j++ {
			brow := p.b[j*p.ldb : j*p.ldb+p.k]
			for i := 0; i < p.m; i++ {
				s := dot(p.a[i*p.lda:i*p.lda+p.k], brow)
				ci := &p.c[i*p.ldc+j]
				v := p.alpha * s
				if p.beta != 0 {
					v += p.beta * *ci
				}
				*ci = v
			}
		}
	}
}

var (
	smallNGo = smallNVia(axpyGo)
	smallTGo = smallTVia(dotGo)
)
