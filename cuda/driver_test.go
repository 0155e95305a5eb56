package cuda

import (
	"errors"
	"strings"
	"testing"

	"github.com/ebitengine/purego"
)

func hasLibcuda() bool {
	h, err := purego.Dlopen("libcuda.so.1", purego.RTLD_NOW|purego.RTLD_LOCAL)
	if err == nil {
		purego.Dlclose(h)
	}
	return err == nil
}

func TestLoadMissingDriver(t *testing.T) {
	_, err := LoadWith(LoadOptions{Driver: "libcuda-not-installed.so.1"})
	if !errors.Is(err, ErrNoDriver) {
		t.Fatalf("got %v, want ErrNoDriver", err)
	}
	if !strings.HasPrefix(err.Error(), "cuda: libcuda.so.1 not found: no NVIDIA driver on this machine") ||
		!strings.Contains(err.Error(), "libcuda-not-installed.so.1") {
		t.Fatalf("unclear error: %v", err)
	}
	if hasLibcuda() {
		t.Log("libcuda.so.1 is present here: not checking Load() and Available() fail")
		return
	}
	if _, err := Load(); !errors.Is(err, ErrNoDriver) {
		t.Fatalf("Load() without a driver: %v, want ErrNoDriver", err)
	}
	ok, why := Available()
	if ok || !strings.Contains(why, "libcuda.so.1 not found") {
		t.Fatalf("Available() = %v, %q", ok, why)
	}
}

func TestLoadMissingNVRTC(t *testing.T) {
	_, err := loadNVRTC([]string{"libnvrtc-not-installed.so"})
	if !errors.Is(err, ErrNoNVRTC) || !strings.Contains(err.Error(), "libnvrtc-not-installed.so") {
		t.Fatalf("got %v, want ErrNoNVRTC naming the library", err)
	}
}

// A library without the driver's symbols (libc) is refused cleanly.
func TestLoadWrongLibrary(t *testing.T) {
	_, err := LoadWith(LoadOptions{Driver: "libc.so.6"})
	if !errors.Is(err, ErrSymbol) || !strings.Contains(err.Error(), "cuInit") {
		t.Fatalf("got %v, want ErrSymbol for cuInit", err)
	}
}

func TestErrorFormat(t *testing.T) {
	e := &Error{Call: "cuMemAllocAsync", Code: 2, Name: "CUDA_ERROR_OUT_OF_MEMORY", Desc: "out of memory"}
	if got, want := e.Error(), "cuda: cuMemAllocAsync: CUDA_ERROR_OUT_OF_MEMORY (out of memory)"; got != want {
		t.Fatalf("%q, want %q", got, want)
	}
	if !IsOutOfMemory(e) || IsOutOfMemory(&Error{Call: "nvrtcCompileProgram", Code: 2}) {
		t.Fatal("IsOutOfMemory")
	}
}
