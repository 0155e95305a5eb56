package forest

import "golang.org/x/sys/cpu"

// simdKernel reports whether the AVX-512 kernels can run on this CPU
// (dword gathers for the nodes, VBMI byte permutes for the row lookups).
// Tests switch it off to check the portable path against the same reference.
var simdKernel = cpu.X86.HasAVX512F && cpu.X86.HasAVX512BW && cpu.X86.HasAVX512VBMI

// walk512 walks n rows (a multiple of walkRows; 8 bytes a row, one bin per
// feature) steps steps down packed nodes (see packNode) and stores the node
// reached by every row, plus base, in out[:n]. The first top steps (top ≤
// steps) read the nodes from nodes[:32], which must hold every node reached
// before them.
//
//go:noescape
func walk512(nodes *uint32, rows *uint8, n, top, steps int, base int32, out *int32)

// sumRows8 sets out[r*8:r*8+8], for r < n (a multiple of 8), to the sum
// over t < trees, in that order, of the 8-float row rows[t*stride+r] of proba.
//
//go:noescape
func sumRows8(rows *int32, stride, trees int, proba *float32, n int, out *float32)

// sumRows16 is sumRows8 for 16-float rows.
//
//go:noescape
func sumRows16(rows *int32, stride, trees int, proba *float32, n int, out *float32)
