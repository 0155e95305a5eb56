package cuda

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/ebitengine/purego"
)

// The fake driver (testdata/fakecuda.cpp) is built once per test binary
// with g++: it runs kernelSource on the CPU behind the real driver API, so
// that everything but the GPU itself is exercised here.
var fake struct {
	once sync.Once
	dir  string
	lib  string
	err  error

	setMemory  func(n uint64)
	liveAllocs func() int64
	launches   func() int64
}

func TestMain(m *testing.M) {
	code := m.Run()
	if fake.dir != "" {
		os.RemoveAll(fake.dir)
	}
	os.Exit(code)
}

func buildFake() {
	gxx, err := exec.LookPath("g++")
	if err != nil {
		fake.err = fmt.Errorf("g++ not found, cannot build the CPU emulation of the driver: %v", err)
		return
	}
	if fake.dir, fake.err = os.MkdirTemp("", "fakecuda-"); fake.err != nil {
		return
	}
	var inc strings.Builder
	inc.WriteString("static const char fake_kernel_source[] = {")
	for i, b := range []byte(kernelSource) {
		if i%24 == 0 {
			inc.WriteString("\n")
		}
		fmt.Fprintf(&inc, "%d,", b)
	}
	inc.WriteString("0};\n")
	if err := os.WriteFile(filepath.Join(fake.dir, "kernels.cu"), []byte(kernelSource), 0o644); err != nil {
		fake.err = err
		return
	}
	if err := os.WriteFile(filepath.Join(fake.dir, "kernels_src.inc"), []byte(inc.String()), 0o644); err != nil {
		fake.err = err
		return
	}
	td, _ := filepath.Abs("testdata")
	fake.lib = filepath.Join(fake.dir, "libfakecuda.so")
	cmd := exec.Command(gxx, "-std=c++17", "-O2", "-ffp-contract=off", "-fPIC", "-shared", "-Wall", "-Werror",
		"-Wno-unused-parameter", "-Wno-unused-function", "-Wno-unused-variable",
		"-I", td, "-I", fake.dir, "-o", fake.lib, filepath.Join(td, "fakecuda.cpp"))
	if out, err := cmd.CombinedOutput(); err != nil {
		fake.err = fmt.Errorf("building the fake driver: %v\n%s", err, out)
		return
	}
	h, err := purego.Dlopen(fake.lib, purego.RTLD_NOW|purego.RTLD_LOCAL)
	if err != nil {
		fake.err = err
		return
	}
	purego.RegisterLibFunc(&fake.setMemory, h, "fakecuda_set_memory")
	purego.RegisterLibFunc(&fake.liveAllocs, h, "fakecuda_live_allocs")
	purego.RegisterLibFunc(&fake.launches, h, "fakecuda_launches")
}

// fakeDriver loads the CPU emulation as both driver and NVRTC, with mem
// bytes of device memory.
func fakeDriver(t testing.TB, mem uint64) *Driver {
	t.Helper()
	fake.once.Do(buildFake)
	if fake.err != nil {
		t.Skipf("cuda: CPU emulation unavailable: %v", fake.err)
	}
	fake.setMemory(mem)
	d, err := LoadWith(LoadOptions{Driver: fake.lib, NVRTC: []string{fake.lib}})
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// TestKernelSourceCompiles is the parse check of the kernels: it builds
// them as host C++ (with the emulation header) with warnings as errors.
func TestKernelSourceCompiles(t *testing.T) {
	fake.once.Do(buildFake)
	if fake.err != nil {
		if strings.Contains(fake.err.Error(), "g++ not found") {
			t.Skipf("cuda: %v", fake.err)
		}
		t.Fatal(fake.err)
	}
}
