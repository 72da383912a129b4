package stix

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/aegis-sec/aegis/sdk/source"
)

// Reporter receives warnings and progress; *sdk.Emitter is one.
type Reporter interface {
	Warn(file string, line int, externalID, summary, detail string)
	Progress(done, total int64, msg string)
}

// Options choose what Load reads.
type Options struct {
	// Domains selects the domains to read from a collection index, a TAXII
	// server or a folder holding several domains (mitre/cti); empty means
	// all. A single bundle or domain folder is read whole.
	Domains []string
	// Version is the release to take from a collection index: "" or
	// "latest" for the newest.
	Version string
	// TAXII, when set, reads from a TAXII 2.1 server instead of the source;
	// the source is the fallback when the server fails.
	TAXII *TAXIIOptions
	// Source bounds downloads and extraction.
	Source source.Options
	// HTTPClient is used for TAXII requests (default: a client with a
	// five-minute timeout per request).
	HTTPClient *http.Client
	// Tracker, when set, lets Load skip a local source that has not changed
	// since the host's previous run: a STIX object's record draws on other
	// files (relationships, tactics), so the whole source is skipped or none of
	// it (Tracker.AllUnchanged), and Load returns ErrUnchanged. Only a bundle
	// or a folder given directly is tracked, not what an index names.
	Tracker *source.Tracker
}

// ErrUnchanged is Load's answer for a tracked source whose files are all as the
// previous run read them; the tracker has told the host so.
var ErrUnchanged = errors.New("the source is unchanged since the previous import")

// Load reads an ATT&CK source: a URL or local path of a STIX bundle, a
// single STIX object, a folder of them (mitre/cti's layout), an archive of
// such a folder, or a collection index; or a TAXII 2.1 server when
// opts.TAXII is set. Problems with single files and objects are reported
// to r as warnings; the error is for a source that cannot be read at all.
func Load(ctx context.Context, src string, opts Options, r Reporter) (*Dataset, error) {
	if opts.TAXII != nil {
		server := opts.TAXII.URL
		if server == "" {
			server = src
		}
		l := &loader{ctx: ctx, opts: opts, r: r, ds: newDataset()}
		err := l.loadTAXII(server)
		if err == nil && l.ds.Len() == 0 {
			err = fmt.Errorf("TAXII server %s: the collections hold no objects", server)
		}
		if err == nil {
			l.ds.finish()
			return l.ds, nil
		}
		if opts.TAXII.URL == "" || strings.TrimSpace(src) == "" || src == opts.TAXII.URL {
			return nil, err
		}
		r.Warn("", 0, "", "TAXII server failed, reading the source instead", fmt.Sprintf("%v; reading %s", err, src))
		ds, serr := loadSource(ctx, src, opts, r)
		if serr != nil {
			return nil, fmt.Errorf("%w; and the source, read instead: %w", err, serr)
		}
		return ds, nil
	}
	return loadSource(ctx, src, opts, r)
}

// LoadUnlessUnchanged is Load that first compares a local source with prev,
// the host's file states of its previous run (sdk.ImportRequest.PreviousFiles),
// through a tracker reporting to files (the *sdk.Emitter). unchanged says the
// whole source is as that run read it: nothing was read, the host keeps that
// run's records, and ds is nil.
func LoadUnlessUnchanged(ctx context.Context, src string, opts Options, r Reporter, prev []source.FileState, files source.Reporter) (ds *Dataset, unchanged bool, err error) {
	opts.Tracker = source.NewTracker(prev, files)
	ds, err = Load(ctx, src, opts, r)
	if errors.Is(err, ErrUnchanged) {
		return nil, true, nil
	}
	return ds, false, err
}

func loadSource(ctx context.Context, src string, opts Options, r Reporter) (*Dataset, error) {
	l := &loader{ctx: ctx, opts: opts, r: r, ds: newDataset()}
	l.ds.DefaultRelease = ReleaseFromName(src)
	if err := l.loadSource(src, container{}, ""); err != nil {
		return nil, err
	}
	if l.ds.Len() == 0 {
		return nil, fmt.Errorf("no STIX objects found in %s", src)
	}
	l.ds.finish()
	return l.ds, nil
}

// ReadBundle builds a Dataset from the bytes of one bundle (or single
// object) file, as Load does for a single-file source; name is the file
// name used in warnings and for the domain. Tests and fuzzers use it.
func ReadBundle(name string, data []byte, r Reporter) (*Dataset, error) {
	pf, err := ParseFile(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	if pf.Kind != KindBundle && pf.Kind != KindObject {
		return nil, fmt.Errorf("%s is neither a STIX bundle nor a STIX object", name)
	}
	l := &loader{ctx: context.Background(), r: r, ds: newDataset()}
	l.ds.DefaultRelease = ReleaseFromName(name)
	l.addFile(name, pf, container{})
	l.ds.finish()
	return l.ds, nil
}

type loader struct {
	ctx  context.Context
	opts Options
	r    Reporter
	ds   *Dataset
	// tracked: the top-level source was handed to opts.Tracker (sources an index
	// names are read without it).
	tracked bool
	// mirrored: the local files read through a root index.json (a mirror of
	// attack-stix-data), so that the others can be named as left out.
	mirrored map[string]bool
}

// tracker returns opts.Tracker for the first source opened, nil after.
func (l *loader) tracker() *source.Tracker {
	if l.tracked {
		return nil
	}
	l.tracked = true
	return l.opts.Tracker
}

// skipOrTrack asks tr whether files are all unchanged (ErrUnchanged) and else
// reports each as read, before it is read.
func skipOrTrack(tr *source.Tracker, files []source.File) error {
	if tr == nil {
		return nil
	}
	if tr.AllUnchanged(files) {
		return ErrUnchanged
	}
	for _, f := range files {
		if err := tr.Read(f); err != nil {
			return err
		}
	}
	return nil
}

func (l *loader) selected(domain string) bool {
	if len(l.opts.Domains) == 0 {
		return true
	}
	for _, d := range l.opts.Domains {
		if d == domain {
			return true
		}
	}
	return false
}

func isURL(s string) bool {
	s = strings.ToLower(strings.TrimSpace(s))
	return strings.HasPrefix(s, "http://") || strings.HasPrefix(s, "https://")
}

// loadSource opens src and reads what it holds. display, when set, names a
// single-file source in messages (the path relative to an index).
func (l *loader) loadSource(src string, ctr container, display string) error {
	tree, err := source.Open(l.ctx, src, l.opts.Source)
	if err != nil {
		return err
	}
	defer tree.Close()
	tr := l.tracker()
	if f := tree.File(); f != "" && l.mirrored != nil {
		l.mirrored[filepath.Clean(f)] = true
	}
	if f := tree.File(); f != "" {
		rel := display
		if rel == "" {
			rel = filepath.Base(f)
		}
		if display == "" {
			if err := skipOrTrack(tr, []source.File{{Path: f, Rel: rel}}); err != nil {
				return err
			}
		}
		if objs, warnings, ok := streamBundleFile(f, rel); ok {
			// A bundle, read object by object (an Enterprise bundle is 45 MiB).
			l.ds.Files++
			for _, w := range warnings {
				l.r.Warn(rel, w.line, w.id, w.summary, w.more)
			}
			l.addObjects(objs, ctr, rel)
			return nil
		}
		data, err := os.ReadFile(f)
		if err != nil {
			return fmt.Errorf("read %s: %w", rel, err)
		}
		pf, err := ParseFile(data)
		if err != nil {
			return fmt.Errorf("%s: %w", rel, err)
		}
		switch pf.Kind {
		case KindIndex:
			base := indexBase{dir: filepath.Dir(f)}
			if isURL(src) {
				base = indexBase{url: src}
			}
			return l.loadIndex(pf.Index, base, rel)
		case KindUnknown:
			return fmt.Errorf("%s is neither a STIX bundle, a STIX object nor an ATT&CK collection index", rel)
		}
		l.ds.Files++
		l.addFile(rel, pf, ctr)
		return nil
	}
	return l.loadFolder(tree, ctr, tr)
}

// readWorkers, when positive, sets how many files are read at once (benchmarks
// compare a serial read); else up to four, no more than GOMAXPROCS.
var readWorkers int

type fileJob struct {
	path, rel string
	ctr       container
}

// loadFolder reads a folder. A root index.json makes it a local mirror of
// attack-stix-data; domain-named subfolders make it a mitre/cti checkout,
// read per selected domain (its whole-domain bundle <domain>/<domain>.json
// when there is one, else its one-object files); anything else is read as
// every *.json below the root.
func (l *loader) loadFolder(tree *source.Tree, ctr container, tr *source.Tracker) error {
	root := tree.Root()
	if data, err := os.ReadFile(filepath.Join(root, "index.json")); err == nil {
		if pf, err := ParseFile(data); err == nil && pf.Kind == KindIndex {
			l.mirrored = map[string]bool{}
			if err := l.loadIndex(pf.Index, indexBase{dir: root}, "index.json"); err != nil {
				return err
			}
			left, err := tree.LeftOut()
			if err != nil {
				return err
			}
			var rest []source.File
			for _, f := range left {
				if f.Rel != "index.json" && !l.mirrored[filepath.Clean(f.Path)] {
					rest = append(rest, f)
				}
			}
			source.WarnLeftOut(l.r, rest, func(string) string {
				return "not a bundle that index.json names for the configured domains and release"
			})
			return nil
		}
	}
	var jobs []fileJob
	var present []string
	for _, d := range Domains {
		if st, err := os.Stat(filepath.Join(root, d)); err == nil && st.IsDir() {
			present = append(present, d)
		}
	}
	switch {
	case len(present) > 0:
		chosen := 0
		for _, d := range present {
			if !l.selected(d) {
				continue
			}
			chosen++
			js, err := l.domainJobs(tree, d+"/", container{Domain: d, Release: ctr.Release})
			if err != nil {
				return err
			}
			jobs = append(jobs, js...)
		}
		if chosen == 0 {
			return fmt.Errorf("%s holds the domains %s, and the configured domains %s select none of them",
				tree.Source(), strings.Join(present, ", "), strings.Join(l.opts.Domains, ", "))
		}
	case IsDomain(filepath.Base(root)):
		d := filepath.Base(root)
		if ctr.Domain == "" {
			ctr.Domain = d
		}
		js, err := l.domainJobs(tree, "", ctr)
		if err != nil {
			return err
		}
		jobs = js
	default:
		files, err := tree.Glob("**/*.json")
		if err != nil {
			return err
		}
		for _, f := range files {
			jobs = append(jobs, fileJob{path: f.Path, rel: f.Rel, ctr: ctr})
		}
	}
	if len(jobs) == 0 {
		return fmt.Errorf("no JSON files found in %s", tree.Source())
	}
	if err := l.warnLeftOut(tree, jobs, present); err != nil {
		return err
	}
	if tr != nil {
		files := make([]source.File, len(jobs))
		for i, j := range jobs {
			files[i] = source.File{Path: j.path, Rel: j.rel}
		}
		if err := skipOrTrack(tr, files); err != nil {
			return err
		}
	}
	total := int64(len(jobs))
	// Files are read and decoded by a few workers, a window of files at a time, and
	// added in the order they were listed, so warnings and the dataset are the same
	// as a serial read's.
	workers := readWorkers
	if workers <= 0 {
		workers = min(4, max(1, runtime.GOMAXPROCS(0)))
	}
	const window = 256
	read := make([]*readResult, window)
	for start := 0; start < len(jobs); start += window {
		if err := l.ctx.Err(); err != nil {
			return err
		}
		batch := jobs[start:min(start+window, len(jobs))]
		var next atomic.Int64
		var wg sync.WaitGroup
		for range min(workers, len(batch)) {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for {
					i := int(next.Add(1)) - 1
					if i >= len(batch) {
						return
					}
					read[i] = decodeFile(batch[i])
				}
			}()
		}
		wg.Wait()
		for i := range batch {
			l.addRead(read[i])
			read[i] = nil
			if n := start + i + 1; n%1000 == 0 || n == len(jobs) {
				l.r.Progress(int64(n), total, "reading STIX files")
			}
		}
	}
	return nil
}

// warnLeftOut names the files of a folder source that jobs do not read, with why.
func (l *loader) warnLeftOut(tree *source.Tree, jobs []fileJob, present []string) error {
	read := make([]source.File, len(jobs))
	for i, j := range jobs {
		read[i] = source.File{Path: j.path, Rel: j.rel}
	}
	left, err := tree.LeftOut(read)
	if err != nil {
		return err
	}
	whole := map[string]bool{} // domains read from their whole bundle
	for _, j := range jobs {
		if dom, name, ok := strings.Cut(j.rel, "/"); ok && name == dom+".json" {
			whole[dom] = true
		}
	}
	source.WarnLeftOut(l.r, left, func(rel string) string {
		dom, _, nested := strings.Cut(rel, "/")
		inDomain := nested && slices.Contains(present, dom)
		switch {
		case inDomain && !l.selected(dom):
			return "the domain " + dom + " is not among the configured domains (" + strings.Join(l.opts.Domains, ", ") + ")"
		case inDomain && whole[dom]:
			return "the domain's whole bundle " + dom + "/" + dom + ".json was read instead"
		case !strings.HasSuffix(rel, ".json"):
			return "not a .json file"
		default:
			return "outside the domain folders (" + strings.Join(present, ", ") + ")"
		}
	})
	return nil
}

// domainJobs lists the files of one domain folder (prefix is "" or "d/").
func (l *loader) domainJobs(tree *source.Tree, prefix string, ctr container) ([]fileJob, error) {
	d := ctr.Domain
	whole := prefix + d + ".json"
	if st, err := os.Stat(tree.Path(whole)); err == nil && st.Mode().IsRegular() {
		return []fileJob{{path: tree.Path(whole), rel: whole, ctr: ctr}}, nil
	}
	files, err := tree.Glob(prefix + "**/*.json")
	if err != nil {
		return nil, err
	}
	jobs := make([]fileJob, 0, len(files))
	for _, f := range files {
		jobs = append(jobs, fileJob{path: f.Path, rel: f.Rel, ctr: ctr})
	}
	return jobs, nil
}

// readResult is one file of a folder read and decoded, not yet added: its objects,
// and the warnings to give, in order.
type readResult struct {
	job      fileJob
	ok       bool // the file holds STIX objects: count it and add them
	objs     []*Object
	warnings []readWarning
}

type readWarning struct {
	line              int
	id, summary, more string
}

// decodeFile reads and decodes one file of a folder; it touches nothing shared, so
// several run at once.
func decodeFile(j fileJob) *readResult {
	res := &readResult{job: j}
	warn := func(line int, id, summary, detail string) {
		res.warnings = append(res.warnings, readWarning{line, id, summary, detail})
	}
	data, err := os.ReadFile(j.path)
	if err != nil {
		warn(0, "", "skipped unreadable file", err.Error())
		return res
	}
	pf, err := ParseFile(data)
	if err != nil {
		warn(0, "", "skipped file that is not JSON", err.Error())
		return res
	}
	switch pf.Kind {
	case KindIndex:
		warn(1, "", "skipped collection index inside a folder", "only an index.json at the root of the source, or given as the source, is followed")
		return res
	case KindUnknown:
		warn(1, "", "skipped JSON file that is not a STIX bundle or object", "")
		return res
	}
	res.ok = true
	res.objs = decodeObjects(j.rel, pf, warn)
	return res
}

// addRead gives a read file's warnings and adds its objects.
func (l *loader) addRead(res *readResult) {
	for _, w := range res.warnings {
		l.r.Warn(res.job.rel, w.line, w.id, w.summary, w.more)
	}
	if !res.ok {
		return
	}
	l.ds.Files++
	l.addObjects(res.objs, res.job.ctr, res.job.rel)
}

// addFile decodes a parsed file's objects and adds them. The file's domain
// and release come from the caller's context (index, domain folder), else
// from an x-mitre-collection or x-mitre-matrix in the file, else from its
// path.
func (l *loader) addFile(rel string, pf *ParsedFile, ctr container) {
	objs := decodeObjects(rel, pf, func(line int, id, summary, detail string) { l.r.Warn(rel, line, id, summary, detail) })
	l.addObjects(objs, ctr, rel)
}

// decodeObjects decodes a parsed file's objects, warning about what it skips.
func decodeObjects(rel string, pf *ParsedFile, warn func(line int, id, summary, detail string)) []*Object {
	if pf.Err != nil {
		warn(pf.ErrLine, "", "file breaks off: the objects after this line were skipped", pf.Err.Error())
	}
	objs := make([]*Object, 0, len(pf.Objects))
	for _, raw := range pf.Objects {
		if o := decodeOne(rel, raw.Data, raw.Line, warn); o != nil {
			objs = append(objs, o)
		}
	}
	return objs
}

// decodeOne decodes one object of rel that starts on line, warning about what it
// skips; nil when the object is skipped.
func decodeOne(rel string, data []byte, line int, warn func(line int, id, summary, detail string)) *Object {
	o, problems, err := DecodeObject(data)
	if err != nil {
		warn(line, rawID(data), "skipped malformed STIX object", err.Error())
		return nil
	}
	o.Pos = Position{File: rel, Line: line}
	if len(problems) > 0 {
		warn(line, o.Label(), "ignored malformed fields of "+o.Type+" "+o.ID, strings.Join(problems, "; "))
	}
	return o
}

// addObjects completes the container from the objects themselves and adds them.
func (l *loader) addObjects(objs []*Object, ctr container, rel string) {
	for _, o := range objs {
		switch o.Type {
		case "x-mitre-collection":
			if ctr.Domain == "" {
				ctr.Domain = DomainFromName(o.Name)
			}
			if ctr.Release == "" {
				ctr.Release = o.Version
			}
		case "x-mitre-matrix":
			if ctr.Domain == "" {
				if ctr.Domain = DomainFromName(o.ExternalID()); ctr.Domain == "" {
					ctr.Domain = DomainFromName(o.Name)
				}
			}
		}
	}
	if ctr.Domain == "" {
		ctr.Domain = domainFromPath(rel)
	}
	for _, o := range objs {
		l.ds.add(o, ctr)
	}
}

// rawID digs the id out of an object that failed to decode, for the warning.
func rawID(data []byte) string {
	var v struct {
		ID any `json:"id"`
	}
	if json.Unmarshal(data, &v) == nil {
		if s, ok := v.ID.(string); ok {
			return s
		}
	}
	return ""
}

// indexBase is where an index was read from, to resolve its bundle URLs.
type indexBase struct {
	dir string // local folder of the index
	url string // URL of the index
}

// collectionIndex is attack-stix-data's index.json.
type collectionIndex struct {
	Collections []struct {
		ID       string `json:"id"`
		Name     string `json:"name"`
		Versions []struct {
			Version string `json:"version"`
			URL     string `json:"url"`
		} `json:"versions"`
	} `json:"collections"`
}

// Known collection ids, for indexes whose names say nothing of the domain.
var collectionDomains = map[string]string{
	"x-mitre-collection--1f5f1533-f617-4ca8-9ab4-6a02367fa019": DomainEnterprise,
	"x-mitre-collection--dac0d2d7-8653-445c-9bff-82f934c1e858": DomainMobile,
	"x-mitre-collection--90c00720-636b-4485-b342-8751d232bf09": DomainICS,
}

// loadIndex reads the bundles an index names for the selected domains and
// release. A local index is a mirror when the bundle files sit beside it
// under the paths of their URLs (ics-attack/ics-attack-18.1.json): those
// are read instead of downloading.
func (l *loader) loadIndex(data []byte, base indexBase, rel string) error {
	var idx collectionIndex
	if err := json.Unmarshal(data, &idx); err != nil {
		return fmt.Errorf("%s: not a collection index: %w", rel, err)
	}
	want := strings.TrimPrefix(strings.TrimSpace(l.opts.Version), "v")
	var available []string
	loaded := 0
	for _, c := range idx.Collections {
		dom := collectionDomains[c.ID]
		if dom == "" {
			dom = DomainFromName(c.Name)
		}
		if dom == "" && len(c.Versions) > 0 {
			dom = domainFromPath(c.Versions[0].URL)
		}
		if dom == "" {
			l.r.Warn(rel, 0, c.ID, "skipped collection of an unknown domain", c.Name)
			continue
		}
		if !l.selected(dom) {
			continue
		}
		best := -1
		for i, v := range c.Versions {
			available = append(available, dom+" "+v.Version)
			switch {
			case v.URL == "":
			case want == "" || strings.EqualFold(want, "latest"):
				if best < 0 || CompareVersions(v.Version, c.Versions[best].Version) > 0 {
					best = i
				}
			case CompareVersions(v.Version, want) == 0:
				best = i
			}
		}
		if best < 0 {
			l.r.Warn(rel, 0, dom, "the index has no release "+want+" of "+dom, "")
			continue
		}
		v := c.Versions[best]
		target, display, err := base.resolve(v.URL)
		if err != nil {
			return fmt.Errorf("%s: %s %s: %w", rel, dom, v.Version, err)
		}
		l.r.Progress(0, 0, "reading "+dom+" "+v.Version+" from "+display)
		if err := l.loadSource(target, container{Domain: dom, Release: v.Version}, display); err != nil {
			return fmt.Errorf("%s %s named by %s: %w", dom, v.Version, rel, err)
		}
		loaded++
	}
	if loaded == 0 {
		doms := "all domains"
		if len(l.opts.Domains) > 0 {
			doms = strings.Join(l.opts.Domains, ", ")
		}
		ver := want
		if ver == "" {
			ver = "latest"
		}
		return fmt.Errorf("%s: nothing to read for %s, release %s (the index lists %d releases of the selected domains)", rel, doms, ver, len(available))
	}
	return nil
}

// resolve turns a bundle URL of an index into what to open and how to name it.
func (b indexBase) resolve(raw string) (target, display string, err error) {
	u, err := url.Parse(strings.TrimSpace(raw))
	if err != nil {
		return "", "", fmt.Errorf("bad bundle URL %q: %w", raw, err)
	}
	if b.dir != "" {
		segs := strings.Split(strings.Trim(u.Path, "/"), "/")
		for n := min(2, len(segs)); n >= 1; n-- {
			rel := path.Join(segs[len(segs)-n:]...)
			if rel == "" || rel == "." || strings.HasPrefix(rel, "..") {
				continue
			}
			p := filepath.Join(b.dir, filepath.FromSlash(rel))
			if st, err := os.Stat(p); err == nil && st.Mode().IsRegular() {
				return p, rel, nil
			}
		}
		if !u.IsAbs() {
			return "", "", fmt.Errorf("bundle %q is neither beside the index nor a URL", raw)
		}
		return u.String(), u.Redacted(), nil
	}
	if !u.IsAbs() {
		bu, err := url.Parse(b.url)
		if err != nil {
			return "", "", err
		}
		u = bu.ResolveReference(u)
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return "", "", errors.New("bundle URL " + u.Redacted() + " is not http(s)")
	}
	return u.String(), u.Redacted(), nil
}
