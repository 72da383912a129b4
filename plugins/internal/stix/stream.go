package stix

import (
	"bytes"
	"encoding/json"
	"io"
	"os"
	"runtime"
	"sync"
)

// lineBlock is how much the splitter reads at a time.
const lineBlock = 256 << 10

// streamBundleFile reads a well-formed STIX bundle file (or a bare list of objects)
// one object at a time, decoding each as it comes, so that neither the file nor its
// raw objects are held: a 45 MiB Enterprise bundle costs its decoded objects only.
// It gives the objects and the warnings decodeObjects gives for the same file, in the
// same order. ok is false when the file is anything else (an index, a single object,
// a bundle without an objects list, not JSON, a file that breaks off or cannot be
// read): the caller then reads it whole with ParseFile, which says what it is, and
// where it breaks, as it always has.
func streamBundleFile(path, rel string) (objs []*Object, warnings []readWarning, ok bool) {
	f, err := os.Open(path)
	if err != nil {
		return nil, nil, false
	}
	defer f.Close()
	return streamBundle(f, rel)
}

// streamBundle is streamBundleFile over r. It splits the file itself (a JSON value's
// end is found by counting brackets outside strings, about ten times cheaper than
// json.Decoder, which scans every object twice) and leaves the checking to the
// decoders: an object that is not valid JSON, and anything but whitespace, commas and
// the bundle's own brackets between the objects, make it give the file up (ok false)
// to the whole-file read, which says where the file is broken.
func streamBundle(r io.Reader, rel string) (objs []*Object, warnings []readWarning, ok bool) {
	p := newDecodePipeline(rel)
	defer func() {
		// Every path out waits for the decoders; only a whole read keeps what they made,
		// and only when every object they could not decode was valid JSON.
		o, w, valid := p.wait()
		if ok && valid {
			objs, warnings = o, w
		} else {
			ok = false
		}
	}()
	sc := &splitter{r: r, line: 1, buf: make([]byte, 0, lineBlock)}
	for len(sc.buf) < 3 && sc.fill() {
	}
	if bytes.HasPrefix(sc.buf, []byte("\xef\xbb\xbf")) {
		sc.pos = 3 // a byte order mark, blanked as ParseFile does (jsonpos.BlankBOM)
	}
	sc.space()
	c, more := sc.peek()
	if !more {
		return nil, nil, false
	}
	switch c {
	case '[':
		sc.pos++
		if !sc.objects(p) {
			return nil, nil, false
		}
	case '{':
		sc.pos++
		lists := 0
		for first := true; ; first = false {
			sc.space()
			c, more := sc.peek()
			if !more {
				return nil, nil, false
			}
			if c == '}' {
				sc.pos++
				break
			}
			if !first {
				if c != ',' {
					return nil, nil, false
				}
				sc.pos++
				sc.space()
			}
			key, ok := sc.value()
			if !ok || len(key) == 0 || key[0] != '"' || !json.Valid(key) {
				return nil, nil, false
			}
			isObjects := string(key) == `"objects"`
			sc.space()
			if c, more := sc.peek(); !more || c != ':' {
				return nil, nil, false
			}
			sc.pos++
			sc.space()
			if isObjects {
				if c, more := sc.peek(); !more || c != '[' {
					return nil, nil, false // ParseFile skips it; the whole read does the same
				}
				sc.pos++
				if !sc.objects(p) {
					return nil, nil, false
				}
				lists++
				continue
			}
			v, ok := sc.value()
			if !ok || !json.Valid(v) {
				return nil, nil, false
			}
		}
		if lists == 0 {
			return nil, nil, false // not a bundle with objects: an index, one object
		}
	default:
		return nil, nil, false
	}
	sc.space()
	if _, more := sc.peek(); more || sc.err != io.EOF { // trailing data, or a read error
		return nil, nil, false
	}
	return objs, warnings, true
}

// splitter reads JSON from r through a window that keeps bytes from mark on.
type splitter struct {
	r    io.Reader
	buf  []byte
	pos  int   // next byte to look at
	mark int   // first byte still needed
	line int   // line of buf[pos] (counted as pos moves over whitespace and values)
	err  error // the read's error (io.EOF at the end)
}

// fill reads more into the window, dropping what is before mark; false when there
// is no more.
func (sc *splitter) fill() bool {
	if sc.err != nil {
		return false
	}
	if sc.mark > 0 {
		n := copy(sc.buf, sc.buf[sc.mark:])
		sc.buf, sc.pos, sc.mark = sc.buf[:n], sc.pos-sc.mark, 0
	}
	if cap(sc.buf)-len(sc.buf) < lineBlock/4 {
		nb := make([]byte, len(sc.buf), 2*cap(sc.buf))
		copy(nb, sc.buf)
		sc.buf = nb
	}
	for {
		n, err := sc.r.Read(sc.buf[len(sc.buf):cap(sc.buf)])
		sc.buf = sc.buf[:len(sc.buf)+n]
		if err != nil {
			sc.err = err
		}
		if n > 0 {
			return true
		}
		if err != nil {
			return false
		}
	}
}

func (sc *splitter) peek() (byte, bool) {
	if sc.pos == len(sc.buf) && !sc.fill() {
		return 0, false
	}
	return sc.buf[sc.pos], true
}

// space skips JSON whitespace, counting lines; what is before it is no longer needed.
func (sc *splitter) space() {
	for {
		c, more := sc.peek()
		if !more {
			break
		}
		switch c {
		case '\n':
			sc.line++
		case ' ', '\t', '\r':
		default:
			sc.mark = sc.pos
			return
		}
		sc.pos++
	}
	sc.mark = sc.pos
}

// value scans one JSON value from pos (no whitespace before it) and returns its
// bytes, valid until the next read; false when the bytes cannot be a value. It finds
// the end only: whether the value is valid JSON is the caller's to check.
func (sc *splitter) value() ([]byte, bool) {
	start := sc.pos
	sc.mark = start
	c, more := sc.peek()
	if !more {
		return nil, false
	}
	switch {
	case c == '"' || c == '{' || c == '[':
		depth, inStr, esc := 0, false, false
	scan:
		for {
			if sc.pos == len(sc.buf) {
				n := sc.pos - start
				more := sc.fill() // may move the window
				start = sc.pos - n
				if !more {
					return nil, false
				}
			}
			c := sc.buf[sc.pos]
			sc.pos++
			if inStr {
				switch {
				case esc:
					esc = false
				case c == '\\':
					esc = true
				case c == '"':
					inStr = false
					if depth == 0 {
						break scan
					}
				}
				continue
			}
			switch c {
			case '"':
				inStr = true
			case '{', '[':
				depth++
			case '}', ']':
				if depth--; depth == 0 {
					break scan
				}
				if depth < 0 {
					return nil, false
				}
			}
		}
	case c == '-' || c >= '0' && c <= '9' || c == 't' || c == 'f' || c == 'n':
	literal:
		for {
			if sc.pos == len(sc.buf) {
				n := sc.pos - start
				more := sc.fill() // may move the window
				start = sc.pos - n
				if !more {
					break
				}
			}
			switch sc.buf[sc.pos] {
			case ',', ']', '}', ':', ' ', '\t', '\r', '\n':
				break literal
			}
			sc.pos++
		}
	default:
		return nil, false
	}
	v := sc.buf[start:sc.pos]
	sc.line += bytes.Count(v, []byte{'\n'})
	return v, true
}

// objects reads the elements of a list whose '[' was just read, and its ']', handing
// each to p with the line it starts on.
func (sc *splitter) objects(p *decodePipeline) bool {
	sc.space()
	if c, more := sc.peek(); !more {
		return false
	} else if c == ']' {
		sc.pos++
		return true
	}
	for {
		sc.space()
		line := sc.line
		v, ok := sc.value()
		if !ok {
			return false
		}
		p.appendRaw(v)
		p.commit(line)
		sc.space()
		c, more := sc.peek()
		if !more {
			return false
		}
		sc.pos++
		switch c {
		case ',':
		case ']':
			return true
		default:
			return false
		}
	}
}

// decodePipeline decodes the raw objects the reader of a stream hands it on other
// goroutines, a batch at a time, while the reader goes on splitting the file: on two
// cores the split and the decoding overlap. The objects and warnings come out in the
// order of the file, as a serial read gives them.
type decodePipeline struct {
	rel     string
	cur     *decodeBatch
	batches []*decodeBatch
	work    chan *decodeBatch
	wg      sync.WaitGroup
}

// decodeBatch is a run of raw objects (copied into one buffer) and what decoding
// them gave.
type decodeBatch struct {
	buf      []byte
	ends     []int // end of each object in buf
	lines    []int
	objs     []*Object
	warnings []readWarning
	// invalid: an object was not valid JSON (the file is broken there).
	invalid bool
}

const streamBatch = 128

func newDecodePipeline(rel string) *decodePipeline {
	workers := max(1, min(4, runtime.GOMAXPROCS(0)))
	p := &decodePipeline{rel: rel, work: make(chan *decodeBatch, workers)}
	for range workers {
		p.wg.Add(1)
		go func() {
			defer p.wg.Done()
			for b := range p.work {
				b.decode(p.rel)
			}
		}()
	}
	return p
}

// appendRaw copies one raw object into the batch; commit then says where it starts.
func (p *decodePipeline) appendRaw(raw []byte) {
	if p.cur == nil {
		p.cur = &decodeBatch{buf: make([]byte, 0, lineBlock)}
	}
	p.cur.buf = append(p.cur.buf, raw...)
}

// commit ends the object appendRaw copied: it starts on line.
func (p *decodePipeline) commit(line int) {
	b := p.cur
	b.ends, b.lines = append(b.ends, len(b.buf)), append(b.lines, line)
	if len(b.ends) == streamBatch {
		p.flush()
	}
}

func (p *decodePipeline) flush() {
	if p.cur != nil {
		p.batches = append(p.batches, p.cur)
		p.work <- p.cur
		p.cur = nil
	}
}

// wait decodes what is queued and returns every object and warning in order, and
// whether every object that did not decode was valid JSON.
func (p *decodePipeline) wait() ([]*Object, []readWarning, bool) {
	p.flush()
	close(p.work)
	p.wg.Wait()
	var objs []*Object
	var warnings []readWarning
	valid := true
	for _, b := range p.batches {
		objs = append(objs, b.objs...)
		warnings = append(warnings, b.warnings...)
		valid = valid && !b.invalid
	}
	return objs, warnings, valid
}

func (b *decodeBatch) decode(rel string) {
	warn := func(line int, id, summary, detail string) {
		b.warnings = append(b.warnings, readWarning{line, id, summary, detail})
	}
	start := 0
	for i, end := range b.ends {
		if o := decodeOne(rel, b.buf[start:end], b.lines[i], warn); o != nil {
			b.objs = append(b.objs, o)
		} else if !json.Valid(b.buf[start:end]) {
			b.invalid = true
		}
		start = end
	}
	b.buf, b.ends, b.lines = nil, nil, nil
}
