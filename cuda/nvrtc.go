package cuda

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
)

// nvrtc is a loaded NVRTC library.
type nvrtc struct {
	lib          library
	major, minor int
	archs        []int // compute capabilities it can target (major*10+minor); nil if unknown

	nvrtcGetErrorString      func(r int32) string
	nvrtcCreateProgram       func(p *uintptr, src, name string, nh int32, headers, includes **byte) int32
	nvrtcCompileProgram      func(p uintptr, nopt int32, opts **byte) int32
	nvrtcGetPTXSize          func(p uintptr, n *uint64) int32
	nvrtcGetPTX              func(p uintptr, ptx *byte) int32
	nvrtcGetProgramLogSize   func(p uintptr, n *uint64) int32
	nvrtcGetProgramLog       func(p uintptr, log *byte) int32
	nvrtcDestroyProgram      func(p *uintptr) int32
	nvrtcVersion             func(major, minor *int32) int32
	nvrtcGetNumSupportedArch func(n *int32) int32
	nvrtcGetSupportedArchs   func(a *int32) int32
}

var defaultNVRTC = []string{"libnvrtc.so.13", "libnvrtc.so.12", "libnvrtc.so"}

// nvrtcDirs are where CUDA toolkits install NVRTC outside the loader's
// path; they are tried after the bare names.
var nvrtcDirs = []string{"/usr/local/cuda/lib64", "/usr/local/cuda/targets/x86_64-linux/lib", "/usr/lib/x86_64-linux-gnu"}

// nvrtcNames is the search order: $RASTERFLOW_NVRTC (a path) first, then
// the sonames on the loader's path, then the same names in nvrtcDirs.
func nvrtcNames() []string {
	var names []string
	if p := os.Getenv("RASTERFLOW_NVRTC"); p != "" {
		names = append(names, p)
	}
	names = append(names, defaultNVRTC...)
	for _, d := range nvrtcDirs {
		for _, n := range defaultNVRTC {
			names = append(names, filepath.Join(d, n))
		}
	}
	return names
}

func loadNVRTC(names []string) (*nvrtc, error) {
	if len(names) == 0 {
		names = nvrtcNames()
	}
	lib, err := openLibrary(names)
	if err != nil {
		// dlopen's reasons repeat per name; the first one says enough.
		first := err
		if j, ok := err.(interface{ Unwrap() []error }); ok && len(j.Unwrap()) > 0 {
			first = j.Unwrap()[0]
		}
		return nil, fmt.Errorf("%w (tried %s: %v; set RASTERFLOW_NVRTC to its path)", ErrNoNVRTC, strings.Join(names, ", "), first)
	}
	n := &nvrtc{lib: lib}
	if err := lib.bind([]binding{
		{&n.nvrtcGetErrorString, "nvrtcGetErrorString"},
		{&n.nvrtcCreateProgram, "nvrtcCreateProgram"},
		{&n.nvrtcCompileProgram, "nvrtcCompileProgram"},
		{&n.nvrtcGetPTXSize, "nvrtcGetPTXSize"},
		{&n.nvrtcGetPTX, "nvrtcGetPTX"},
		{&n.nvrtcGetProgramLogSize, "nvrtcGetProgramLogSize"},
		{&n.nvrtcGetProgramLog, "nvrtcGetProgramLog"},
		{&n.nvrtcDestroyProgram, "nvrtcDestroyProgram"},
		{&n.nvrtcVersion, "nvrtcVersion"},
	}); err != nil {
		return nil, err
	}
	var ma, mi int32
	if err := n.check("nvrtcVersion", n.nvrtcVersion(&ma, &mi)); err != nil {
		return nil, err
	}
	n.major, n.minor = int(ma), int(mi)
	// Supported-arch queries exist since CUDA 11.2.
	if lib.has("nvrtcGetNumSupportedArchs") && lib.has("nvrtcGetSupportedArchs") {
		if err := lib.bind([]binding{
			{&n.nvrtcGetNumSupportedArch, "nvrtcGetNumSupportedArchs"},
			{&n.nvrtcGetSupportedArchs, "nvrtcGetSupportedArchs"},
		}); err != nil {
			return nil, err
		}
		var cnt int32
		if n.nvrtcGetNumSupportedArch(&cnt) == 0 && cnt > 0 && cnt < 1000 {
			a := make([]int32, cnt)
			if n.nvrtcGetSupportedArchs(&a[0]) == 0 {
				for _, v := range a {
					n.archs = append(n.archs, int(v))
				}
				slices.Sort(n.archs)
			}
		}
	}
	return n, nil
}

func (n *nvrtc) check(call string, r int32) error {
	if r == 0 {
		return nil
	}
	return &Error{Call: call, Code: int(r), Name: n.nvrtcGetErrorString(r)}
}

// targetArch picks the virtual architecture to compile for: the device's
// compute capability, or the highest NVRTC supports below it (the driver
// JIT-compiles the PTX for the real device).
func (n *nvrtc) targetArch(major, minor int) (int, error) {
	cc := major*10 + minor
	if n.archs == nil {
		return cc, nil
	}
	best := -1
	for _, a := range n.archs {
		if a <= cc {
			best = a
		}
	}
	if best < 0 {
		return 0, fmt.Errorf("cuda: NVRTC %d.%d cannot target compute capability %d.%d (it supports %v)", n.major, n.minor, major, minor, n.archs)
	}
	return best, nil
}

// compileOptions are passed to NVRTC besides the architecture. fmad=false
// keeps every multiply and add separately rounded, as in Go, so that the
// kernels reproduce the CPU results bit for bit; divisions are IEEE-rounded
// by default (prec-div).
var compileOptions = []string{"--fmad=false", "--prec-div=true", "--std=c++17"}

// compile returns NUL-terminated PTX for src targeting compute_<arch>. With a
// cacheDir the PTX is kept there under a hash of source, options, arch and
// NVRTC version, and reused.
func (n *nvrtc) compile(src, name string, arch int, cacheDir string) ([]byte, error) {
	opts := append([]string{fmt.Sprintf("--gpu-architecture=compute_%d", arch)}, compileOptions...)
	var cacheFile string
	if cacheDir != "" {
		h := sha256.New()
		fmt.Fprintf(h, "nvrtc %d.%d\x00%s\x00", n.major, n.minor, strings.Join(opts, "\x00"))
		h.Write([]byte(src))
		cacheFile = filepath.Join(cacheDir, hex.EncodeToString(h.Sum(nil))+".ptx")
		if b, err := os.ReadFile(cacheFile); err == nil && len(b) > 0 && b[len(b)-1] == 0 {
			return b, nil
		}
	}
	var prog uintptr
	if err := n.check("nvrtcCreateProgram", n.nvrtcCreateProgram(&prog, src, name, 0, nil, nil)); err != nil {
		return nil, err
	}
	defer n.nvrtcDestroyProgram(&prog)
	bufs, ptrs := cStrings(opts)
	r := n.nvrtcCompileProgram(prog, int32(len(opts)), &ptrs[0])
	runtime.KeepAlive(bufs)
	if r != 0 {
		return nil, fmt.Errorf("%w: %v\n%s", ErrCompile, n.check("nvrtcCompileProgram", r), n.log(prog))
	}
	var size uint64
	if err := n.check("nvrtcGetPTXSize", n.nvrtcGetPTXSize(prog, &size)); err != nil {
		return nil, err
	}
	if size == 0 || size > 1<<30 {
		return nil, fmt.Errorf("cuda: nvrtcGetPTXSize: implausible size %d", size)
	}
	ptx := make([]byte, size)
	if err := n.check("nvrtcGetPTX", n.nvrtcGetPTX(prog, &ptx[0])); err != nil {
		return nil, err
	}
	if ptx[len(ptx)-1] != 0 {
		ptx = append(ptx, 0)
	}
	if cacheFile != "" {
		writeCache(cacheFile, ptx) // best effort: a cache that cannot be written only costs a recompile
	}
	return ptx, nil
}

func (n *nvrtc) log(prog uintptr) string {
	var size uint64
	if n.nvrtcGetProgramLogSize(prog, &size) != 0 || size <= 1 || size > 1<<24 {
		return ""
	}
	b := make([]byte, size)
	if n.nvrtcGetProgramLog(prog, &b[0]) != 0 {
		return ""
	}
	return strings.TrimRight(string(b), "\x00\n")
}

// writeCache writes data to path atomically (temporary file and rename).
func writeCache(path string, data []byte) {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return
	}
	f, err := os.CreateTemp(filepath.Dir(path), ".ptx-*")
	if err != nil {
		return
	}
	_, werr := f.Write(data)
	cerr := f.Close()
	if werr != nil || cerr != nil || os.Rename(f.Name(), path) != nil {
		os.Remove(f.Name())
	}
}

// DefaultCacheDir is the conventional PTX cache directory,
// $XDG_CACHE_HOME/rasterflow/cuda (or ~/.cache/...), for DeviceOptions.CacheDir.
func DefaultCacheDir() (string, error) {
	d, err := os.UserCacheDir()
	if err != nil {
		return "", fmt.Errorf("cuda: %w", err)
	}
	return filepath.Join(d, "rasterflow", "cuda"), nil
}
