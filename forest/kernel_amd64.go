package forest

import "golang.org/x/sys/cpu"

// simdKernel reports whether the AVX-512 kernels can run on this CPU
// (dword gathers for the nodes, VBMI byte permutes for the row lookups).
// Tests switch it off to check the portable path against the same reference.
var simdKernel = cpu.X86.HasAVX512F && cpu.X86.HasAVX512BW && cpu.X86.HasAVX512VBMI

// walk512 walks n rows (a multiple of walkRows; 8 bytes a row, one bin per
// feature) steps steps down packed nodes (see packNode) and adds, for every
// row r, row leaf+base of proba (width floats: 8 or 16) to acc[r*width:],
// where leaf is the node reached. The first top32 steps, then the next
// top128, read the nodes from top[:32] and top[:128] instead of nodes: every
// node reached before them must be there. leaves is scratch.
//
//go:noescape
func walk512(nodes *uint32, top *[topNodes]uint32, rows *uint8, n, steps, top32, top128 int, base int32, proba *float32, width int, acc *float32, leaves *[walkRows]int32)

// binColumn512 sets out[i*stride], for i < n, to the bin of col[i]: the
// number of edges[:256] below it (0 for NaN). edges holds 256 sorted
// thresholds (+Inf padded), then every 16th of them (edges[16c+15]).
//
//go:noescape
func binColumn512(col *float32, n int, edges *[edgeTable]float32, out *uint8, stride int)
