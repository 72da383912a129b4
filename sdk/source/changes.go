package source

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"time"
)

// FileState identifies the content of one source file without reading it
// again: its size and modification time, and its SHA-256 when the plugin read
// it whole.
type FileState struct {
	// Path is slash-separated and relative to the tree's root (File.Rel): the
	// path the records read from the file carry as their position.
	Path    string
	Size    int64
	ModTime time.Time
	// SHA256 is lower-case hex; empty when only size and time were taken.
	SHA256 string
}

// Reporter takes what a Tracker found. *sdk.Emitter implements it: it tells
// the host which files were read and which were skipped as unchanged, so the
// host keeps the records of the skipped ones instead of retiring them.
type Reporter interface {
	FileRead(FileState)
	FileUnchanged(FileState)
	// TracksFiles says the host takes file reports; when it does not, a
	// Tracker skips nothing, since the host could not keep what was skipped.
	TracksFiles() bool
}

// Tracker skips the files of a re-import that did not change since the host's
// previous successful run of the same importer, source and configuration.
//
// Skipping a file is only right when the records read from it depend on that
// file alone: an importer whose records combine several files (STIX objects
// and their relationships) uses AllUnchanged, which skips the whole source or
// nothing. Records must carry the file they came from (Emitter.RecordAt with
// File.Rel): the host keeps a skipped file's records by that position.
type Tracker struct {
	prev map[string]FileState
	out  Reporter
	on   bool
}

// NewTracker compares files with prev, the host's states of the previous run
// (sdk.ImportRequest.PreviousFiles), and reports to out. A nil out, or a host
// that takes no reports, gives a Tracker that skips nothing and reports
// nothing.
func NewTracker(prev []FileState, out Reporter) *Tracker {
	t := &Tracker{out: out, on: out != nil && out.TracksFiles()}
	if t.on && len(prev) > 0 {
		t.prev = make(map[string]FileState, len(prev))
		for _, p := range prev {
			t.prev[p.Path] = p
		}
	}
	return t
}

// Unchanged reports whether f is the same file the previous run read, and if
// so tells the host it was skipped. Size and modification time equal mean
// unchanged; a size that matches with another time (a fresh checkout, an
// archive extracted again) is decided by the content's SHA-256 when the
// previous run took it. Any doubt (a file that cannot be read, no earlier
// state) answers false: the importer reads the file and reports what it finds.
func (t *Tracker) Unchanged(f File) bool {
	st, ok := t.unchanged(f)
	if ok {
		t.out.FileUnchanged(st)
	}
	return ok
}

func (t *Tracker) unchanged(f File) (FileState, bool) {
	old, ok := t.prev[f.Rel]
	if !ok {
		return FileState{}, false
	}
	info, err := os.Stat(f.Path)
	if err != nil || !info.Mode().IsRegular() || info.Size() != old.Size {
		return FileState{}, false
	}
	st := FileState{Path: f.Rel, Size: info.Size(), ModTime: info.ModTime(), SHA256: old.SHA256}
	if info.ModTime().Equal(old.ModTime) {
		return st, true
	}
	if old.SHA256 == "" {
		return FileState{}, false
	}
	sum, err := hashFile(f.Path)
	if err != nil || sum != old.SHA256 {
		return FileState{}, false
	}
	return st, true
}

// AllUnchanged reports whether files are exactly the files of the previous run
// (none added, none gone) and each is unchanged; only then does it tell the
// host that all of them were skipped. It is for importers whose records span
// files, which must read everything when anything changed.
func (t *Tracker) AllUnchanged(files []File) bool {
	if len(t.prev) == 0 || len(files) != len(t.prev) {
		return false
	}
	states := make([]FileState, 0, len(files))
	for _, f := range files {
		st, ok := t.unchanged(f)
		if !ok {
			return false
		}
		states = append(states, st)
	}
	for _, st := range states {
		t.out.FileUnchanged(st)
	}
	return true
}

// ReadFile reads f whole and reports it read, with its SHA-256, so that the
// next run can skip it. The importer must send every record it makes of the
// data, or warn, as for any file.
func (t *Tracker) ReadFile(f File) ([]byte, error) {
	fh, err := os.Open(f.Path)
	if err != nil {
		return nil, err
	}
	defer fh.Close()
	info, err := fh.Stat()
	if err != nil {
		return nil, err
	}
	data, err := io.ReadAll(fh)
	if err != nil {
		return nil, err
	}
	if t.on {
		sum := sha256.Sum256(data)
		t.out.FileRead(FileState{Path: f.Rel, Size: int64(len(data)), ModTime: info.ModTime(), SHA256: hex.EncodeToString(sum[:])})
	}
	return data, nil
}

// Read reports f read without reading it here: for importers that read the
// file themselves. Only its size and time are taken (no hash), so a later run
// skips it only while both stay the same. Call it before reading the file, so
// that a change during the read makes the next run read it again.
func (t *Tracker) Read(f File) error {
	if !t.on {
		return nil
	}
	info, err := os.Stat(f.Path)
	if err != nil {
		return fmt.Errorf("state of %s: %w", f.Rel, err)
	}
	t.out.FileRead(FileState{Path: f.Rel, Size: info.Size(), ModTime: info.ModTime()})
	return nil
}

func hashFile(p string) (string, error) {
	fh, err := os.Open(p)
	if err != nil {
		return "", err
	}
	defer fh.Close()
	h := sha256.New()
	if _, err := io.Copy(h, fh); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}
