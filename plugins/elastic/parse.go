package main

import (
	"errors"
	"fmt"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/BurntSushi/toml"

	"github.com/aegis-sec/aegis/sdk"
)

// ruleFile is one detection-rules TOML file. Every key the detection-rules
// schema defines has a field, so MetaData.Undecoded names only keys this
// plugin does not know; values without a record field of their own are
// rawValue and go to Metadata under their TOML key.
type ruleFile struct {
	Metadata  *metadataTable `toml:"metadata"`
	Rule      *ruleTable     `toml:"rule"`
	Hunt      *huntTable     `toml:"hunt"`
	Transform rawValue       `toml:"transform"`
}

type metadataTable struct {
	CreationDate text    `toml:"creation_date"`
	UpdatedDate  text    `toml:"updated_date"`
	Maturity     text    `toml:"maturity"`
	Integration  strList `toml:"integration"`

	DeprecationDate       rawValue `toml:"deprecation_date"`
	DeprecatedReason      rawValue `toml:"deprecated_reason"`
	MinStackVersion       rawValue `toml:"min_stack_version"`
	MinStackComments      rawValue `toml:"min_stack_comments"`
	Promotion             rawValue `toml:"promotion"`
	BypassBBRTiming       rawValue `toml:"bypass_bbr_timing"`
	QuerySchemaValidation rawValue `toml:"query_schema_validation"`
	Comments              rawValue `toml:"comments"`
}

type ruleTable struct {
	RuleID         text     `toml:"rule_id"`
	Name           text     `toml:"name"`
	Description    text     `toml:"description"`
	Type           text     `toml:"type"`
	Language       text     `toml:"language"`
	Query          text     `toml:"query"`
	Index          strList  `toml:"index"`
	Severity       text     `toml:"severity"`
	RiskScore      number   `toml:"risk_score"`
	Tags           strList  `toml:"tags"`
	Author         strList  `toml:"author"`
	References     strList  `toml:"references"`
	FalsePositives strList  `toml:"false_positives"`
	Threat         []threat `toml:"threat"`

	Note                  rawValue `toml:"note"`
	Setup                 rawValue `toml:"setup"`
	License               rawValue `toml:"license"`
	BuildingBlockType     rawValue `toml:"building_block_type"`
	From                  rawValue `toml:"from"`
	To                    rawValue `toml:"to"`
	Interval              rawValue `toml:"interval"`
	MaxSignals            rawValue `toml:"max_signals"`
	Enabled               rawValue `toml:"enabled"`
	Version               rawValue `toml:"version"`
	TimestampOverride     rawValue `toml:"timestamp_override"`
	EventCategoryOverride rawValue `toml:"event_category_override"`
	TiebreakerField       rawValue `toml:"tiebreaker_field"`
	TimestampField        rawValue `toml:"timestamp_field"`
	MachineLearningJobID  rawValue `toml:"machine_learning_job_id"`
	AnomalyThreshold      rawValue `toml:"anomaly_threshold"`
	NewTerms              rawValue `toml:"new_terms"`
	Threshold             rawValue `toml:"threshold"`
	ThreatFilters         rawValue `toml:"threat_filters"`
	ThreatIndex           rawValue `toml:"threat_index"`
	ThreatIndicatorPath   rawValue `toml:"threat_indicator_path"`
	ThreatLanguage        rawValue `toml:"threat_language"`
	ThreatMapping         rawValue `toml:"threat_mapping"`
	ThreatQuery           rawValue `toml:"threat_query"`
	ConcurrentSearches    rawValue `toml:"concurrent_searches"`
	ItemsPerSearch        rawValue `toml:"items_per_search"`
	AlertSuppression      rawValue `toml:"alert_suppression"`
	InvestigationFields   rawValue `toml:"investigation_fields"`
	Filters               rawValue `toml:"filters"`
	ExceptionsList        rawValue `toml:"exceptions_list"`
	RiskScoreMapping      rawValue `toml:"risk_score_mapping"`
	SeverityMapping       rawValue `toml:"severity_mapping"`
	RuleNameOverride      rawValue `toml:"rule_name_override"`
	TimelineID            rawValue `toml:"timeline_id"`
	TimelineTitle         rawValue `toml:"timeline_title"`
	Meta                  rawValue `toml:"meta"`
	Throttle              rawValue `toml:"throttle"`
	Actions               rawValue `toml:"actions"`
	ResponseActions       rawValue `toml:"response_actions"`
	OutputIndex           rawValue `toml:"output_index"`
	Namespace             rawValue `toml:"namespace"`
	DataViewID            rawValue `toml:"data_view_id"`
	RelatedIntegrations   rawValue `toml:"related_integrations"`
	RequiredFields        rawValue `toml:"required_fields"`
}

type threat struct {
	Framework text        `toml:"framework"`
	Tactic    attackRef   `toml:"tactic"`
	Technique []technique `toml:"technique"`
}

type attackRef struct {
	ID        text `toml:"id"`
	Name      text `toml:"name"`
	Reference text `toml:"reference"`
}

type technique struct {
	ID           text        `toml:"id"`
	Name         text        `toml:"name"`
	Reference    text        `toml:"reference"`
	Subtechnique []attackRef `toml:"subtechnique"`
}

// problem is something wrong in a file; rejected ones cost the rule.
type problem struct {
	line     int
	id       string
	summary  string
	detail   string
	rejected bool
}

// parsed is what one file held: no rule (not a rule file, or rejected) or
// one rule, and the problems found.
type parsed struct {
	rule     *sdk.DetectionRule
	line     int
	problems []problem
	// candidate is set when the file was meant as a rule (it has a [rule]
	// table, or could not be read as TOML at all).
	candidate bool
}

func (p *parsed) warn(line int, summary, detail string) {
	p.problems = append(p.problems, problem{line: line, id: p.id(), summary: summary, detail: detail})
}

func (p *parsed) reject(line int, id, summary, detail string) {
	p.rule = nil
	p.problems = append(p.problems, problem{line: line, id: id, summary: summary, detail: detail, rejected: true})
}

func (p *parsed) id() string {
	if p.rule == nil {
		return ""
	}
	return p.rule.ExternalID
}

var (
	techniqueIDRe = regexp.MustCompile(`^T\d{4}(\.\d{3})?$`)
	uuidRe        = regexp.MustCompile(`^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$`)
	ruleIDLineRe  = regexp.MustCompile(`(?m)^[ \t]*rule_id[ \t]*=[ \t]*["']([^"'\n]*)`)
	ruleTableRe   = regexp.MustCompile(`(?m)^[ \t]*\[[ \t]*rule[ \t]*\]`)
	errLineRe     = regexp.MustCompile(`line (\d+)`)
)

// enterpriseTactics maps ATT&CK Enterprise tactic ids to shortnames, for
// threat entries that give an id but no name.
var enterpriseTactics = map[string]string{
	"TA0043": "reconnaissance", "TA0042": "resource-development", "TA0001": "initial-access",
	"TA0002": "execution", "TA0003": "persistence", "TA0004": "privilege-escalation",
	"TA0005": "defense-evasion", "TA0006": "credential-access", "TA0007": "discovery",
	"TA0008": "lateral-movement", "TA0009": "collection", "TA0011": "command-and-control",
	"TA0010": "exfiltration", "TA0040": "impact",
}

var levels = []string{"informational", "low", "medium", "high", "critical"}

// parseRule reads one TOML file. It never fails: what it cannot use becomes
// a problem, and a file without a [rule] table is simply not a rule.
func parseRule(data []byte) *parsed {
	p := &parsed{}
	src := strings.TrimPrefix(string(data), "\ufeff")
	line := ruleLine(src)
	var f ruleFile
	md, err := toml.Decode(src, &f)
	if err != nil {
		id := ""
		if m := ruleIDLineRe.FindStringSubmatch(src); m != nil {
			id = strings.TrimSpace(m[1])
		}
		errLine, msg := tomlError(err)
		var pe toml.ParseError
		if errors.As(err, &pe) {
			// A syntax error hides whether the file is a rule; it is reported
			// all the same, since it sits among the rules.
			p.candidate = true
			p.reject(errLine, id, "skipped file: invalid TOML", msg)
			return p
		}
		// Valid TOML whose tables have another shape than a rule's, e.g.
		// [rule.threat] where [[rule.threat]] belongs.
		p.candidate = ruleTableRe.MatchString(src)
		if p.candidate {
			p.reject(errLine, id, "skipped rule: unexpected structure", msg)
		}
		return p
	}
	if f.Rule == nil {
		if f.Hunt != nil {
			return parseHunt(src, f.Hunt, md)
		}
		return p // package manifests, tool configs
	}
	p.candidate = true
	r := f.Rule
	id := strings.TrimSpace(r.RuleID.s)
	if uuidRe.MatchString(id) {
		id = strings.ToLower(id)
	}
	name := strings.TrimSpace(r.Name.s)
	switch {
	case id == "":
		p.reject(line, "", "skipped rule: no rule_id", "name: "+name)
		return p
	case name == "":
		p.reject(line, id, "skipped rule: no name", "")
		return p
	}
	meta := f.Metadata
	if meta == nil {
		meta = &metadataTable{}
	}
	rule := &sdk.DetectionRule{
		ExternalID:     id,
		Title:          name,
		Description:    dedent(r.Description.s),
		Format:         sdk.RuleElastic,
		RuleType:       strings.ToLower(strings.TrimSpace(r.Type.s)),
		Status:         strings.ToLower(strings.TrimSpace(meta.Maturity.s)),
		Language:       strings.ToLower(strings.TrimSpace(r.Language.s)),
		Query:          strings.TrimSpace(r.Query.s),
		IndexPatterns:  sortedSet(trimAll(r.Index.items)),
		Tags:           sortedSet(trimAll(r.Tags.items)),
		Author:         strings.Join(trimAll(r.Author.items), ", "),
		References:     trimAll(r.References.items),
		FalsePositives: dedentAll(r.FalsePositives.items),
		Raw:            src,
	}
	p.rule = rule
	p.line = line
	rule.Deprecated = rule.Status == "deprecated"

	for _, b := range badFields(reflect.ValueOf(f), "") {
		key, _, _ := strings.Cut(b, ":")
		p.warn(keyLineFunc(src, key, line), "value of the wrong type left out", b)
	}
	for _, k := range unknownKeys(md) {
		p.warn(keyLineFunc(src, k, line), fmt.Sprintf("unknown key %q ignored", k),
			"it stays in the rule's raw text; a newer detection-rules schema may need a newer plugin")
	}
	if rule.RuleType == "" {
		p.warn(line, "rule has no type", "")
	} else if rule.Query == "" && rule.RuleType != "machine_learning" {
		p.warn(line, fmt.Sprintf("%s rule has no query", rule.RuleType), "the raw text is kept")
	}

	if sev := strings.ToLower(strings.TrimSpace(r.Severity.s)); sev != "" {
		if sev == "info" {
			sev = "informational"
		}
		if slices.Contains(levels, sev) {
			rule.Level = sev
		} else {
			rule.Severity = strings.TrimSpace(r.Severity.s)
			p.warn(keyLineFunc(src, "rule.severity", line), fmt.Sprintf("severity %q is not a level; kept as the source's severity only", rule.Severity), "levels: "+strings.Join(levels, ", "))
		}
	}
	if r.RiskScore.set {
		if r.RiskScore.n < 0 || r.RiskScore.n > 100 {
			p.warn(keyLineFunc(src, "rule.risk_score", line), fmt.Sprintf("risk_score %d is outside 0..100; left out", r.RiskScore.n), "")
		} else {
			rule.RiskScore = r.RiskScore.n
		}
	}
	rule.Date = p.date(keyLineFunc(src, "metadata.creation_date", line), "creation_date", meta.CreationDate.s)
	rule.Modified = p.date(keyLineFunc(src, "metadata.updated_date", line), "updated_date", meta.UpdatedDate.s)

	md2 := map[string]any{}
	p.threats(src, line, r.Threat, rule, md2)
	if items := sortedSet(trimAll(meta.Integration.items)); len(items) > 0 {
		md2["integration"] = items
	}
	passThrough(reflect.ValueOf(meta), md2)
	passThrough(reflect.ValueOf(r), md2)
	if f.Transform.set {
		md2["transform"] = f.Transform.v
	}
	if len(md2) > 0 {
		rule.Metadata = md2
	}
	return p
}

// threats reads every [[rule.threat]] entry: tactic, techniques and
// sub-techniques into the record's lists, and the entries as written into
// Metadata["threat"]. Entries of other frameworks (MITRE ATLAS) are kept in
// Metadata only, since their ids are not ATT&CK ids.
func (p *parsed) threats(src string, line int, entries []threat, rule *sdk.DetectionRule, meta map[string]any) {
	var techniques, tactics []string
	var kept []any
	for i, th := range entries {
		ref := func(a attackRef) map[string]any {
			return omitEmpty(map[string]any{"id": strings.TrimSpace(a.ID.s), "name": strings.TrimSpace(a.Name.s), "reference": strings.TrimSpace(a.Reference.s)})
		}
		entry := omitEmpty(map[string]any{"framework": strings.TrimSpace(th.Framework.s)})
		if tac := ref(th.Tactic); len(tac) > 0 {
			entry["tactic"] = tac
		}
		attack := th.Framework.s == "" || strings.Contains(strings.ToUpper(th.Framework.s), "ATT&CK")
		if attack {
			if short := tacticShortname(th.Tactic); short != "" {
				tactics = append(tactics, short)
			} else {
				p.warn(line, fmt.Sprintf("threat entry %d has no tactic", i+1), "")
			}
		}
		var techs []any
		for _, te := range th.Technique {
			t := ref(attackRef{ID: te.ID, Name: te.Name, Reference: te.Reference})
			ids := []string{te.ID.s}
			var subs []any
			for _, s := range te.Subtechnique {
				subs = append(subs, ref(s))
				ids = append(ids, s.ID.s)
			}
			if len(subs) > 0 {
				t["subtechniques"] = subs
			}
			techs = append(techs, t)
			if !attack {
				continue
			}
			for _, tid := range ids {
				tid = strings.ToUpper(strings.TrimSpace(tid))
				if techniqueIDRe.MatchString(tid) {
					techniques = append(techniques, tid)
				} else {
					p.warn(valueLine(src, tid, line), fmt.Sprintf("technique id %q is not an ATT&CK technique id; left out", tid), "")
				}
			}
		}
		if len(techs) > 0 {
			entry["techniques"] = techs
		}
		kept = append(kept, entry)
	}
	rule.TechniqueIDs = sortedSet(techniques)
	rule.Tactics = sortedSet(tactics)
	if len(kept) > 0 {
		meta["threat"] = kept
	}
}

// tacticShortname turns "Command and Control" into "command-and-control",
// the shortname ATT&CK uses; an entry with only an id is looked up.
func tacticShortname(a attackRef) string {
	if name := strings.ToLower(strings.TrimSpace(a.Name.s)); name != "" {
		name = strings.ReplaceAll(name, "&", "and")
		return strings.Join(strings.FieldsFunc(name, func(r rune) bool { return r == ' ' || r == '_' || r == '-' }), "-")
	}
	return enterpriseTactics[strings.ToUpper(strings.TrimSpace(a.ID.s))]
}

var dateLayouts = []string{"2006/01/02", "2006-01-02", "2006/1/2", "2006-1-2", time.RFC3339}

func (p *parsed) date(line int, key, s string) time.Time {
	if s = strings.TrimSpace(s); s == "" {
		return time.Time{}
	}
	for _, layout := range dateLayouts {
		if t, err := time.Parse(layout, s); err == nil {
			return t.UTC()
		}
	}
	p.warn(line, fmt.Sprintf("metadata.%s %q is not a date; left out", key, s), "expected YYYY/MM/DD")
	return time.Time{}
}

// unknownKeys returns the keys no field decoded, leaving out keys under an
// unknown table (the table is named once) and keys under values kept whole.
func unknownKeys(md toml.MetaData) []string {
	kept := rawPaths(reflect.TypeFor[ruleFile](), "")
	kept = append(kept, rawPaths(reflect.TypeFor[metadataTable](), "metadata")...)
	kept = append(kept, rawPaths(reflect.TypeFor[ruleTable](), "rule")...)
	kept = append(kept, rawPaths(reflect.TypeFor[huntTable](), "hunt")...)
	under := func(k string, prefixes []string) bool {
		for _, p := range prefixes {
			if strings.HasPrefix(k, p+".") {
				return true
			}
		}
		return false
	}
	var keys []string
	for _, k := range md.Undecoded() {
		keys = append(keys, k.String())
	}
	var out []string
	for _, k := range keys {
		if !under(k, kept) && !under(k, keys) {
			out = append(out, k)
		}
	}
	return sortedSet(out)
}

// ruleLine is the line a rule is reported at: its rule_id, else its [rule]
// table, else the top of the file.
func ruleLine(src string) int {
	for _, re := range []*regexp.Regexp{ruleIDLineRe, ruleTableRe} {
		if loc := re.FindStringIndex(src); loc != nil {
			return strings.Count(src[:loc[0]], "\n") + 1
		}
	}
	return 1
}

// keyLine finds the line of a dotted key ("rule.threat[0].tactic.id"): the
// first assignment of its last part, or a table header ending in it. Keys
// repeat across tables, so this is a good guess rather than a certainty;
// def is used when nothing matches.
func keyLine(src, dotted string, def int) int {
	parts := strings.Split(dotted, ".")
	last := parts[len(parts)-1]
	if i := strings.IndexByte(last, '['); i >= 0 {
		last = last[:i]
	}
	for _, re := range keyLineRes(last) {
		if loc := re.FindStringIndex(src); loc != nil {
			return strings.Count(src[:loc[0]], "\n") + 1
		}
	}
	return def
}

// keyLineFunc is keyLine; benchmarks swap it for the version before issue 11.
var keyLineFunc = keyLine

// keyLineCache holds keyLine's two expressions per key name, compiled once: the same
// few keys are looked up in every file, and compiling them per call was a good part of
// a rule's parse.
var keyLineCache sync.Map // key name → [2]*regexp.Regexp

func keyLineRes(key string) [2]*regexp.Regexp {
	if v, ok := keyLineCache.Load(key); ok {
		return v.([2]*regexp.Regexp)
	}
	q := regexp.QuoteMeta(key)
	res := [2]*regexp.Regexp{
		regexp.MustCompile(`(?m)^[ \t]*["']?` + q + `["']?[ \t]*=`),
		regexp.MustCompile(`(?m)^[ \t]*\[\[?[^\]\n]*\b` + q + `["']?[ \t]*\]`),
	}
	keyLineCache.Store(key, res)
	return res
}

// valueLine finds the first line holding a quoted value.
func valueLine(src, value string, def int) int {
	if value == "" {
		return def
	}
	for _, q := range []string{`"`, `'`} {
		if i := strings.Index(src, q+value+q); i >= 0 {
			return strings.Count(src[:i], "\n") + 1
		}
	}
	return def
}

// tomlError finds the line of a decode error: syntax errors carry it,
// type errors name it in their text.
func tomlError(err error) (int, string) {
	var pe toml.ParseError
	if errors.As(err, &pe) {
		return pe.Position.Line, pe.Message
	}
	msg := strings.TrimPrefix(err.Error(), "toml: ")
	if m := errLineRe.FindStringSubmatch(msg); m != nil {
		if n, convErr := strconv.Atoi(m[1]); convErr == nil {
			return n, msg
		}
	}
	return 0, msg
}

// dedent removes the indentation that multi-line TOML strings inside an
// array carry from the file's layout, then surrounding blank space, as
// Python's textwrap.dedent does for Elastic's own tooling.
func dedent(s string) string {
	lines := strings.Split(s, "\n")
	prefix := ""
	first := true
	for _, ln := range lines {
		if strings.TrimSpace(ln) == "" {
			continue
		}
		ws := ln[:len(ln)-len(strings.TrimLeft(ln, " \t"))]
		if first {
			prefix, first = ws, false
			continue
		}
		for !strings.HasPrefix(ws, prefix) {
			prefix = prefix[:len(prefix)-1]
		}
	}
	if prefix != "" {
		for i, ln := range lines {
			lines[i] = strings.TrimPrefix(ln, prefix)
		}
	}
	return strings.TrimSpace(strings.Join(lines, "\n"))
}

func dedentAll(in []string) []string {
	var out []string
	for _, s := range in {
		if s = dedent(s); s != "" {
			out = append(out, s)
		}
	}
	return out
}

func trimAll(in []string) []string {
	var out []string
	for _, s := range in {
		if s = strings.TrimSpace(s); s != "" {
			out = append(out, s)
		}
	}
	return out
}

// sortedSet sorts and removes duplicates where the source's order carries no
// meaning, so a re-import gives byte-identical records.
func sortedSet(s []string) []string {
	if len(s) == 0 {
		return nil
	}
	slices.Sort(s)
	return slices.Compact(s)
}

func omitEmpty(m map[string]any) map[string]any {
	for k, v := range m {
		if v == "" {
			delete(m, k)
		}
	}
	return m
}
