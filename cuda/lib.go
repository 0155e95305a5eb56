package cuda

import (
	"errors"
	"fmt"
	"unsafe"

	"github.com/ebitengine/purego"
)

// library is a shared library opened with dlopen.
type library struct {
	name   string // the name that opened it
	handle uintptr
}

// openLibrary tries names in order and returns the first that opens. The
// error lists every name tried with dlopen's reason.
func openLibrary(names []string) (library, error) {
	var errs []error
	for _, n := range names {
		h, err := purego.Dlopen(n, purego.RTLD_NOW|purego.RTLD_LOCAL)
		if err == nil {
			return library{name: n, handle: h}, nil
		}
		errs = append(errs, err)
	}
	return library{}, errors.Join(errs...)
}

// binding names a symbol and the Go function variable it is bound to.
type binding struct {
	fn  any // pointer to a func variable
	sym string
}

// bind resolves every symbol before binding any, so that a library missing
// one fails cleanly (purego.RegisterLibFunc would panic).
func (l library) bind(bs []binding) error {
	addrs := make([]uintptr, len(bs))
	for i, b := range bs {
		a, err := purego.Dlsym(l.handle, b.sym)
		if err != nil || a == 0 {
			return fmt.Errorf("%w: %s has no symbol %s", ErrSymbol, l.name, b.sym)
		}
		addrs[i] = a
	}
	for i, b := range bs {
		purego.RegisterFunc(b.fn, addrs[i])
	}
	return nil
}

// has reports whether the library exports sym.
func (l library) has(sym string) bool {
	a, err := purego.Dlsym(l.handle, sym)
	return err == nil && a != 0
}

// goString copies the NUL-terminated C string at p (at most max bytes).
func goString(p *byte, max int) string {
	if p == nil {
		return ""
	}
	n := 0
	for n < max && *(*byte)(unsafe.Add(unsafe.Pointer(p), n)) != 0 {
		n++
	}
	return string(unsafe.Slice(p, n))
}

// cStrings returns NUL-terminated copies of ss and an array of pointers to
// them, for char** parameters. Keep the first result alive during the call.
func cStrings(ss []string) ([][]byte, []*byte) {
	bufs := make([][]byte, len(ss))
	ptrs := make([]*byte, len(ss)+1)
	for i, s := range ss {
		bufs[i] = append([]byte(s), 0)
		ptrs[i] = &bufs[i][0]
	}
	return bufs, ptrs
}
