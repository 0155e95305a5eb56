package chunk

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"unsafe"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/rasterflow/rasterflow/tiff"
)

// Metadata keys in the Arrow schema.
const (
	keyScene     = "rf.scene"
	keyWindow    = "rf.window"
	keyGrid      = "rf.grid"
	keyCRS       = "rf.crs"
	keyTransform = "rf.transform"
	keyIndex     = "rf.chunk"
	keyAttrs     = "rf.attr."
	keyNodata    = "nodata"
)

// ErrNoColumn is returned when a chunk lacks a column an operator needs.
var ErrNoColumn = errors.New("chunk: no such column")

// Window is a pixel window [X, X+W) × [Y, Y+H) of a scene grid.
type Window struct{ X, Y, W, H int }

// Pixels is W*H.
func (w Window) Pixels() int { return w.W * w.H }

func (w Window) String() string { return fmt.Sprintf("%d,%d,%d,%d", w.X, w.Y, w.W, w.H) }

// Meta describes where a chunk sits.
type Meta struct {
	Scene  string
	Window Window
	// GridW, GridH are the scene grid size in pixels.
	GridW, GridH int
	// CRS is "EPSG:n" or a PROJ string (see package geo).
	CRS string
	// Transform is the scene grid's geotransform in GDAL order.
	Transform [6]float64
	// Index and Total number the chunk within its scene as the source
	// tiled it (Total may be 0 when unknown).
	Index, Total int
	// Attrs carries free-form scene attributes (asset hrefs, dates).
	Attrs map[string]string
}

// Chunk is one raster window: a record batch plus its placement.
type Chunk struct {
	Meta Meta
	Rec  arrow.RecordBatch
}

// Release gives up the chunk's reference to its record.
func (c *Chunk) Release() {
	if c != nil && c.Rec != nil {
		c.Rec.Release()
		c.Rec = nil
	}
}

// Rows is the number of pixels in the chunk.
func (c *Chunk) Rows() int {
	if c.Rec == nil {
		return 0
	}
	return int(c.Rec.NumRows())
}

// Bytes is the size of the column data.
func (c *Chunk) Bytes() int {
	n := 0
	if c.Rec == nil {
		return 0
	}
	for _, col := range c.Rec.Columns() {
		for _, b := range col.Data().Buffers() {
			if b != nil {
				n += b.Len()
			}
		}
	}
	return n
}

// Names lists the column names.
func (c *Chunk) Names() []string {
	if c.Rec == nil {
		return nil
	}
	fs := c.Rec.Schema().Fields()
	out := make([]string, len(fs))
	for i, f := range fs {
		out[i] = f.Name
	}
	return out
}

// Col is a column view: its name, pixel type, nodata and little-endian bytes.
type Col struct {
	Name   string
	DType  tiff.DType
	Nodata *float64
	Data   []byte
}

// Column returns the named column.
func (c *Chunk) Column(name string) (Col, error) {
	if c.Rec == nil {
		return Col{}, fmt.Errorf("%w %q", ErrNoColumn, name)
	}
	idx := c.Rec.Schema().FieldIndices(name)
	if len(idx) == 0 {
		return Col{}, fmt.Errorf("%w %q (have %s)", ErrNoColumn, name, strings.Join(c.Names(), ","))
	}
	f := c.Rec.Schema().Field(idx[0])
	dt, err := FromArrow(f.Type)
	if err != nil {
		return Col{}, fmt.Errorf("chunk: column %q: %w", name, err)
	}
	arr := c.Rec.Column(idx[0])
	col := Col{Name: name, DType: dt, Nodata: fieldNodata(f)}
	buf := arr.Data().Buffers()[1]
	if buf != nil {
		sz := dt.Size()
		off := arr.Data().Offset() * sz
		col.Data = buf.Bytes()[off : off+arr.Len()*sz]
	}
	return col, nil
}

func fieldNodata(f arrow.Field) *float64 {
	if !f.HasMetadata() {
		return nil
	}
	i := f.Metadata.FindKey(keyNodata)
	if i < 0 {
		return nil
	}
	v, err := strconv.ParseFloat(f.Metadata.Values()[i], 64)
	if err != nil {
		return nil
	}
	return &v
}

// ToArrow maps a pixel type to its Arrow type.
func ToArrow(d tiff.DType) (arrow.DataType, error) {
	switch d {
	case tiff.Uint8:
		return arrow.PrimitiveTypes.Uint8, nil
	case tiff.Int8:
		return arrow.PrimitiveTypes.Int8, nil
	case tiff.Uint16:
		return arrow.PrimitiveTypes.Uint16, nil
	case tiff.Int16:
		return arrow.PrimitiveTypes.Int16, nil
	case tiff.Uint32:
		return arrow.PrimitiveTypes.Uint32, nil
	case tiff.Int32:
		return arrow.PrimitiveTypes.Int32, nil
	case tiff.Float32:
		return arrow.PrimitiveTypes.Float32, nil
	case tiff.Float64:
		return arrow.PrimitiveTypes.Float64, nil
	}
	return nil, fmt.Errorf("chunk: unsupported pixel type %v", d)
}

// FromArrow maps an Arrow type to a pixel type.
func FromArrow(t arrow.DataType) (tiff.DType, error) {
	switch t.ID() {
	case arrow.UINT8:
		return tiff.Uint8, nil
	case arrow.INT8:
		return tiff.Int8, nil
	case arrow.UINT16:
		return tiff.Uint16, nil
	case arrow.INT16:
		return tiff.Int16, nil
	case arrow.UINT32:
		return tiff.Uint32, nil
	case arrow.INT32:
		return tiff.Int32, nil
	case arrow.FLOAT32:
		return tiff.Float32, nil
	case arrow.FLOAT64:
		return tiff.Float64, nil
	}
	return tiff.Invalid, fmt.Errorf("chunk: unsupported Arrow type %s", t)
}

// New builds a chunk from columns whose Data hold Meta.Window.Pixels()
// values each. The byte slices are wrapped, not copied: the caller must not
// modify them afterwards.
func New(meta Meta, cols []Col) (*Chunk, error) {
	n := meta.Window.Pixels()
	fields := make([]arrow.Field, len(cols))
	arrs := make([]arrow.Array, len(cols))
	defer func() {
		for _, a := range arrs {
			if a != nil {
				a.Release()
			}
		}
	}()
	for i, col := range cols {
		at, err := ToArrow(col.DType)
		if err != nil {
			return nil, err
		}
		if len(col.Data) != n*col.DType.Size() {
			return nil, fmt.Errorf("chunk: column %q has %d bytes, want %d (%d pixels of %v)", col.Name, len(col.Data), n*col.DType.Size(), n, col.DType)
		}
		f := arrow.Field{Name: col.Name, Type: at}
		if col.Nodata != nil {
			f.Metadata = arrow.NewMetadata([]string{keyNodata}, []string{strconv.FormatFloat(*col.Nodata, 'g', -1, 64)})
		}
		fields[i] = f
		data := array.NewData(at, n, []*memory.Buffer{nil, memory.NewBufferBytes(col.Data)}, nil, 0, 0)
		arrs[i] = array.MakeFromData(data)
		data.Release()
	}
	md := encodeMeta(meta)
	schema := arrow.NewSchema(fields, &md)
	return &Chunk{Meta: meta, Rec: array.NewRecordBatch(schema, arrs, int64(n))}, nil
}

// With returns a new chunk with the columns of c plus cols (a column of the
// same name is replaced). c is unchanged and still owns its reference.
func (c *Chunk) With(cols ...Col) (*Chunk, error) {
	nc, err := New(c.Meta, cols)
	if err != nil {
		return nil, err
	}
	defer nc.Release()
	replaced := make(map[string]bool, len(cols))
	for _, col := range cols {
		replaced[col.Name] = true
	}
	var fields []arrow.Field
	var arrs []arrow.Array
	if c.Rec != nil {
		for i, f := range c.Rec.Schema().Fields() {
			if !replaced[f.Name] {
				fields = append(fields, f)
				arrs = append(arrs, c.Rec.Column(i))
			}
		}
	}
	fields = append(fields, nc.Rec.Schema().Fields()...)
	arrs = append(arrs, nc.Rec.Columns()...)
	md := encodeMeta(c.Meta)
	return &Chunk{Meta: c.Meta, Rec: array.NewRecordBatch(arrow.NewSchema(fields, &md), arrs, int64(c.Meta.Window.Pixels()))}, nil
}

// Select returns a new chunk with only the named columns, in that order.
func (c *Chunk) Select(names ...string) (*Chunk, error) {
	var fields []arrow.Field
	var arrs []arrow.Array
	for _, n := range names {
		idx := c.Rec.Schema().FieldIndices(n)
		if len(idx) == 0 {
			return nil, fmt.Errorf("%w %q (have %s)", ErrNoColumn, n, strings.Join(c.Names(), ","))
		}
		fields = append(fields, c.Rec.Schema().Field(idx[0]))
		arrs = append(arrs, c.Rec.Column(idx[0]))
	}
	md := encodeMeta(c.Meta)
	return &Chunk{Meta: c.Meta, Rec: array.NewRecordBatch(arrow.NewSchema(fields, &md), arrs, int64(c.Meta.Window.Pixels()))}, nil
}

func encodeMeta(m Meta) arrow.Metadata {
	keys := []string{keyScene, keyWindow, keyGrid, keyCRS, keyTransform, keyIndex}
	t := make([]string, 6)
	for i, v := range m.Transform {
		t[i] = strconv.FormatFloat(v, 'g', -1, 64)
	}
	vals := []string{
		m.Scene, m.Window.String(),
		strconv.Itoa(m.GridW) + "," + strconv.Itoa(m.GridH),
		m.CRS, strings.Join(t, ","),
		strconv.Itoa(m.Index) + "/" + strconv.Itoa(m.Total),
	}
	for k, v := range m.Attrs {
		keys = append(keys, keyAttrs+k)
		vals = append(vals, v)
	}
	return arrow.NewMetadata(keys, vals)
}

// DecodeMeta reads a chunk's placement from schema metadata.
func DecodeMeta(md arrow.Metadata) (Meta, error) {
	var m Meta
	get := func(k string) string {
		if i := md.FindKey(k); i >= 0 {
			return md.Values()[i]
		}
		return ""
	}
	m.Scene = get(keyScene)
	m.CRS = get(keyCRS)
	ints, err := parseInts(get(keyWindow), ",", 4)
	if err != nil {
		return m, fmt.Errorf("chunk: bad %s: %w", keyWindow, err)
	}
	m.Window = Window{ints[0], ints[1], ints[2], ints[3]}
	if ints, err = parseInts(get(keyGrid), ",", 2); err != nil {
		return m, fmt.Errorf("chunk: bad %s: %w", keyGrid, err)
	}
	m.GridW, m.GridH = ints[0], ints[1]
	if ints, err = parseInts(get(keyIndex), "/", 2); err != nil {
		return m, fmt.Errorf("chunk: bad %s: %w", keyIndex, err)
	}
	m.Index, m.Total = ints[0], ints[1]
	if s := get(keyTransform); s != "" {
		parts := strings.Split(s, ",")
		if len(parts) != 6 {
			return m, fmt.Errorf("chunk: bad %s %q", keyTransform, s)
		}
		for i, p := range parts {
			if m.Transform[i], err = strconv.ParseFloat(p, 64); err != nil {
				return m, fmt.Errorf("chunk: bad %s: %w", keyTransform, err)
			}
		}
	}
	for i, k := range md.Keys() {
		if strings.HasPrefix(k, keyAttrs) {
			if m.Attrs == nil {
				m.Attrs = map[string]string{}
			}
			m.Attrs[strings.TrimPrefix(k, keyAttrs)] = md.Values()[i]
		}
	}
	return m, nil
}

func parseInts(s, sep string, n int) ([]int, error) {
	parts := strings.Split(s, sep)
	if len(parts) != n {
		return nil, fmt.Errorf("%q: want %d values", s, n)
	}
	out := make([]int, n)
	for i, p := range parts {
		v, err := strconv.Atoi(p)
		if err != nil {
			return nil, err
		}
		out[i] = v
	}
	return out, nil
}

// Slice views b as a slice of T (little-endian host, as Arrow and the TIFF
// codec use). len(b) must be a multiple of T's size.
func Slice[T any](b []byte) []T {
	var z T
	sz := int(unsafe.Sizeof(z))
	if len(b) == 0 {
		return nil
	}
	return unsafe.Slice((*T)(unsafe.Pointer(&b[0])), len(b)/sz)
}

// Bytes views s as bytes.
func Bytes[T any](s []T) []byte {
	if len(s) == 0 {
		return nil
	}
	var z T
	return unsafe.Slice((*byte)(unsafe.Pointer(&s[0])), len(s)*int(unsafe.Sizeof(z)))
}
