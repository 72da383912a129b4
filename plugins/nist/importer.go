package main

import (
	"context"
	"errors"
	"fmt"
	"github.com/aegis-sec/aegis/plugins/internal/jsonpos"
	"sort"
	"strings"

	"github.com/aegis-sec/aegis/plugins/internal/attacksource"
	"github.com/aegis-sec/aegis/sdk"
	"github.com/aegis-sec/aegis/sdk/source"
)

const (
	frameworkID = "nist-800-53-rev5"
	// warnLimit caps warnings of one kind per file: an ATT&CK source of the
	// wrong domain would otherwise leave thousands of identical warnings.
	warnLimit = 50
)

var framework = &sdk.ComplianceFramework{
	ExternalID:  frameworkID,
	Name:        "NIST SP 800-53 Rev. 5",
	Version:     "5",
	Description: "Security and Privacy Controls for Information Systems and Organizations",
	URL:         "https://csrc.nist.gov/pubs/sp/800/53/r5/upd1/final",
}

type importer struct{}

// control is one control record being assembled from every file that
// mentions it.
type control struct {
	id       controlID
	rec      *sdk.ComplianceControl
	file     string
	line     int
	defined  bool // a catalog (STIX controls) defined it, so its title wins
	mappings map[[2]string]int
}

type importRun struct {
	out      *sdk.Emitter
	controls map[string]*control
	refs     map[string]controlID // STIX course-of-action id → control, over all files
	stix     []stixMapping
	warned   map[string]int
	dups     int
	nonMap   int
	nist     bool // a file of NIST 800-53 rev5 was read
	// nistFile is the first of them: the framework's record names it, so that the
	// host keeps the record when the plugin skips an unchanged source.
	nistFile string
	tr       *source.Tracker
	// others are the frameworks of other Mappings Explorer files, by id.
	others map[string]*otherFramework
}

// otherFramework is a framework other than NIST 800-53 and its controls.
type otherFramework struct {
	rec      *sdk.ComplianceFramework
	file     string
	controls map[string]*control
}

type stixMapping struct {
	file string
	row  mappingRow
}

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
	var files []source.File
	if tree.File() != "" {
		files = []source.File{{Path: tree.File(), Rel: tree.Source()}}
	} else if files, err = tree.Glob(cfg.Files); err != nil {
		return err
	}
	if len(files) == 0 {
		return fmt.Errorf("no JSON files in %s (looked for %s)", tree.Source(), cfg.Files)
	}
	left, err := tree.LeftOut(files)
	if err != nil {
		return err
	}
	source.WarnLeftOut(out, left, func(string) string { return "does not match the file pattern " + cfg.Files })

	// A control's record draws on several files (mappings of one control in many
	// files, STIX mappings resolved through attack_source): the source is skipped
	// when none of them changed, or read whole.
	tr := source.NewTracker(req.PreviousFiles, out)
	if tracked, closeFn, ok := trackedFiles(ctx, cfg, files); ok {
		skip := tr.AllUnchanged(tracked)
		closeFn()
		if skip {
			out.Progress(int64(len(files)), int64(len(files)), fmt.Sprintf("the source is unchanged since the previous import: %d files skipped", len(tracked)))
			return nil
		}
	}
	r := &importRun{out: out, tr: tr, controls: map[string]*control{}, refs: map[string]controlID{}, warned: map[string]int{},
		others: map[string]*otherFramework{}}
	used := 0
	for i, f := range files {
		if err := ctx.Err(); err != nil {
			return err
		}
		out.Progress(int64(i), int64(len(files)), "reading "+f.Rel)
		data, err := tr.ReadFile(f)
		if err != nil {
			return fmt.Errorf("%s: %w", f.Rel, err)
		}
		res, err := parseFile(data)
		if err != nil {
			line := 0
			var se *jsonpos.SyntaxError
			if errors.As(err, &se) {
				line = se.Line
			}
			out.Warn(f.Rel, line, "", "skipped malformed JSON file", err.Error())
			continue
		}
		if res.Skip != "" {
			out.Warn(f.Rel, 0, "", "skipped file", res.Skip)
			continue
		}
		if res.Format == "" {
			// Every file of the source is imported or named: this one holds neither
			// NIST controls nor mappings.
			out.Warn(f.Rel, 0, "", "skipped file", "neither a Mappings Explorer file nor a STIX bundle with NIST 800-53 controls or mappings")
			continue
		}
		used++
		if res.Framework != nil {
			r.addOtherFile(f.Rel, res)
			continue
		}
		if !r.nist {
			r.nistFile = f.Rel
		}
		r.nist = true
		r.addFile(f.Rel, res)
	}
	if used == 0 {
		return fmt.Errorf("no NIST 800-53 rev5 controls or mappings, and no Mappings Explorer file of another framework, in %s (%d JSON files read)",
			tree.Source(), len(files))
	}
	if err := r.resolveSTIX(ctx, cfg); err != nil {
		return err
	}
	r.flushWarnings()
	return r.emit()
}

// warn reports a problem with one object, up to warnLimit of the same kind per file.
func (r *importRun) warn(file string, f finding) {
	key := file + "\x00" + f.Summary
	r.warned[key]++
	if r.warned[key] <= warnLimit {
		r.out.Warn(file, f.Line, f.ID, f.Summary, f.Detail)
	}
}

func (r *importRun) flushWarnings() {
	keys := make([]string, 0, len(r.warned))
	for k, n := range r.warned {
		if n > warnLimit {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	for _, k := range keys {
		var file, summary string
		for i := range k {
			if k[i] == 0 {
				file, summary = k[:i], k[i+1:]
				break
			}
		}
		r.out.Warn(file, 0, "", fmt.Sprintf("%d more warnings: %s", r.warned[k]-warnLimit, summary), "only the first of each kind are listed")
	}
}

func (r *importRun) control(id controlID, file string, line int) *control {
	key := id.String()
	c := r.controls[key]
	if c == nil {
		c = &control{id: id, file: file, line: line, mappings: map[[2]string]int{}, rec: &sdk.ComplianceControl{
			FrameworkID: frameworkID, ExternalID: key, ParentID: id.Parent(), Family: families[id.Family],
		}}
		r.controls[key] = c
	}
	return c
}

func (r *importRun) addFile(file string, res *fileResult) {
	for _, p := range res.Problems {
		r.warn(file, p)
	}
	r.nonMap += res.NonMappable
	for _, d := range res.Controls {
		c := r.control(d.ID, file, d.Line)
		if c.defined {
			r.warn(file, finding{Line: d.Line, ID: c.rec.ExternalID, Summary: "skipped second definition of a control",
				Detail: fmt.Sprintf("first defined at %s:%d", c.file, c.line)})
			continue
		}
		// A catalog definition is where the control lives, whatever mapping
		// file mentioned it first.
		c.defined, c.file, c.line = true, file, d.Line
		c.rec.Title, c.rec.Description = d.Title, d.Description
		if c.rec.Family == "" {
			c.rec.Family = d.Family
		}
	}
	for ref, id := range res.ControlRefs {
		r.refs[ref] = id
	}
	for _, m := range res.Mappings {
		if m.ControlRef != "" {
			r.stix = append(r.stix, stixMapping{file: file, row: m})
			continue
		}
		c := r.control(m.Control, file, m.Line)
		if !c.defined && c.rec.Title == "" {
			c.rec.Title = m.Title
		}
		if c.rec.Family == "" {
			c.rec.Family = m.Family
		}
		r.addMapping(c, m)
	}
}

// addOtherFile adds a Mappings Explorer file of another framework: each
// capability is a control of that framework. Two files of one framework and
// version (enterprise and mobile, say) add to the same controls.
func (r *importRun) addOtherFile(file string, res *fileResult) {
	for _, p := range res.Problems {
		r.warn(file, p)
	}
	r.nonMap += res.NonMappable
	fw := r.others[res.Framework.ExternalID]
	if fw == nil {
		fw = &otherFramework{rec: res.Framework, file: file, controls: map[string]*control{}}
		r.others[res.Framework.ExternalID] = fw
	}
	for _, capab := range res.Capabilities {
		c := fw.controls[capab.ID]
		if c == nil {
			c = &control{file: file, line: capab.Line, mappings: map[[2]string]int{}, rec: &sdk.ComplianceControl{
				FrameworkID: fw.rec.ExternalID, ExternalID: capab.ID, Title: capab.Title, Family: capab.Family}}
			fw.controls[capab.ID] = c
		}
		for _, m := range capab.Mappings {
			r.addMapping(c, m)
		}
	}
}

func (r *importRun) addMapping(c *control, m mappingRow) {
	key := [2]string{m.TechniqueID, m.MappingType}
	if i, dup := c.mappings[key]; dup {
		// Mappings Explorer repeats some objects; the first comment stays
		// unless it was empty.
		r.dups++
		if c.rec.Mappings[i].Comments == "" {
			c.rec.Mappings[i].Comments = m.Comments
		}
		return
	}
	c.mappings[key] = len(c.rec.Mappings)
	c.rec.Mappings = append(c.rec.Mappings, sdk.ControlMapping{TechniqueID: m.TechniqueID, MappingType: m.MappingType, Comments: m.Comments})
}

// resolveSTIX turns the STIX mappings' attack-pattern ids into technique ids
// through attack_source, once every file (and so every control) is read.
func (r *importRun) resolveSTIX(ctx context.Context, cfg config) error {
	if len(r.stix) == 0 {
		return nil
	}
	if len(r.refs) == 0 {
		// Each of thousands of mappings would be "from an unknown control", with
		// no word of the file that is missing: one warning says it.
		r.out.Warn(r.stix[0].file, 0, "", fmt.Sprintf("%d STIX mappings left out: they name their controls by STIX id, and the source holds no STIX controls", len(r.stix)),
			"the controls are in nist800-53-r5-controls.json beside the mappings: import the folder that holds both files")
		return nil
	}
	if cfg.AttackSource == "" {
		r.out.Warn(r.stix[0].file, 0, "", fmt.Sprintf("%d STIX mappings left out: config attack_source is not set", len(r.stix)),
			"the STIX format names ATT&CK techniques by STIX id; attack_source (ATT&CK STIX data) resolves them")
		return nil
	}
	r.out.Progress(0, 0, "reading ATT&CK from "+cfg.AttackSource)
	ids, skipped, err := loadTechniqueIDs(ctx, cfg.AttackSource, r.tr)
	if err != nil {
		return err
	}
	for _, s := range skipped {
		r.out.Warn("", 0, "", "attack_source: skipped unreadable file", s)
	}
	for _, s := range r.stix {
		m := s.row
		cid, ok := r.refs[m.ControlRef]
		if !ok {
			r.warn(s.file, finding{Line: m.Line, ID: m.ObjectID, Summary: "skipped mapping from an unknown control", Detail: "source_ref " + m.ControlRef})
			continue
		}
		tid, ok := ids[m.TargetRef]
		if !ok {
			r.warn(s.file, finding{Line: m.Line, ID: m.ObjectID, Summary: "skipped mapping to an ATT&CK object not in attack_source",
				Detail: "target_ref " + m.TargetRef})
			continue
		}
		m.TechniqueID = tid
		r.addMapping(r.control(cid, s.file, m.Line), m)
	}
	return nil
}

func (r *importRun) emit() error {
	total, mappings := 0, 0
	if r.nist {
		if err := r.out.RecordAt(framework, r.nistFile, 0); err != nil {
			return err
		}
		cs := make([]*control, 0, len(r.controls))
		for _, c := range r.controls {
			cs = append(cs, c)
		}
		sort.Slice(cs, func(i, j int) bool { return cs[i].id.less(cs[j].id) })
		n, err := r.emitControls(cs)
		if err != nil {
			return err
		}
		total, mappings = total+len(cs), mappings+n
	}
	ids := make([]string, 0, len(r.others))
	for id := range r.others {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	var names []string
	for _, id := range ids {
		fw := r.others[id]
		if err := r.out.RecordAt(fw.rec, fw.file, 0); err != nil {
			return err
		}
		cs := make([]*control, 0, len(fw.controls))
		for _, c := range fw.controls {
			cs = append(cs, c)
		}
		sort.Slice(cs, func(i, j int) bool { return cs[i].rec.ExternalID < cs[j].rec.ExternalID })
		n, err := r.emitControls(cs)
		if err != nil {
			return err
		}
		total, mappings = total+len(cs), mappings+n
		names = append(names, fmt.Sprintf("%s %s (%d controls)", fw.rec.Name, fw.rec.Version, len(cs)))
	}
	msg := fmt.Sprintf("%d controls, %d mappings (%d duplicate and %d non-mappable rows left out)", total, mappings, r.dups, r.nonMap)
	if len(names) > 0 {
		msg += "; other frameworks: " + strings.Join(names, ", ")
	}
	r.out.Progress(int64(total), int64(total), msg)
	return nil
}

// emitControls sends one framework's controls, in order, and returns how many
// mappings they hold.
func (r *importRun) emitControls(cs []*control) (int, error) {
	mappings := 0
	for i, c := range cs {
		if c.rec.Title == "" {
			// Mapping rows may leave the title out; the id is the best name left.
			c.rec.Title = c.rec.ExternalID
		}
		sort.Slice(c.rec.Mappings, func(i, j int) bool {
			a, b := c.rec.Mappings[i], c.rec.Mappings[j]
			if a.TechniqueID != b.TechniqueID {
				return a.TechniqueID < b.TechniqueID
			}
			return a.MappingType < b.MappingType
		})
		err := r.out.RecordAt(c.rec, c.file, c.line)
		var ve *sdk.ValidationError
		if errors.As(err, &ve) {
			r.out.Diagnostic(sdk.Diagnostic{Severity: sdk.SeverityWarning, File: c.file, Line: c.line, ExternalID: c.rec.ExternalID,
				Summary: "skipped invalid control", Detail: err.Error(), Attribute: ve.Problems[0].Field})
			continue
		}
		if err != nil {
			return 0, err
		}
		mappings += len(c.rec.Mappings)
		if (i+1)%200 == 0 {
			r.out.Progress(int64(i+1), int64(len(cs)), "controls")
		}
	}
	return mappings, nil
}

// trackedFiles lists, for Tracker.AllUnchanged, the files a full import reads, by
// the paths it reports them by: the source's and, when attack_source is set, its
// ATT&CK files. ok is false when attack_source is a URL (fetched again by every
// run) or cannot be listed: the import then reads everything. The listing decides
// only whether to skip: a file it missed, or one more, is a count the previous
// run's states do not match. closeFn releases the source it opened.
func trackedFiles(ctx context.Context, cfg config, files []source.File) (tracked []source.File, closeFn func(), ok bool) {
	if cfg.AttackSource == "" {
		return files, func() {}, true
	}
	if remote(cfg.AttackSource) {
		return nil, nil, false
	}
	tree, attack, err := attacksource.Open(ctx, cfg.AttackSource, "attack-pattern")
	if err != nil {
		return nil, nil, false
	}
	tracked = append(tracked, files...)
	for _, f := range attack {
		tracked = append(tracked, attacksource.Tracked(f))
	}
	return tracked, func() { tree.Close() }, true
}

// remote tells a URL from a local path.
func remote(src string) bool {
	l := strings.ToLower(src)
	return strings.HasPrefix(l, "http://") || strings.HasPrefix(l, "https://")
}
