package importer

import (
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"time"

	"github.com/aegis-sec/aegis/core"
	"github.com/aegis-sec/aegis/core/pluginhost"
	"github.com/aegis-sec/aegis/sdk/host"
	"github.com/aegis-sec/aegis/sdk/source"
)

// Skipping unchanged files (plugin protocol minor 2). The host keeps, per plugin and
// importer, the file states the latest successful run reported, and sends them to the
// next run of the same source, configuration and plugin binary. The plugin skips the
// files whose state is the same and says so; the host keeps the records it stored from
// those files (by the file each record names) instead of retiring them, and counts them
// as unchanged. Every file of a run is thus read, reported unchanged (counted in the
// run) or named in a warning by the plugin, as before.

// fileStore is the part of the store that keeps file states.
type fileStore interface {
	LastImportFiles(ctx context.Context, plugin, importerType string) (*core.ImportFiles, error)
	PutImportFiles(ctx context.Context, f *core.ImportFiles) error
	DeleteImportFiles(ctx context.Context, plugin, importerType string) error
}

// fileState is one kept file state, with the number of records the host kept from it.
type fileState struct {
	Path    string `json:"p"`
	Size    int64  `json:"s"`
	ModTime int64  `json:"t,omitempty"` // ns since the epoch
	SHA256  string `json:"h,omitempty"`
	Records int    `json:"n"`
}

// fileTracking is one run's side of it.
type fileTracking struct {
	key string
	// prev is the previous run's row when it is valid for this run (same source and
	// key), with its states by path.
	prev       *core.ImportFiles
	prevStates map[string]fileState
	read       map[string]source.FileState
	unchanged  map[string]bool
	// rows counts, per file, the records of the run's scope that are live after it.
	rows map[string]int
	// forget: the kept states no longer describe the store; the run row's transaction
	// deletes them so the next run reads everything.
	forget bool
}

// filesKey identifies what a run's file states are valid for besides the source: the
// importer, the exact plugin binary and its configuration. Another binary or config
// may read the same file into other records.
func filesKey(typ string, inst *pluginhost.Instance) string {
	h := sha256.New()
	fmt.Fprintf(h, "%s\x00%s\x00", typ, inst.Checksum)
	h.Write(inst.Config.Config)
	return hex.EncodeToString(h.Sum(nil))
}

// startTracking loads the states a run may skip by. It returns nil when the store
// keeps no states (the run then asks for no file reports).
func startTracking(ctx context.Context, s core.Store, plugin, typ, sourceRef, key string) (*fileTracking, error) {
	ft := &fileTracking{key: key, read: map[string]source.FileState{}, unchanged: map[string]bool{}, rows: map[string]int{}}
	supported := false
	err := s.View(ctx, func(tx core.Tx) error {
		fs, ok := tx.(fileStore)
		if !ok {
			return nil
		}
		supported = true
		last, err := fs.LastImportFiles(ctx, plugin, typ)
		if err != nil || last == nil || last.SourceLocation != sourceRef || last.FilesKey != key {
			return err
		}
		states, err := unpackStates(last.States)
		if err != nil {
			// Unreadable states only cost the skip: the run reads every file.
			return nil
		}
		ft.prev, ft.prevStates = last, make(map[string]fileState, len(states))
		for _, st := range states {
			ft.prevStates[st.Path] = st
		}
		return nil
	})
	if err != nil || !supported {
		return nil, err
	}
	return ft, nil
}

// previous is what the request carries.
func (ft *fileTracking) previous() []source.FileState {
	if ft == nil || len(ft.prevStates) == 0 {
		return nil
	}
	out := make([]source.FileState, 0, len(ft.prevStates))
	for _, st := range ft.prevStates {
		fs := source.FileState{Path: st.Path, Size: st.Size, SHA256: st.SHA256}
		if st.ModTime != 0 {
			fs.ModTime = time.Unix(0, st.ModTime)
		}
		out = append(out, fs)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Path < out[j].Path })
	return out
}

// report takes a file report of the plugin. A file said unchanged that this host sent
// no state for is not trusted: its records are kept, as for an unreadable file, and a
// warning names it.
func (ft *fileTracking) report(st *runState, r *host.FileReport) {
	for _, f := range r.Read {
		ft.read[f.Path] = f
	}
	for _, f := range r.Unchanged {
		if _, ok := ft.prevStates[f.Path]; ok {
			ft.unchanged[f.Path] = true
			continue
		}
		st.diagnostic(sdkWarning(f.Path, "the plugin skipped this file as unchanged, but this Aegis had no earlier state of it: "+
			"its earlier records are kept as they were; import again to read it"))
	}
}

// scope is the scope a run's records are kept under: a run that received no record
// that names one keeps the previous run's.
func (ft *fileTracking) scope(computed, sourceRef string, received int) string {
	if ft == nil || ft.prev == nil || len(ft.unchanged) == 0 || ft.prev.Scope == "" {
		return computed
	}
	if received == 0 || computed == sourceRef {
		return ft.prev.Scope
	}
	return computed
}

// checkKept fails the run when the records kept from the unchanged files are not
// what the previous run left (rows deleted or retired since): keeping them would
// silently lose records, reading again finds them.
func (ft *fileTracking) checkKept(have map[string]int) error {
	var bad []string
	for f := range ft.unchanged {
		if want := ft.prevStates[f].Records; have[f] != want {
			bad = append(bad, fmt.Sprintf("%s (%d of %d records)", f, have[f], want))
		}
	}
	if len(bad) == 0 {
		return nil
	}
	sort.Strings(bad)
	ft.forget = true
	return fmt.Errorf("the store no longer holds the records of %d file(s) the plugin skipped as unchanged, e.g. %s; "+
		"nothing was changed, and the next run reads every file", len(bad), bad[0])
}

// save keeps the run's file states for the next run, in the run's transaction. They
// are kept only when every record of the run names a file the plugin reported, since
// a skipped file keeps exactly the records that name it; otherwise the states are
// dropped and the next run reads everything.
func (ft *fileTracking) save(ctx context.Context, tx core.Tx, st *runState, recs []*pending, scope string) error {
	fs, ok := tx.(fileStore)
	if !ok {
		return nil
	}
	plugin, typ := st.opts.Plugin, st.run.ImporterType
	known := func(f string) bool { _, r := ft.read[f]; return r || ft.unchanged[f] }
	usable := len(ft.read)+len(ft.unchanged) > 0
	for _, p := range recs {
		if usable && !known(p.File) {
			usable = false
		}
	}
	if !usable {
		if ft.prev == nil {
			return nil
		}
		return fs.DeleteImportFiles(ctx, plugin, typ)
	}
	states := make([]fileState, 0, len(ft.read)+len(ft.unchanged))
	for p, f := range ft.read {
		s := fileState{Path: p, Size: f.Size, SHA256: f.SHA256, Records: ft.rows[p]}
		if !f.ModTime.IsZero() {
			s.ModTime = f.ModTime.UnixNano()
		}
		states = append(states, s)
	}
	for p := range ft.unchanged {
		if _, r := ft.read[p]; !r {
			s := ft.prevStates[p]
			s.Records = ft.rows[p]
			states = append(states, s)
		}
	}
	sort.Slice(states, func(i, j int) bool { return states[i].Path < states[j].Path })
	packed, err := packStates(states)
	if err != nil {
		return err
	}
	return fs.PutImportFiles(ctx, &core.ImportFiles{PluginName: plugin, ImporterType: typ, RunID: st.run.ID,
		SourceLocation: st.run.SourceLocation, FilesKey: ft.key, Scope: scope, FileCount: len(states), States: packed})
}

func packStates(states []fileState) ([]byte, error) {
	var b bytes.Buffer
	w := gzip.NewWriter(&b)
	if err := json.NewEncoder(w).Encode(states); err != nil {
		return nil, err
	}
	if err := w.Close(); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

func unpackStates(data []byte) ([]fileState, error) {
	r, err := gzip.NewReader(bytes.NewReader(data))
	if err != nil {
		return nil, err
	}
	raw, err := io.ReadAll(r)
	if err != nil {
		return nil, err
	}
	var out []fileState
	return out, json.Unmarshal(raw, &out)
}
