package stix

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"

	"github.com/aegis-sec/aegis/plugins/internal/jsonpos"
)

// FileKind is what a JSON file turned out to hold.
type FileKind int

const (
	// KindUnknown is JSON that is neither a bundle, an object nor an index.
	KindUnknown FileKind = iota
	// KindBundle is a STIX bundle ({"type":"bundle","objects":[...]}) or a
	// bare list of objects.
	KindBundle
	// KindObject is a single STIX object outside a bundle.
	KindObject
	// KindIndex is an ATT&CK collection index ({"collections":[...]}).
	KindIndex
)

// RawObject is one element of a bundle's objects, with the line it starts on.
type RawObject struct {
	Data json.RawMessage
	Line int
}

// ParsedFile is a JSON file split into its STIX objects.
type ParsedFile struct {
	Kind    FileKind
	Objects []RawObject
	// Index is the whole file when Kind is KindIndex.
	Index json.RawMessage
	// Err is set when the file broke off part way: Objects holds what came
	// before the break, and ErrLine is the line of the break.
	Err     error
	ErrLine int
}

// lineCounter turns byte offsets into line numbers, counting each newline
// once however many offsets are asked for, in increasing order.
type lineCounter struct {
	data []byte
	off  int
	line int
}

func (c *lineCounter) lineAt(off int) int {
	if off > len(c.data) {
		off = len(c.data)
	}
	if off < c.off { // not expected; recount from the start
		c.off, c.line = 0, 1
	}
	c.line += bytes.Count(c.data[c.off:off], []byte{'\n'})
	c.off = off
	return c.line
}

// skipSpace returns the offset of the first byte at or after off that is not
// JSON whitespace or a comma: where the next value starts.
func skipSpace(data []byte, off int) int {
	for off < len(data) {
		switch data[off] {
		case ' ', '\t', '\r', '\n', ',':
			off++
		default:
			return off
		}
	}
	return off
}

// ParseFile splits a JSON file into STIX objects and says what it holds.
// It fails only when the file is not JSON at all; a file that breaks off
// part way returns the objects read so far with Err set.
func ParseFile(data []byte) (*ParsedFile, error) {
	data = jsonpos.BlankBOM(data)
	lc := &lineCounter{data: data, line: 1}
	dec := json.NewDecoder(bytes.NewReader(data))
	tok, err := dec.Token()
	if err != nil {
		return nil, syntaxError(data, lc, dec, err)
	}
	switch tok {
	case json.Delim('['):
		pf := &ParsedFile{Kind: KindBundle}
		readArray(data, lc, dec, pf)
		if pf.Err == nil {
			if _, err := dec.Token(); err != nil { // closing ]
				if len(pf.Objects) == 0 {
					return nil, syntaxError(data, lc, dec, err)
				}
				pf.Err, pf.ErrLine = err, errLine(data, lc, dec, err)
			}
		}
		return pf, nil
	case json.Delim('{'):
	default:
		return nil, fmt.Errorf("line 1: want a JSON object or list, got %v", tok)
	}
	pf := &ParsedFile{}
	var typ string
	hasID, hasObjects, hasCollections := false, false, false
	for dec.More() {
		kt, err := dec.Token()
		if err != nil {
			return partial(pf, data, lc, dec, err)
		}
		key, _ := kt.(string)
		switch key {
		case "objects":
			// Peek: objects must be a list; anything else is skipped.
			start := skipColon(data, int(dec.InputOffset()))
			if start < len(data) && data[start] == '[' {
				if _, err := dec.Token(); err != nil {
					return partial(pf, data, lc, dec, err)
				}
				hasObjects = true
				readArray(data, lc, dec, pf)
				if pf.Err != nil {
					pf.Kind = KindBundle
					return pf, nil
				}
				if _, err := dec.Token(); err != nil { // closing ]
					return partial(pf, data, lc, dec, err)
				}
				continue
			}
			var skip json.RawMessage
			if err := dec.Decode(&skip); err != nil {
				return partial(pf, data, lc, dec, err)
			}
		default:
			var v json.RawMessage
			if err := dec.Decode(&v); err != nil {
				return partial(pf, data, lc, dec, err)
			}
			switch key {
			case "type":
				_ = json.Unmarshal(v, &typ)
			case "id":
				hasID = true
			case "collections":
				hasCollections = true
			}
		}
	}
	if _, err := dec.Token(); err != nil { // closing }
		return partial(pf, data, lc, dec, err)
	}
	if _, err := dec.Token(); err != io.EOF {
		pf.Err, pf.ErrLine = errors.New("trailing data after the JSON value"), lc.lineAt(int(dec.InputOffset()))
	}
	switch {
	case hasObjects || typ == "bundle":
		pf.Kind = KindBundle
	case hasCollections:
		pf.Kind = KindIndex
		pf.Index = data
	case typ != "" && hasID:
		pf.Kind = KindObject
		pf.Objects = []RawObject{{Data: data, Line: 1}}
	default:
		pf.Kind = KindUnknown
	}
	return pf, nil
}

// skipColon returns the offset where the value after a key starts.
func skipColon(data []byte, off int) int {
	for off < len(data) {
		switch data[off] {
		case ' ', '\t', '\r', '\n', ':':
			off++
		default:
			return off
		}
	}
	return off
}

// readArray reads the elements of an array whose '[' was just consumed,
// recording where each starts. It stops at the closing ']' (not consumed)
// or at the first syntax error (recorded in pf.Err).
func readArray(data []byte, lc *lineCounter, dec *json.Decoder, pf *ParsedFile) {
	for dec.More() {
		start := skipSpace(data, int(dec.InputOffset()))
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			pf.Err = err
			pf.ErrLine = errLine(data, lc, dec, err)
			return
		}
		pf.Objects = append(pf.Objects, RawObject{Data: raw, Line: lc.lineAt(start)})
	}
}

func partial(pf *ParsedFile, data []byte, lc *lineCounter, dec *json.Decoder, err error) (*ParsedFile, error) {
	if len(pf.Objects) == 0 {
		return nil, syntaxError(data, lc, dec, err)
	}
	pf.Kind = KindBundle
	pf.Err, pf.ErrLine = err, errLine(data, lc, dec, err)
	return pf, nil
}

func errLine(data []byte, lc *lineCounter, dec *json.Decoder, err error) int {
	if errors.Is(err, io.ErrUnexpectedEOF) {
		return lc.lineAt(len(data))
	}
	var se *json.SyntaxError
	if errors.As(err, &se) {
		return lc.lineAt(int(se.Offset))
	}
	return lc.lineAt(int(dec.InputOffset()))
}

func syntaxError(data []byte, lc *lineCounter, dec *json.Decoder, err error) error {
	if errors.Is(err, io.EOF) {
		if len(bytes.TrimSpace(data)) == 0 {
			return errors.New("empty file")
		}
		err = io.ErrUnexpectedEOF
	}
	return fmt.Errorf("line %d: malformed JSON: %w", errLine(data, lc, dec, err), err)
}
