package stix

import (
	"bytes"
	"encoding/json"
	"io"
	"os"
	"runtime"
	"sync"
)

// lineReader hands a file to a json.Decoder, in blocks it reads itself, and turns the
// decoder's byte offsets into line numbers. It keeps a block only until a later offset
// has been asked for (the decoder's read-ahead), then reuses it, so a large file is
// never held whole. Offsets are asked for in increasing order; an earlier one gets
// the current line.
type lineReader struct {
	r      io.Reader
	chunks [][]byte // blocks read and not yet counted past; the last is being handed out
	next   int      // bytes of the last block handed out
	free   [][]byte // blocks counted past, to read into again
	base   int64    // file offset of chunks[0][0]
	pos    int      // bytes of chunks[0] already counted
	line   int      // line at base+pos
}

const lineBlock = 256 << 10

func (lr *lineReader) Read(p []byte) (int, error) {
	if len(lr.chunks) == 0 || lr.next == len(lr.chunks[len(lr.chunks)-1]) {
		var buf []byte
		if n := len(lr.free); n > 0 {
			buf, lr.free = lr.free[n-1][:lineBlock], lr.free[:n-1]
		} else {
			buf = make([]byte, lineBlock)
		}
		n, err := lr.r.Read(buf)
		if n == 0 {
			lr.free = append(lr.free, buf)
			return 0, err
		}
		lr.chunks, lr.next = append(lr.chunks, buf[:n]), 0
	}
	last := lr.chunks[len(lr.chunks)-1]
	n := copy(p, last[lr.next:])
	lr.next += n
	return n, nil
}

// lineAt returns the line of the byte at off.
func (lr *lineReader) lineAt(off int64) int {
	for len(lr.chunks) > 0 {
		c := lr.chunks[0]
		if end := lr.base + int64(len(c)); off >= end && !(off == end && len(lr.chunks) == 1) {
			lr.line += bytes.Count(c[lr.pos:], []byte{'\n'})
			lr.base, lr.pos = end, 0
			if cap(c) == lineBlock {
				lr.free = append(lr.free, c)
			}
			lr.chunks[0] = nil
			lr.chunks = lr.chunks[1:]
			continue
		}
		if at := int(off - lr.base); at > lr.pos {
			lr.line += bytes.Count(c[lr.pos:at], []byte{'\n'})
			lr.pos = at
		}
		break
	}
	return lr.line
}

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

// streamBundle is streamBundleFile over r.
func streamBundle(r io.Reader, rel string) (objs []*Object, warnings []readWarning, ok bool) {
	lr := &lineReader{r: r, line: 1}
	dec := json.NewDecoder(lr)
	p := newDecodePipeline(rel)
	defer func() {
		// Every path out waits for the decoders; only a whole read keeps what they made.
		o, w := p.wait()
		if ok {
			objs, warnings = o, w
		}
	}()
	var raw json.RawMessage
	sink := &rawSink{p: p}
	// array reads the elements of a list whose '[' was just read, and its ']'.
	array := func() bool {
		for dec.More() {
			sink.n = -1
			if err := dec.Decode(sink); err != nil || sink.n < 0 {
				return false
			}
			p.commit(lr.lineAt(dec.InputOffset() - int64(sink.n)))
		}
		_, err := dec.Token()
		return err == nil
	}
	tok, err := dec.Token()
	if err != nil {
		return nil, nil, false
	}
	switch tok {
	case json.Delim('['):
		if !array() {
			return nil, nil, false
		}
	case json.Delim('{'):
		lists := 0
		for dec.More() {
			key, err := dec.Token()
			if err != nil {
				return nil, nil, false
			}
			if key != "objects" {
				if err := dec.Decode(&raw); err != nil {
					return nil, nil, false
				}
				continue
			}
			if t, err := dec.Token(); err != nil || t != json.Delim('[') || !array() {
				return nil, nil, false
			}
			lists++
		}
		if _, err := dec.Token(); err != nil || lists == 0 { // closing }
			return nil, nil, false
		}
	default:
		return nil, nil, false
	}
	if _, err := dec.Token(); err != io.EOF { // trailing data
		return nil, nil, false
	}
	return objs, warnings, true
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

// rawSink copies the element a json.Decoder decodes into it straight into the
// pipeline's batch (json.RawMessage would copy it once more).
type rawSink struct {
	p *decodePipeline
	n int // length of the element, -1 until one is decoded
}

func (s *rawSink) UnmarshalJSON(data []byte) error {
	s.p.appendRaw(data)
	s.n = len(data)
	return nil
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

// wait decodes what is queued and returns every object and warning in order.
func (p *decodePipeline) wait() ([]*Object, []readWarning) {
	p.flush()
	close(p.work)
	p.wg.Wait()
	var objs []*Object
	var warnings []readWarning
	for _, b := range p.batches {
		objs = append(objs, b.objs...)
		warnings = append(warnings, b.warnings...)
	}
	return objs, warnings
}

func (b *decodeBatch) decode(rel string) {
	warn := func(line int, id, summary, detail string) {
		b.warnings = append(b.warnings, readWarning{line, id, summary, detail})
	}
	start := 0
	for i, end := range b.ends {
		if o := decodeOne(rel, b.buf[start:end], b.lines[i], warn); o != nil {
			b.objs = append(b.objs, o)
		}
		start = end
	}
	b.buf, b.ends, b.lines = nil, nil, nil
}
