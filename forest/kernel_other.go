//go:build !amd64

package forest

var simdKernel = false

func walk512(nodes *uint32, top *[topNodes]uint32, rows *uint8, n, steps, top32, top128 int, base int32, proba *float32, width int, acc *float32, leaves *[walkRows]int32) {
	panic("forest: walk512 without AVX-512")
}

func binColumn512(col *float32, n int, edges *[edgeTable]float32, out *uint8, stride int) {
	panic("forest: binColumn512 without AVX-512")
}
