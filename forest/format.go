package forest

import (
	"github.com/rasterflow/rasterflow/internal/atomicfile"

	"bufio"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"hash/crc32"
	"io"
	"math"
	"os"
)

// Model file layout (version 1, all integers little-endian):
//
//	magic    8 bytes "RFFOREST"
//	version  uint32 = 1
//	hlen     uint32, then hlen bytes of header JSON (features, classes,
//	         params, info, metrics)
//	ntrees   uint32
//	per tree: nnodes uint32, nleaves uint32,
//	          nnodes × 16-byte nodes (feature uint32, threshold float32,
//	          child int32, leaf int32),
//	          nleaves × nclasses float32 leaf class probabilities
//	crc      uint32 CRC-32 (IEEE) of every preceding byte
const (
	magic         = "RFFOREST"
	formatVersion = 1
	nodeBytes     = 16
)

type header struct {
	Features []string        `json:"features"`
	Classes  []int           `json:"classes"`
	Params   Params          `json:"params"`
	Info     Info            `json:"info"`
	Metrics  json.RawMessage `json:"metrics,omitempty"`
}

func (m *Model) header() header {
	h := header{Features: m.features, Params: m.params, Info: m.info, Metrics: m.metrics}
	for _, c := range m.classes {
		h.Classes = append(h.Classes, int(c))
	}
	return h
}

// MarshalBinary encodes the model in the versioned, checksummed binary
// format. The same model always gives the same bytes.
func (m *Model) MarshalBinary() ([]byte, error) {
	hj, err := json.Marshal(m.header())
	if err != nil {
		return nil, fmt.Errorf("forest: encoding header: %w", err)
	}
	size := 8 + 4 + 4 + len(hj) + 4 + 4
	for _, t := range m.trees {
		size += 8 + len(t.nodes)*nodeBytes + len(t.proba)*4
	}
	buf := make([]byte, 0, size)
	le := binary.LittleEndian
	buf = append(buf, magic...)
	buf = le.AppendUint32(buf, formatVersion)
	buf = le.AppendUint32(buf, uint32(len(hj)))
	buf = append(buf, hj...)
	buf = le.AppendUint32(buf, uint32(len(m.trees)))
	for _, t := range m.trees {
		buf = le.AppendUint32(buf, uint32(len(t.nodes)))
		buf = le.AppendUint32(buf, uint32(len(t.proba)/len(m.classes)))
		for _, nd := range t.nodes {
			buf = le.AppendUint32(buf, nd.Feature)
			buf = le.AppendUint32(buf, math.Float32bits(nd.Threshold))
			buf = le.AppendUint32(buf, uint32(nd.Child))
			buf = le.AppendUint32(buf, uint32(nd.Leaf))
		}
		for _, p := range t.proba {
			buf = le.AppendUint32(buf, math.Float32bits(p))
		}
	}
	buf = le.AppendUint32(buf, crc32.ChecksumIEEE(buf))
	return buf, nil
}

// UnmarshalBinary decodes a model written by MarshalBinary, validating every
// size and index against the data before allocating.
func (m *Model) UnmarshalBinary(data []byte) error {
	le := binary.LittleEndian
	if len(data) < 8+4+4+4+4 || string(data[:8]) != magic {
		return fmt.Errorf("%w: not a forest model (bad magic or too short)", ErrFormat)
	}
	body := data[:len(data)-4]
	if got, want := crc32.ChecksumIEEE(body), le.Uint32(data[len(data)-4:]); got != want {
		return fmt.Errorf("%w: checksum mismatch (file %08x, computed %08x)", ErrFormat, want, got)
	}
	if v := le.Uint32(body[8:]); v != formatVersion {
		return fmt.Errorf("%w: unsupported version %d (want %d)", ErrFormat, v, formatVersion)
	}
	r := reader{b: body[12:]}
	hlen := r.u32()
	hj := r.bytes(uint64(hlen))
	if r.err != nil {
		return fmt.Errorf("%w: header length %d exceeds file", ErrFormat, hlen)
	}
	var h header
	if err := json.Unmarshal(hj, &h); err != nil {
		return fmt.Errorf("%w: header: %v", ErrFormat, err)
	}
	nf, nk := len(h.Features), len(h.Classes)
	if nf == 0 || nf > 1<<16 || nk == 0 || nk > 256 {
		return fmt.Errorf("%w: %d features, %d classes", ErrFormat, nf, nk)
	}
	classes := make([]uint8, nk)
	for i, c := range h.Classes {
		if c < 0 || c > 255 || (i > 0 && c <= h.Classes[i-1]) {
			return fmt.Errorf("%w: class codes must be increasing in 0..255: %v", ErrFormat, h.Classes)
		}
		classes[i] = uint8(c)
	}
	seen := map[string]bool{}
	for _, f := range h.Features {
		if seen[f] {
			return fmt.Errorf("%w: duplicate feature %q", ErrFormat, f)
		}
		seen[f] = true
	}
	if h.Metrics != nil && !json.Valid(h.Metrics) {
		return fmt.Errorf("%w: metrics are not valid JSON", ErrFormat)
	}
	ntrees := r.u32()
	if r.err != nil || ntrees == 0 || uint64(ntrees) > uint64(len(r.b))/(8+nodeBytes+4) {
		return fmt.Errorf("%w: tree count %d does not fit the file", ErrFormat, ntrees)
	}
	trees := make([]tree, ntrees)
	for ti := range trees {
		nn, nl := r.u32(), r.u32()
		if r.err != nil || nn == 0 || nl == 0 || nl > nn ||
			uint64(nn)*nodeBytes+uint64(nl)*uint64(nk)*4 > uint64(len(r.b)) {
			return fmt.Errorf("%w: tree %d: %d nodes, %d leaves do not fit the file", ErrFormat, ti, nn, nl)
		}
		t := tree{nodes: make([]node, nn), proba: make([]float32, int(nl)*nk)}
		depth := make([]int, nn)
		for i := range t.nodes {
			nd := node{Feature: r.u32(), Threshold: math.Float32frombits(r.u32()), Child: int32(r.u32()), Leaf: int32(r.u32())}
			t.nodes[i] = nd
			if nd.Leaf >= 0 {
				if uint32(nd.Leaf) >= nl || nd.Child != int32(i) || nd.Feature != 0 || !math.IsInf(float64(nd.Threshold), 1) {
					return fmt.Errorf("%w: tree %d: bad leaf node %d", ErrFormat, ti, i)
				}
				t.depth = max(t.depth, depth[i])
				continue
			}
			if nd.Leaf != -1 || nd.Feature >= uint32(nf) || nd.Threshold != nd.Threshold ||
				nd.Child <= int32(i) || int64(nd.Child)+1 >= int64(nn) {
				return fmt.Errorf("%w: tree %d: bad internal node %d", ErrFormat, ti, i)
			}
			// children come after their parents, so depth[i] is final here
			for _, c := range []int32{nd.Child, nd.Child + 1} {
				depth[c] = max(depth[c], depth[i]+1)
			}
		}
		for i := range t.proba {
			p := math.Float32frombits(r.u32())
			if !(p >= 0 && p <= 1) {
				return fmt.Errorf("%w: tree %d: bad probability %v", ErrFormat, ti, p)
			}
			t.proba[i] = p
		}
		trees[ti] = t
	}
	if r.err != nil || len(r.b) != 0 {
		return fmt.Errorf("%w: %d trailing bytes", ErrFormat, len(r.b))
	}
	h.Params.Workers = 0
	*m = Model{features: h.Features, classes: classes, params: h.Params, info: h.Info, metrics: h.Metrics, trees: trees}
	return m.compile()
}

// reader is a bounds-checked little-endian cursor; after the first short
// read it returns zeros and keeps err set.
type reader struct {
	b   []byte
	err error
}

func (r *reader) u32() uint32 {
	if len(r.b) < 4 {
		r.err, r.b = io.ErrUnexpectedEOF, nil
		return 0
	}
	v := binary.LittleEndian.Uint32(r.b)
	r.b = r.b[4:]
	return v
}

func (r *reader) bytes(n uint64) []byte {
	if uint64(len(r.b)) < n {
		r.err, r.b = io.ErrUnexpectedEOF, nil
		return nil
	}
	v := r.b[:n]
	r.b = r.b[n:]
	return v
}

// maxModelBytes bounds how much Load reads.
const maxModelBytes int64 = 4 << 30

// Load reads a model from r (the whole stream, at most 4 GiB).
func Load(r io.Reader) (*Model, error) {
	data, err := io.ReadAll(io.LimitReader(r, maxModelBytes+1))
	if err != nil {
		return nil, fmt.Errorf("forest: reading model: %w", err)
	}
	if int64(len(data)) > maxModelBytes {
		return nil, fmt.Errorf("%w: model larger than %d bytes", ErrFormat, maxModelBytes)
	}
	m := new(Model)
	if err := m.UnmarshalBinary(data); err != nil {
		return nil, err
	}
	return m, nil
}

// ReadFile loads a model file.
func ReadFile(path string) (*Model, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("forest: %w", err)
	}
	defer f.Close()
	var m *Model
	if st, err := f.Stat(); err == nil && st.Mode().IsRegular() && st.Size() <= maxModelBytes {
		// One read into a buffer of the file's size, not ReadAll's doubling.
		data := make([]byte, st.Size())
		if _, err := io.ReadFull(f, data); err != nil {
			return nil, fmt.Errorf("forest: reading model %s: %w", path, err)
		}
		m = new(Model)
		if err := m.UnmarshalBinary(data); err != nil {
			return nil, fmt.Errorf("%w (%s)", err, path)
		}
		return m, nil
	}
	m, err = Load(f)
	if err != nil {
		return nil, fmt.Errorf("%w (%s)", err, path)
	}
	return m, nil
}

// ReadFeatures returns the feature names of a model file from its header
// alone (the trees are neither read nor checked): what a pipeline needs to
// validate its columns before it runs.
func ReadFeatures(path string) ([]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("forest: %w", err)
	}
	defer f.Close()
	var pre [16]byte
	if _, err := io.ReadFull(f, pre[:]); err != nil || string(pre[:8]) != magic {
		return nil, fmt.Errorf("%w: not a forest model (bad magic or too short) (%s)", ErrFormat, path)
	}
	le := binary.LittleEndian
	if v := le.Uint32(pre[8:]); v != formatVersion {
		return nil, fmt.Errorf("%w: unsupported version %d (want %d) (%s)", ErrFormat, v, formatVersion, path)
	}
	hlen := le.Uint32(pre[12:])
	if st, err := f.Stat(); err != nil || int64(hlen) > st.Size()-16 {
		return nil, fmt.Errorf("%w: header length %d exceeds file (%s)", ErrFormat, hlen, path)
	}
	hj := make([]byte, hlen)
	if _, err := io.ReadFull(f, hj); err != nil {
		return nil, fmt.Errorf("forest: reading model %s: %w", path, err)
	}
	var h header
	if err := json.Unmarshal(hj, &h); err != nil {
		return nil, fmt.Errorf("%w: header: %v (%s)", ErrFormat, err, path)
	}
	if len(h.Features) == 0 {
		return nil, fmt.Errorf("%w: no features (%s)", ErrFormat, path)
	}
	return h.Features, nil
}

// WriteFile writes the model atomically: to a temporary file in the same
// directory, synced, then renamed over path.
func (m *Model) WriteFile(path string) error {
	data, err := m.MarshalBinary()
	if err != nil {
		return err
	}
	return writeAtomic(path, data)
}

func writeAtomic(path string, data []byte) error {
	if err := atomicfile.WriteFile(path, data, 0o644); err != nil {
		return fmt.Errorf("forest: %w", err)
	}
	return nil
}

// jsonNode is the JSON form of a node: internal nodes have feature,
// threshold, left and right (x <= threshold goes left; NaN goes left),
// leaves have proba (in Classes order).
type jsonNode struct {
	ID        int       `json:"id"`
	Feature   string    `json:"feature,omitempty"`
	Threshold *float32  `json:"threshold,omitempty"`
	Left      *int32    `json:"left,omitempty"`
	Right     *int32    `json:"right,omitempty"`
	Proba     []float32 `json:"proba,omitempty"`
}

// WriteJSON writes a human-readable JSON dump of the model (header and every
// node) for inspection. It is not read back.
func (m *Model) WriteJSON(w io.Writer) error {
	bw := bufio.NewWriter(w)
	hj, err := json.Marshal(m.header())
	if err != nil {
		return fmt.Errorf("forest: %w", err)
	}
	bw.WriteString(`{"format":"rasterflow-forest","version":1,"header":`)
	bw.Write(hj)
	bw.WriteString(`,"trees":[`)
	nk := len(m.classes)
	for ti, t := range m.trees {
		if ti > 0 {
			bw.WriteByte(',')
		}
		nodes := make([]jsonNode, len(t.nodes))
		for i, nd := range t.nodes {
			jn := jsonNode{ID: i}
			if nd.Leaf >= 0 {
				jn.Proba = t.proba[int(nd.Leaf)*nk : int(nd.Leaf)*nk+nk]
			} else {
				thr, l, r := nd.Threshold, nd.Child, nd.Child+1
				jn.Feature, jn.Threshold, jn.Left, jn.Right = m.features[nd.Feature], &thr, &l, &r
			}
			nodes[i] = jn
		}
		tj, err := json.Marshal(struct {
			Depth int        `json:"depth"`
			Nodes []jsonNode `json:"nodes"`
		}{t.depth, nodes})
		if err != nil {
			return fmt.Errorf("forest: %w", err)
		}
		bw.Write(tj)
	}
	bw.WriteString("]}\n")
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("forest: writing JSON: %w", err)
	}
	return nil
}
