package evtx

import (
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
	"unicode/utf16"
)

// Binary XML tokens (MS-EVEN6 2.2.12). The 0x40 bit on element, value and attribute
// tokens means "more follows" (attributes, more value text).
const (
	tokEOF            = 0x00
	tokOpenStart      = 0x01
	tokCloseStart     = 0x02
	tokCloseEmpty     = 0x03
	tokEnd            = 0x04
	tokValue          = 0x05
	tokAttribute      = 0x06
	tokCDATA          = 0x07
	tokCharRef        = 0x08
	tokEntityRef      = 0x09
	tokPITarget       = 0x0a
	tokPIData         = 0x0b
	tokTemplate       = 0x0c
	tokSubstitution   = 0x0d
	tokOptionalSubst  = 0x0e
	tokFragmentHeader = 0x0f
	tokMore           = 0x40
)

// Bounds against hostile files.
const (
	maxDepth     = 64
	maxNodes     = 1 << 16
	maxTemplates = 1024
)

// Value types (MS-EVEN6 2.2.18); 0x80 marks an array.
const (
	vtNull     = 0x00
	vtString   = 0x01
	vtAnsi     = 0x02
	vtInt8     = 0x03
	vtUint8    = 0x04
	vtInt16    = 0x05
	vtUint16   = 0x06
	vtInt32    = 0x07
	vtUint32   = 0x08
	vtInt64    = 0x09
	vtUint64   = 0x0a
	vtReal32   = 0x0b
	vtReal64   = 0x0c
	vtBool     = 0x0d
	vtBinary   = 0x0e
	vtGUID     = 0x0f
	vtSizeT    = 0x10
	vtFileTime = 0x11
	vtSysTime  = 0x12
	vtSID      = 0x13
	vtHex32    = 0x14
	vtHex64    = 0x15
	vtBinXML   = 0x21
	vtArray    = 0x80
)

// item is a piece of element content or of an attribute value: text, an element, or
// (in a template definition) a substitution slot.
type item struct {
	kind     itemKind
	text     string
	elem     *element
	value    any // a typed value (number, bool) standing alone as content
	sub      int
	optional bool
}

type itemKind int

const (
	itText itemKind = iota
	itElem
	itValue
	itSub
)

type element struct {
	name    string
	attrs   []attr
	content []item
}

type attr struct {
	name  string
	value []item
}

// fragment is a substitution value that is binary XML itself; size counts its nodes,
// all levels down.
type fragment struct {
	items []item
	size  int
}

func treeSize(items []item) int {
	n := len(items)
	for _, it := range items {
		if it.kind == itElem {
			n += treeSize(it.elem.content)
			for _, a := range it.elem.attrs {
				n += len(a.value)
			}
		}
	}
	return n
}

type template struct {
	content []item
}

type chunkParser struct {
	data      []byte
	templates map[uint32]*template
	names     map[uint32]string
	nodes     int
}

// reader walks binary XML inside the chunk; pos and end are chunk offsets.
type reader struct {
	p   *chunkParser
	pos uint32
	end uint32
}

func (r *reader) need(n uint32) error {
	if r.pos+n < r.pos || r.pos+n > r.end {
		return formatErr("binary XML at offset %d: %d bytes needed, %d left", r.pos, n, r.end-r.pos)
	}
	return nil
}

func (r *reader) u8() (byte, error) {
	if err := r.need(1); err != nil {
		return 0, err
	}
	b := r.p.data[r.pos]
	r.pos++
	return b, nil
}

func (r *reader) u16() (uint16, error) {
	if err := r.need(2); err != nil {
		return 0, err
	}
	v := binary.LittleEndian.Uint16(r.p.data[r.pos:])
	r.pos += 2
	return v, nil
}

func (r *reader) u32() (uint32, error) {
	if err := r.need(4); err != nil {
		return 0, err
	}
	v := binary.LittleEndian.Uint32(r.p.data[r.pos:])
	r.pos += 4
	return v, nil
}

func (r *reader) bytes(n uint32) ([]byte, error) {
	if err := r.need(n); err != nil {
		return nil, err
	}
	b := r.p.data[r.pos : r.pos+n]
	r.pos += n
	return b, nil
}

func (r *reader) peek() (byte, error) {
	if err := r.need(1); err != nil {
		return 0, err
	}
	return r.p.data[r.pos], nil
}

// utf16Text reads n UTF-16 code units.
func (r *reader) utf16Text(n uint32) (string, error) {
	b, err := r.bytes(2 * n)
	if err != nil {
		return "", err
	}
	return decodeUTF16(b), nil
}

func decodeUTF16(b []byte) string {
	u := make([]uint16, len(b)/2)
	for i := range u {
		u[i] = binary.LittleEndian.Uint16(b[2*i:])
	}
	return string(utf16.Decode(u))
}

// record parses the binary XML of one record into its tree.
func (p *chunkParser) record(start, end uint32) (map[string]any, error) {
	p.nodes = 0
	r := &reader{p: p, pos: start, end: end}
	items, err := p.content(r, 0, false)
	if err != nil {
		return nil, err
	}
	for _, it := range items {
		if it.kind == itElem {
			return map[string]any{it.elem.name: render(it.elem)}, nil
		}
	}
	return nil, formatErr("record holds no element")
}

// name reads an element or attribute name stored at off (chunk offset). When the name
// is stored right where the reader is, the reader moves past it.
func (p *chunkParser) name(r *reader, off uint32) (string, error) {
	if off == r.pos {
		s, size, err := p.readName(off)
		if err != nil {
			return "", err
		}
		r.pos += size
		if r.pos > r.end {
			return "", formatErr("name at offset %d runs past its data", off)
		}
		return s, nil
	}
	if s, ok := p.names[off]; ok {
		return s, nil
	}
	s, _, err := p.readName(off)
	return s, err
}

// readName reads a name structure: next offset (4), hash (2), length (2), UTF-16
// characters, NUL (2).
func (p *chunkParser) readName(off uint32) (string, uint32, error) {
	if uint64(off)+8 > uint64(len(p.data)) {
		return "", 0, formatErr("name offset %d outside the chunk", off)
	}
	n := uint32(binary.LittleEndian.Uint16(p.data[off+6:]))
	size := 8 + 2*n + 2
	if uint64(off)+uint64(size) > uint64(len(p.data)) {
		return "", 0, formatErr("name at offset %d runs past the chunk", off)
	}
	s := decodeUTF16(p.data[off+8 : off+8+2*n])
	p.names[off] = s
	return s, size, nil
}

// content reads tokens until EOF, or until an end-element token when inElement.
func (p *chunkParser) content(r *reader, depth int, inElement bool) ([]item, error) {
	if depth > maxDepth {
		return nil, formatErr("binary XML nested deeper than %d", maxDepth)
	}
	var items []item
	for {
		if r.pos >= r.end {
			if inElement {
				return nil, formatErr("element not closed before offset %d", r.end)
			}
			return items, nil
		}
		p.nodes++
		if p.nodes > maxNodes {
			return nil, formatErr("more than %d binary XML nodes in one record", maxNodes)
		}
		tok, _ := r.u8()
		switch tok &^ tokMore {
		case tokEOF:
			if inElement {
				return nil, formatErr("end of fragment inside an element at offset %d", r.pos-1)
			}
			return items, nil
		case tokFragmentHeader:
			if _, err := r.bytes(3); err != nil {
				return nil, err
			}
		case tokOpenStart:
			e, err := p.element(r, tok&tokMore != 0, depth+1)
			if err != nil {
				return nil, err
			}
			items = append(items, item{kind: itElem, elem: e})
		case tokEnd:
			if !inElement {
				return nil, formatErr("end element token outside an element at offset %d", r.pos-1)
			}
			return items, nil
		case tokValue, tokCDATA, tokCharRef, tokEntityRef, tokSubstitution, tokOptionalSubst:
			r.pos--
			it, err := p.valueItem(r)
			if err != nil {
				return nil, err
			}
			items = append(items, it)
		case tokPITarget:
			if _, err := r.u32(); err != nil {
				return nil, err
			}
		case tokPIData:
			n, err := r.u16()
			if err != nil {
				return nil, err
			}
			if _, err := r.bytes(2 * uint32(n)); err != nil {
				return nil, err
			}
		case tokTemplate:
			inst, err := p.templateInstance(r, depth+1)
			if err != nil {
				return nil, err
			}
			items = append(items, inst...)
		default:
			return nil, formatErr("unknown binary XML token 0x%02x at offset %d", tok, r.pos-1)
		}
	}
}

// valueItem reads one value-like token: text, CDATA, a character or entity reference,
// or a substitution slot.
func (p *chunkParser) valueItem(r *reader) (item, error) {
	tok, err := r.u8()
	if err != nil {
		return item{}, err
	}
	switch tok &^ tokMore {
	case tokValue:
		vt, err := r.u8()
		if err != nil {
			return item{}, err
		}
		if vt != vtString {
			return item{}, formatErr("value token of type 0x%02x at offset %d (only text is defined)", vt, r.pos-1)
		}
		n, err := r.u16()
		if err != nil {
			return item{}, err
		}
		s, err := r.utf16Text(uint32(n))
		return item{kind: itText, text: s}, err
	case tokCDATA:
		n, err := r.u16()
		if err != nil {
			return item{}, err
		}
		s, err := r.utf16Text(uint32(n))
		return item{kind: itText, text: s}, err
	case tokCharRef:
		c, err := r.u16()
		return item{kind: itText, text: string(rune(c))}, err
	case tokEntityRef:
		off, err := r.u32()
		if err != nil {
			return item{}, err
		}
		name, err := p.name(r, off)
		if err != nil {
			return item{}, err
		}
		ent := map[string]string{"amp": "&", "lt": "<", "gt": ">", "quot": "\"", "apos": "'"}[name]
		if ent == "" {
			ent = "&" + name + ";"
		}
		return item{kind: itText, text: ent}, nil
	case tokSubstitution, tokOptionalSubst:
		id, err := r.u16()
		if err != nil {
			return item{}, err
		}
		if _, err := r.u8(); err != nil { // the slot's declared type; the value carries its own
			return item{}, err
		}
		return item{kind: itSub, sub: int(id), optional: tok&^tokMore == tokOptionalSubst}, nil
	}
	return item{}, formatErr("token 0x%02x at offset %d is not a value", tok, r.pos-1)
}

func (p *chunkParser) element(r *reader, hasAttrs bool, depth int) (*element, error) {
	if depth > maxDepth {
		return nil, formatErr("elements nested deeper than %d", maxDepth)
	}
	if _, err := r.u16(); err != nil { // dependency identifier
		return nil, err
	}
	size, err := r.u32()
	if err != nil {
		return nil, err
	}
	elemEnd := r.pos + size
	if elemEnd < r.pos || elemEnd > r.end {
		return nil, formatErr("element at offset %d claims %d bytes past its data", r.pos, size)
	}
	nameOff, err := r.u32()
	if err != nil {
		return nil, err
	}
	e := &element{}
	if e.name, err = p.name(r, nameOff); err != nil {
		return nil, err
	}
	if hasAttrs {
		if _, err := r.u32(); err != nil { // attribute list size
			return nil, err
		}
		for {
			tok, err := r.u8()
			if err != nil {
				return nil, err
			}
			if tok&^tokMore != tokAttribute {
				return nil, formatErr("expected an attribute at offset %d, found token 0x%02x", r.pos-1, tok)
			}
			off, err := r.u32()
			if err != nil {
				return nil, err
			}
			a := attr{}
			if a.name, err = p.name(r, off); err != nil {
				return nil, err
			}
			for {
				b, err := r.peek()
				if err != nil {
					return nil, err
				}
				switch b &^ tokMore {
				case tokValue, tokCharRef, tokEntityRef, tokSubstitution, tokOptionalSubst, tokCDATA:
					it, err := p.valueItem(r)
					if err != nil {
						return nil, err
					}
					a.value = append(a.value, it)
					if b == tokValue|tokMore {
						continue
					}
				}
				break
			}
			e.attrs = append(e.attrs, a)
			if tok&tokMore == 0 {
				break
			}
		}
	}
	tok, err := r.u8()
	if err != nil {
		return nil, err
	}
	switch tok {
	case tokCloseEmpty:
		return e, nil
	case tokCloseStart:
		e.content, err = p.content(r, depth, true)
		return e, err
	}
	return nil, formatErr("element %s: expected the end of its start tag at offset %d, found 0x%02x", e.name, r.pos-1, tok)
}

// templateInstance reads a template instance: the template (defined here or earlier
// in the chunk) and its substitution values, and returns the template's content with
// the values in place.
func (p *chunkParser) templateInstance(r *reader, depth int) ([]item, error) {
	if _, err := r.u8(); err != nil { // unknown
		return nil, err
	}
	if _, err := r.u32(); err != nil { // template id
		return nil, err
	}
	defOff, err := r.u32()
	if err != nil {
		return nil, err
	}
	t, err := p.template(r, defOff, depth)
	if err != nil {
		return nil, err
	}
	n, err := r.u32()
	if err != nil {
		return nil, err
	}
	if n > 4096 {
		return nil, formatErr("template instance with %d values", n)
	}
	type desc struct {
		size uint16
		typ  byte
	}
	descs := make([]desc, n)
	for i := range descs {
		if descs[i].size, err = r.u16(); err != nil {
			return nil, err
		}
		if descs[i].typ, err = r.u8(); err != nil {
			return nil, err
		}
		if _, err := r.u8(); err != nil {
			return nil, err
		}
	}
	values := make([]any, n)
	for i, d := range descs {
		start := r.pos
		raw, err := r.bytes(uint32(d.size))
		if err != nil {
			return nil, err
		}
		if d.typ == vtBinXML {
			sub := &reader{p: p, pos: start, end: start + uint32(d.size)}
			items, err := p.content(sub, depth+1, false)
			if err != nil {
				return nil, err
			}
			values[i] = fragment{items: items, size: treeSize(items)}
			continue
		}
		if values[i], err = decodeValue(d.typ, raw); err != nil {
			return nil, fmt.Errorf("substitution %d: %w", i, err)
		}
	}
	out := p.substitute(t.content, values)
	if p.nodes > maxNodes {
		return nil, formatErr("template instances expand to more than %d nodes", maxNodes)
	}
	return out, nil
}

func (p *chunkParser) template(r *reader, defOff uint32, depth int) (*template, error) {
	if t, ok := p.templates[defOff]; ok {
		if defOff == r.pos { // defined again inline: skip it
			if err := skipTemplate(r); err != nil {
				return nil, err
			}
		}
		return t, nil
	}
	if len(p.templates) >= maxTemplates {
		return nil, formatErr("more than %d templates in a chunk", maxTemplates)
	}
	if uint64(defOff)+24 > uint64(len(p.data)) || defOff < chunkHeaderSize {
		return nil, formatErr("template definition offset %d outside the chunk", defOff)
	}
	size := binary.LittleEndian.Uint32(p.data[defOff+20:])
	dr := &reader{p: p, pos: defOff + 24, end: defOff + 24 + size}
	if dr.end < dr.pos || dr.end > uint32(len(p.data)) {
		return nil, formatErr("template at offset %d runs past the chunk", defOff)
	}
	// Mark the template as being parsed, so a template that refers to itself is an
	// error and not an endless recursion.
	p.templates[defOff] = &template{}
	content, err := p.content(dr, depth+1, false)
	if err != nil {
		delete(p.templates, defOff)
		return nil, fmt.Errorf("template at offset %d: %w", defOff, err)
	}
	t := &template{content: content}
	p.templates[defOff] = t
	if defOff == r.pos {
		if err := skipTemplate(r); err != nil {
			return nil, err
		}
	}
	return t, nil
}

func skipTemplate(r *reader) error {
	if err := r.need(24); err != nil {
		return err
	}
	size := binary.LittleEndian.Uint32(r.p.data[r.pos+20:])
	_, err := r.bytes(24 + size)
	return err
}

// substitute copies template content with the values in place of the slots. A slot
// whose value is null (or an empty optional one) disappears, as does an attribute
// whose whole value disappears.
func (p *chunkParser) substitute(content []item, values []any) []item {
	var out []item
	for _, it := range content {
		// Values may be used by several slots, and nest: count what is copied, so a
		// hostile file cannot make the copy grow exponentially.
		if p.nodes++; p.nodes > maxNodes {
			return nil
		}
		switch it.kind {
		case itElem:
			out = append(out, item{kind: itElem, elem: p.substElement(it.elem, values)})
		case itSub:
			if it.sub >= len(values) || values[it.sub] == nil {
				continue
			}
			switch v := values[it.sub].(type) {
			case fragment:
				p.nodes += v.size
				out = append(out, v.items...)
			case string:
				if v == "" && it.optional {
					continue
				}
				out = append(out, item{kind: itText, text: v})
			default:
				out = append(out, item{kind: itValue, value: v})
			}
		default:
			out = append(out, it)
		}
	}
	return out
}

func (p *chunkParser) substElement(e *element, values []any) *element {
	c := &element{name: e.name}
	for _, a := range e.attrs {
		v := p.substitute(a.value, values)
		if len(v) == 0 {
			continue
		}
		c.attrs = append(c.attrs, attr{name: a.name, value: v})
	}
	c.content = p.substitute(e.content, values)
	return c
}

func decodeValue(typ byte, b []byte) (any, error) {
	le := binary.LittleEndian
	fixed := func(n int) error {
		if len(b) < n {
			return formatErr("value of type 0x%02x needs %d bytes, has %d", typ, n, len(b))
		}
		return nil
	}
	if typ&vtArray != 0 {
		return decodeArray(typ&^vtArray, b)
	}
	switch typ {
	case vtNull:
		return nil, nil
	case vtString:
		return trimText(decodeUTF16(b)), nil
	case vtAnsi:
		return trimText(string(b)), nil
	case vtInt8:
		if err := fixed(1); err != nil {
			return nil, err
		}
		return int64(int8(b[0])), nil
	case vtUint8:
		if err := fixed(1); err != nil {
			return nil, err
		}
		return uint64(b[0]), nil
	case vtInt16:
		if err := fixed(2); err != nil {
			return nil, err
		}
		return int64(int16(le.Uint16(b))), nil
	case vtUint16:
		if err := fixed(2); err != nil {
			return nil, err
		}
		return uint64(le.Uint16(b)), nil
	case vtInt32:
		if err := fixed(4); err != nil {
			return nil, err
		}
		return int64(int32(le.Uint32(b))), nil
	case vtUint32:
		if err := fixed(4); err != nil {
			return nil, err
		}
		return uint64(le.Uint32(b)), nil
	case vtInt64:
		if err := fixed(8); err != nil {
			return nil, err
		}
		return int64(le.Uint64(b)), nil
	case vtUint64:
		if err := fixed(8); err != nil {
			return nil, err
		}
		return le.Uint64(b), nil
	case vtReal32:
		if err := fixed(4); err != nil {
			return nil, err
		}
		return float64(math.Float32frombits(le.Uint32(b))), nil
	case vtReal64:
		if err := fixed(8); err != nil {
			return nil, err
		}
		return math.Float64frombits(le.Uint64(b)), nil
	case vtBool:
		if err := fixed(4); err != nil {
			return nil, err
		}
		return le.Uint32(b) != 0, nil
	case vtBinary:
		return strings.ToUpper(hex.EncodeToString(b)), nil
	case vtGUID:
		if err := fixed(16); err != nil {
			return nil, err
		}
		return formatGUID(b), nil
	case vtSizeT:
		switch len(b) {
		case 4:
			return "0x" + strconv.FormatUint(uint64(le.Uint32(b)), 16), nil
		case 8:
			return "0x" + strconv.FormatUint(le.Uint64(b), 16), nil
		}
		return nil, formatErr("size_t of %d bytes", len(b))
	case vtFileTime:
		if err := fixed(8); err != nil {
			return nil, err
		}
		return formatFileTime(le.Uint64(b)), nil
	case vtSysTime:
		if err := fixed(16); err != nil {
			return nil, err
		}
		t := time.Date(int(le.Uint16(b)), time.Month(le.Uint16(b[2:])), int(le.Uint16(b[6:])), int(le.Uint16(b[8:])),
			int(le.Uint16(b[10:])), int(le.Uint16(b[12:])), int(le.Uint16(b[14:]))*int(time.Millisecond), time.UTC)
		return t.Format("2006-01-02T15:04:05.000000Z"), nil
	case vtSID:
		return formatSID(b)
	case vtHex32:
		if err := fixed(4); err != nil {
			return nil, err
		}
		return "0x" + strconv.FormatUint(uint64(le.Uint32(b)), 16), nil
	case vtHex64:
		if err := fixed(8); err != nil {
			return nil, err
		}
		return "0x" + strconv.FormatUint(le.Uint64(b), 16), nil
	case 0x20, 0x23: // EvtHandle, EvtXml: not stored in files
		return strings.ToUpper(hex.EncodeToString(b)), nil
	}
	return nil, formatErr("unknown value type 0x%02x", typ)
}

func decodeArray(typ byte, b []byte) (any, error) {
	var out []any
	switch typ {
	case vtString:
		for _, s := range strings.Split(strings.TrimRight(decodeUTF16(b), "\x00"), "\x00") {
			out = append(out, s)
		}
		return out, nil
	case vtAnsi:
		for _, s := range strings.Split(strings.TrimRight(string(b), "\x00"), "\x00") {
			out = append(out, s)
		}
		return out, nil
	}
	size := map[byte]int{vtInt8: 1, vtUint8: 1, vtInt16: 2, vtUint16: 2, vtInt32: 4, vtUint32: 4, vtInt64: 8, vtUint64: 8,
		vtReal32: 4, vtReal64: 8, vtBool: 4, vtGUID: 16, vtFileTime: 8, vtSysTime: 16, vtHex32: 4, vtHex64: 8}[typ]
	if size == 0 {
		return nil, formatErr("array of value type 0x%02x", typ)
	}
	if len(b)%size != 0 {
		return nil, formatErr("array of %d bytes is not a whole number of %d-byte values", len(b), size)
	}
	for i := 0; i < len(b); i += size {
		v, err := decodeValue(typ, b[i:i+size])
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, nil
}

func formatGUID(b []byte) string {
	le := binary.LittleEndian
	return strings.ToUpper(fmt.Sprintf("%08x-%04x-%04x-%02x%02x-%02x%02x%02x%02x%02x%02x",
		le.Uint32(b), le.Uint16(b[4:]), le.Uint16(b[6:]), b[8], b[9], b[10], b[11], b[12], b[13], b[14], b[15]))
}

// formatFileTime writes a FILETIME as RFC 3339 UTC with microseconds, as evtx_dump does.
func formatFileTime(ft uint64) string {
	const epochDiff = 116444736000000000 // 1601-01-01 to 1970-01-01 in 100 ns
	if ft < epochDiff {
		return time.Unix(0, 0).UTC().Add(-time.Duration(epochDiff-ft) * 100).Format("2006-01-02T15:04:05.000000Z")
	}
	d := ft - epochDiff
	t := time.Unix(int64(d/1e7), int64(d%1e7)*100).UTC()
	return t.Format("2006-01-02T15:04:05.000000Z")
}

func formatSID(b []byte) (string, error) {
	if len(b) < 8 {
		return "", formatErr("SID of %d bytes", len(b))
	}
	n := int(b[1])
	if len(b) < 8+4*n {
		return "", formatErr("SID with %d sub-authorities in %d bytes", n, len(b))
	}
	var auth uint64
	for _, c := range b[2:8] {
		auth = auth<<8 | uint64(c)
	}
	s := fmt.Sprintf("S-%d-%d", b[0], auth)
	for i := 0; i < n; i++ {
		s += "-" + strconv.FormatUint(uint64(binary.LittleEndian.Uint32(b[8+4*i:])), 10)
	}
	return s, nil
}

// trimText drops the NUL terminator and the white space around a string value, as
// evtx_dump does (command lines often end in a space the JSON renderings do not keep).
func trimText(s string) string {
	return strings.TrimSpace(strings.TrimRight(s, "\x00"))
}
