package stix

import (
	"bufio"
	"bytes"
	"encoding/json"
	"io"
	"os"
)

// lineReader hands a file to a json.Decoder and turns the decoder's byte offsets
// into line numbers. It keeps the bytes handed out only until a later offset has
// been asked for (the decoder's read-ahead), so a large file is never held whole.
// Offsets are asked for in increasing order; an earlier one gets the current line.
type lineReader struct {
	r      io.Reader
	chunks [][]byte // bytes handed out and not yet counted past
	base   int64    // file offset of chunks[0][0]
	pos    int      // bytes of chunks[0] already counted
	line   int      // line at base+pos
}

func (lr *lineReader) Read(p []byte) (int, error) {
	n, err := lr.r.Read(p)
	if n > 0 {
		lr.chunks = append(lr.chunks, bytes.Clone(p[:n]))
	}
	return n, err
}

// lineAt returns the line of the byte at off.
func (lr *lineReader) lineAt(off int64) int {
	for len(lr.chunks) > 0 {
		c := lr.chunks[0]
		if end := lr.base + int64(len(c)); off >= end && !(off == end && len(lr.chunks) == 1) {
			lr.line += bytes.Count(c[lr.pos:], []byte{'\n'})
			lr.base, lr.pos = end, 0
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
	return streamBundle(bufio.NewReaderSize(f, 256<<10), rel)
}

// streamBundle is streamBundleFile over r.
func streamBundle(r io.Reader, rel string) (objs []*Object, warnings []readWarning, ok bool) {
	lr := &lineReader{r: r, line: 1}
	dec := json.NewDecoder(lr)
	warn := func(line int, id, summary, detail string) {
		warnings = append(warnings, readWarning{line, id, summary, detail})
	}
	var raw json.RawMessage
	// array reads the elements of a list whose '[' was just read, and its ']'.
	array := func() bool {
		for dec.More() {
			if err := dec.Decode(&raw); err != nil {
				return false
			}
			line := lr.lineAt(dec.InputOffset() - int64(len(raw)))
			if o := decodeOne(rel, raw, line, warn); o != nil {
				objs = append(objs, o)
			}
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
