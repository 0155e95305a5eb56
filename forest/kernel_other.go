//go:build !amd64

package forest

var simdKernel = false

func walk512(nodes *uint32, rows *uint8, n, top, steps int, base int32, out *int32) {
	panic("forest: walk512 without AVX-512")
}

func sumRows8(rows *int32, stride, trees int, proba *float32, n int, out *float32) {
	panic("forest: sumRows8 without AVX-512")
}

func sumRows16(rows *int32, stride, trees int, proba *float32, n int, out *float32) {
	panic("forest: sumRows16 without AVX-512")
}
