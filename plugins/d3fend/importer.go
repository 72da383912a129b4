package main

import (
	"context"
	"errors"
	"fmt"
	"github.com/aegis-sec/aegis/plugins/internal/jsonpos"
	"path/filepath"
	"sort"
	"strings"

	"github.com/aegis-sec/aegis/plugins/internal/attacksource"
	"github.com/aegis-sec/aegis/sdk"
	"github.com/aegis-sec/aegis/sdk/source"
)

type importer struct{}

func (*importer) Import(ctx context.Context, req sdk.ImportRequest, out *sdk.Emitter) error {
	cfg, err := decodeConfig(req.Config)
	if err != nil {
		return fmt.Errorf("config: %w", err)
	}
	tree, err := source.Open(ctx, req.Source, source.Options{})
	if err != nil {
		return err
	}
	defer tree.Close()

	onto, err := findOntology(tree, cfg)
	if err != nil {
		return err
	}
	// A technique's record draws on the ontology, the mitigation mappings and the
	// ATT&CK files: the import is skipped when none of them changed, or read whole.
	tr := source.NewTracker(req.PreviousFiles, out)
	var attackFiles *attackListing
	if files, listed, closeFn, ok := trackedFiles(ctx, tree, cfg, onto, out); ok {
		attackFiles = listed
		defer attackFiles.close()
		skip := tr.AllUnchanged(files)
		closeFn()
		if skip {
			out.Progress(0, 0, fmt.Sprintf("the source is unchanged since the previous import: %d files skipped", len(files)))
			return nil
		}
	}
	out.Progress(0, 0, "reading "+onto.Rel)
	data, err := tr.ReadFile(onto)
	if err != nil {
		return fmt.Errorf("%s: %w", onto.Rel, err)
	}
	if isTurtle(onto.Rel, data) {
		return fmt.Errorf("%s: %w", onto.Rel, errTurtle)
	}
	g, problems, err := parseGraph(data)
	if err != nil {
		// The ontology is the whole import: without it there is nothing to
		// deliver, and an empty run would mark every technique deprecated.
		return fmt.Errorf("%s: %w", onto.Rel, err)
	}
	warnAll(out, onto.Rel, problems)
	o := newOntology(g)
	defs, problems := o.techniques()
	warnAll(out, onto.Rel, problems)
	if len(defs) == 0 {
		return fmt.Errorf("%s: no D3FEND techniques (nodes with d3f:d3fend-id below d3f:DefensiveTechnique)", onto.Rel)
	}
	attacks, problems := o.attackTechniques()
	warnAll(out, onto.Rel, problems)
	o.deriveMappings(defs, attacks)

	mitigations, err := addMitigations(ctx, tree, cfg, defs, out, tr, attackFiles)
	if err != nil {
		return err
	}
	if tree.File() == "" {
		left, err := tree.LeftOut([]source.File{onto, mitigations})
		if err != nil {
			return err
		}
		source.WarnLeftOut(out, left, func(string) string {
			return "neither the ontology read (" + onto.Rel + ") nor the ATT&CK mitigation mappings read"
		})
	}

	total := int64(len(defs))
	for i, d := range defs {
		sortMappings(d.rec.Mappings)
		err := out.RecordAt(d.rec, onto.Rel, d.node.Line)
		var ve *sdk.ValidationError
		if errors.As(err, &ve) {
			out.Diagnostic(sdk.Diagnostic{Severity: sdk.SeverityWarning, File: onto.Rel, Line: d.node.Line, ExternalID: d.rec.ExternalID,
				Summary: "skipped invalid D3FEND technique", Detail: err.Error(), Attribute: ve.Problems[0].Field})
			continue
		}
		if err != nil {
			return err
		}
		if (i+1)%50 == 0 {
			out.Progress(int64(i+1), total, "techniques")
		}
	}
	out.Progress(total, total, fmt.Sprintf("%d D3FEND techniques", out.Count()))
	return nil
}

// findOntology picks the ontology file: the source itself when it is a file,
// else the shallowest match of the glob (a site checkout may also hold
// versioned copies further down).
func findOntology(tree *source.Tree, cfg config) (source.File, error) {
	if tree.File() != "" {
		return source.File{Path: tree.File(), Rel: tree.Source()}, nil
	}
	files, err := tree.Glob(cfg.Ontology)
	if err != nil {
		return source.File{}, err
	}
	if len(files) == 0 {
		if ttl, _ := tree.Glob("**/*.ttl"); len(ttl) > 0 {
			return source.File{}, fmt.Errorf("no D3FEND ontology in %s (looked for %s); %s: %w", tree.Source(), cfg.Ontology, ttl[0].Rel, errTurtle)
		}
		return source.File{}, fmt.Errorf("no D3FEND ontology in %s (looked for %s)", tree.Source(), cfg.Ontology)
	}
	sortShallowFirst(files)
	return files[0], nil
}

// errTurtle answers a Turtle ontology: no well-kept Go RDF library is on the
// module proxy, and D3FEND publishes the same ontology as JSON-LD.
var errTurtle = errors.New("Turtle is not supported, use the JSON-LD release file (d3fend.json, https://d3fend.mitre.org/ontologies/d3fend.json)")

// isTurtle tells a Turtle file by its name or its first statement (@prefix,
// @base, PREFIX or BASE), so it fails with a clear message rather than a JSON
// syntax error at its first '@'.
func isTurtle(name string, data []byte) bool {
	if strings.HasSuffix(strings.ToLower(name), ".ttl") {
		return true
	}
	for _, line := range strings.SplitN(string(data[:min(len(data), 4096)]), "\n", 50) {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		upper := strings.ToUpper(line)
		return strings.HasPrefix(line, "@prefix") || strings.HasPrefix(line, "@base") ||
			strings.HasPrefix(upper, "PREFIX ") || strings.HasPrefix(upper, "BASE ")
	}
	return false
}

// errWarned says a problem was already reported as a warning.
var errWarned = errors.New("reported as a warning")

// offline tells whether a URL in the config may be left out: the source is
// local, so the user is working from local files (perhaps without a network).
func offline(tree *source.Tree, configured string) bool {
	return remote(configured) && !remote(tree.Source())
}

// remote tells a URL from a local path.
func remote(src string) bool {
	l := strings.ToLower(strings.TrimSpace(src))
	return strings.HasPrefix(l, "http://") || strings.HasPrefix(l, "https://")
}

func sortShallowFirst(files []source.File) {
	sort.SliceStable(files, func(i, j int) bool {
		return strings.Count(files[i].Rel, "/") < strings.Count(files[j].Rel, "/")
	})
}

func warnAll(out *sdk.Emitter, file string, problems []problem) {
	for _, p := range problems {
		out.Warn(file, p.Line, p.ID, p.Summary, p.Detail)
	}
}

// addMitigations adds D3FEND's ATT&CK-mitigation mappings to the techniques.
// A mitigation is not a technique, so each "M1018 is related to D3-LFP"
// becomes one mapping per technique M1018 mitigates in the ATT&CK data, with
// relation "mitigation:M1018".
func addMitigations(ctx context.Context, tree *source.Tree, cfg config, defs []*defTechnique, out *sdk.Emitter, tr *source.Tracker, attackFiles *attackListing) (source.File, error) {
	file, closeFn, err := findMitigations(ctx, tree, cfg, out, true)
	if errors.Is(err, errWarned) {
		return source.File{}, nil
	}
	if err != nil {
		return source.File{}, err
	}
	defer closeFn()
	if file.Path == "" {
		out.Warn("", 0, "", "no ATT&CK mitigation mappings imported",
			fmt.Sprintf("no file matching %s in the source; set mitigations_source to D3FEND's attack-mitigations.json", cfg.Mitigations))
		return source.File{}, nil
	}
	data, err := tr.ReadFile(file.tracked)
	if err != nil {
		return source.File{}, fmt.Errorf("%s: %w", file.Rel, err)
	}
	links, problems, err := parseMitigations(data)
	if err != nil {
		var se *jsonpos.SyntaxError
		line := 0
		if errors.As(err, &se) {
			line = se.Line
		}
		out.Warn(file.Rel, line, "", "skipped malformed ATT&CK mitigation mappings", err.Error())
		return file.File, nil
	}
	warnAll(out, file.Rel, problems)
	if len(links) == 0 {
		return file.File, nil
	}
	if cfg.AttackSource == "" {
		out.Warn(file.Rel, 0, "", fmt.Sprintf("%d ATT&CK mitigation mappings left out: config attack_source is not set", len(links)),
			"a mapping must name an ATT&CK technique; attack_source (ATT&CK STIX) says which techniques each mitigation mitigates")
		return file.File, nil
	}
	out.Progress(0, 0, "reading ATT&CK from "+cfg.AttackSource)
	am, skipped, err := loadAttack(ctx, cfg.AttackSource, tr, attackFiles)
	if err != nil && offline(tree, cfg.AttackSource) {
		// A local source with the shipped config (attack_source a URL) must work
		// offline: the mitigation mappings are left out, and the run says so.
		out.Warn(file.Rel, 0, "", fmt.Sprintf("%d ATT&CK mitigation mappings left out: attack_source could not be read", len(links)),
			err.Error()+"; set attack_source to a local ATT&CK STIX bundle or mitre/cti folder to import them offline")
		return file.File, nil
	}
	if err != nil {
		return source.File{}, err
	}
	for _, s := range skipped {
		out.Warn("", 0, "", "attack_source: skipped unreadable file", s)
	}
	byNode := map[string]*defTechnique{}
	byID := map[string]*defTechnique{}
	for _, d := range defs {
		byNode[d.node.ID], byID[d.rec.ExternalID] = d, d
	}
	empty := map[string]bool{}
	for _, l := range links {
		d := byNode[l.Technique]
		if d == nil {
			d = byID[l.D3FENDID]
		}
		if d == nil {
			out.Warn(file.Rel, l.Line, l.Mitigation, "skipped mapping to an unknown D3FEND technique", l.Technique+" is not a technique of the ontology")
			continue
		}
		ts := am.techniques[l.Mitigation]
		if len(ts) == 0 {
			if !empty[l.Mitigation] {
				empty[l.Mitigation] = true
				out.Warn(file.Rel, l.Line, l.Mitigation, "mitigation mitigates no live technique in the ATT&CK data", "attack_source: "+cfg.AttackSource)
			}
			continue
		}
		for _, t := range ts {
			d.rec.Mappings = append(d.rec.Mappings, sdk.DefensiveMapping{TechniqueID: t, Relation: mitigationKey + l.Mitigation})
		}
	}
	return file.File, nil
}

// mitigationsFile is attack-mitigations.json, and the same file as the tracker
// knows it: under mitigations_source/ when it is not in the import's source.
type mitigationsFile struct {
	source.File
	tracked source.File
}

// errRemote answers findMitigations asked not to fetch a remote file.
var errRemote = errors.New("remote, not fetched")

// findMitigations locates attack-mitigations.json: mitigations_source when
// set, else the glob inside a folder source. An empty File means there is none.
// Without fetch, a mitigations_source URL is errRemote.
func findMitigations(ctx context.Context, tree *source.Tree, cfg config, out *sdk.Emitter, fetch bool) (mitigationsFile, func(), error) {
	noop := func() {}
	own := func(f source.File) mitigationsFile { return mitigationsFile{File: f, tracked: f} }
	if cfg.MitigationsSource != "" && remote(cfg.MitigationsSource) && !remote(tree.Source()) && tree.File() == "" {
		// A local folder holding its own attack-mitigations.json wins over the
		// URL of the shipped config: offline imports from local files work.
		if files, err := tree.Glob(cfg.Mitigations); err == nil && len(files) > 0 {
			sortShallowFirst(files)
			return own(files[0]), noop, nil
		}
	}
	if cfg.MitigationsSource != "" && !fetch && remote(cfg.MitigationsSource) {
		return mitigationsFile{}, noop, errRemote
	}
	if cfg.MitigationsSource != "" {
		other := func(f source.File) mitigationsFile {
			return mitigationsFile{File: f, tracked: source.File{Path: f.Path, Rel: "mitigations_source/" + filepath.Base(f.Path)}}
		}
		mt, err := source.Open(ctx, cfg.MitigationsSource, source.Options{})
		if err != nil && offline(tree, cfg.MitigationsSource) {
			out.Warn("", 0, "", "no ATT&CK mitigation mappings imported: mitigations_source could not be read",
				err.Error()+"; put attack-mitigations.json beside the ontology or set mitigations_source to a local file to import them offline")
			return mitigationsFile{}, noop, errWarned
		}
		if err != nil {
			return mitigationsFile{}, noop, fmt.Errorf("mitigations_source: %w", err)
		}
		closeFn := func() { _ = mt.Close() }
		if mt.File() != "" {
			return other(source.File{Path: mt.File(), Rel: mt.Source()}), closeFn, nil
		}
		files, err := mt.Glob(cfg.Mitigations)
		if err != nil || len(files) == 0 {
			closeFn()
			return mitigationsFile{}, noop, fmt.Errorf("mitigations_source %s: no file matching %s (%v)", mt.Source(), cfg.Mitigations, err)
		}
		sortShallowFirst(files)
		return other(files[0]), closeFn, nil
	}
	if tree.File() != "" {
		return mitigationsFile{}, noop, nil
	}
	files, err := tree.Glob(cfg.Mitigations)
	if err != nil {
		return mitigationsFile{}, noop, err
	}
	if len(files) == 0 {
		return mitigationsFile{}, noop, nil
	}
	sortShallowFirst(files)
	return own(files[0]), noop, nil
}

// trackedFiles lists, for Tracker.AllUnchanged, the files a full import reads,
// by the paths it reports them by: the ontology, the mitigation mappings and the
// ATT&CK files. ok is false when a source is a URL (fetched again by every run)
// or cannot be listed: the import then reads everything. The listing decides
// only whether to skip: a file it missed, or one more, is a count the previous
// run's states do not match, and the import reads everything. closeFn releases
// the sources it opened.
func trackedFiles(ctx context.Context, tree *source.Tree, cfg config, onto source.File, out *sdk.Emitter) (files []source.File, attack *attackListing, closeFn func(), ok bool) {
	mit, closeMit, err := findMitigations(ctx, tree, cfg, out, false)
	if err != nil {
		return nil, nil, nil, false
	}
	files = []source.File{onto}
	if mit.Path == "" || cfg.AttackSource == "" {
		if mit.Path != "" {
			files = append(files, mit.tracked)
		}
		return files, nil, closeMit, true
	}
	if remote(cfg.AttackSource) {
		closeMit()
		return nil, nil, nil, false
	}
	at, listed, err := attacksource.Open(ctx, cfg.AttackSource, attackFolders...)
	if err != nil {
		closeMit()
		return nil, nil, nil, false
	}
	files = append(files, mit.tracked)
	for _, f := range listed {
		files = append(files, attacksource.Tracked(f))
	}
	// loadAttack reads these files without listing the folder again; the tree stays
	// open until the run ends (an archive's files are in its temporary folder).
	return files, &attackListing{tree: at, files: listed}, closeMit, true
}
