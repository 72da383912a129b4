package main

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"
	"gopkg.in/yaml.v3"

	"github.com/aegis-sec/aegis/plugins/internal/yamlnode"
	"github.com/aegis-sec/aegis/sdk"
)

// Sigma rule types, in DetectionRule.RuleType. A plain detection rule has
// none, as in the Sigma specification.
const (
	typeCorrelation = "correlation"
	typeFilter      = "filter"
)

// problem is something wrong in a file. Problems that cost a rule are
// counted as rejected; the others leave the rule in with a field dropped.
type problem struct {
	line     int
	id       string
	summary  string
	detail   string
	rejected bool
}

// parsedRule is a rule ready to emit.
type parsedRule struct {
	rule *sdk.DetectionRule
	line int
}

// fileResult is what one file held.
type fileResult struct {
	rules    []parsedRule
	problems []problem
	// candidates counts documents meant as Sigma rules, kept or rejected;
	// documents of other YAML files (CI workflows, regression test info)
	// are not counted and not reported.
	candidates int
}

func (r *fileResult) warn(line int, id, summary, detail string) {
	r.problems = append(r.problems, problem{line: line, id: id, summary: summary, detail: detail})
}

func (r *fileResult) reject(line int, id, summary, detail string) {
	r.problems = append(r.problems, problem{line: line, id: id, summary: summary, detail: detail, rejected: true})
}

// parseFile reads every document of one YAML file. It never fails: what it
// cannot use becomes a problem, and the rest of the file is still read.
func parseFile(data []byte) *fileResult {
	res := &fileResult{}
	text := strings.TrimPrefix(string(data), "\ufeff")
	chunks := splitDocuments(text)
	var global, prev *yaml.Node
	seen := map[string]bool{} // ids already given to rules of this file
	for i, ch := range chunks {
		var doc yaml.Node
		err := yamlnode.CheckUTF8([]byte(ch.text)) // names the line of a Latin-1 byte
		if err == nil {
			err = yaml.Unmarshal([]byte(ch.text), &doc)
		}
		if err != nil {
			line, msg := yamlError(err, ch)
			res.candidates++
			res.reject(line, idHint(ch.text), "skipped document: invalid YAML", msg)
			continue
		}
		root := resolve(&doc)
		if root == nil || root.Kind != yaml.MappingNode {
			continue // Sigma documents are mappings; this file holds something else
		}
		shiftLines(&doc, ch.line-1)
		line := root.Line
		fields, _ := mapping(root)
		action := ""
		if f, ok := fields["action"]; ok {
			action, _ = scalar(f.value)
			action = strings.ToLower(strings.TrimSpace(action))
			root = without(root, "action")
		}
		merged := root
		switch action {
		case "global":
			global = mergeMaps(global, root)
			continue
		case "reset":
			global = nil
			continue
		case "repeat":
			if prev == nil {
				res.candidates++
				res.reject(line, "", "skipped document: \"action: repeat\" with no rule before it", "")
				continue
			}
			merged = mergeMaps(prev, root)
		case "":
			merged = mergeMaps(global, root)
		default:
			res.warn(line, "", fmt.Sprintf("unknown action %q ignored", action), "known actions: global, reset, repeat")
			merged = mergeMaps(global, root)
		}
		isMerged := merged != root
		prev = merged
		rule, ok := buildRule(res, merged, line)
		if !ok {
			continue
		}
		if isMerged {
			// The document was merged with a global or previous one: its own
			// text is not the rule, so Raw is the merged rule as one document.
			if b, err := yaml.Marshal(merged); err == nil {
				rule.Raw = string(b)
			} else {
				rule.Raw = ch.raw()
			}
			// Older collections put the id in the global document, so every
			// rule of the file shares it. Later ones get an id derived from it
			// and their position, stable across re-imports.
			if _, own := fields["id"]; !own && seen[rule.ExternalID] {
				collection := rule.ExternalID
				rule.ExternalID = uuid.NewSHA1(uuid.MustParse(collection), []byte(strconv.Itoa(i+1))).String()
				if rule.Metadata == nil {
					rule.Metadata = map[string]any{}
				}
				rule.Metadata["collection_id"] = collection
				rule.Metadata["document"] = i + 1
				rule.Related = append(rule.Related, sdk.RelatedRule{ID: collection, Type: "derived"})
			}
		} else if len(chunks) == 1 {
			rule.Raw = text
		} else {
			rule.Raw = ch.raw()
		}
		seen[rule.ExternalID] = true
		res.rules = append(res.rules, parsedRule{rule: rule, line: line})
	}
	return res
}

// shiftLines makes a chunk's node lines file lines, so that nodes merged from
// several documents still say where they were written. Content edges form a
// tree (aliases point back through Alias, which is not followed).
func shiftLines(n *yaml.Node, delta int) {
	n.Line += delta
	for _, c := range n.Content {
		shiftLines(c, delta)
	}
}

var uuidRe = regexp.MustCompile(`^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$`)

// known are the top-level keys with a field of their own; every other key
// goes into Metadata.
var known = map[string]bool{
	"title": true, "id": true, "status": true, "level": true, "description": true, "references": true,
	"author": true, "date": true, "modified": true, "logsource": true, "detection": true,
	"falsepositives": true, "related": true, "tags": true, "correlation": true, "filter": true,
}

// buildRule turns one (merged) document into a rule. ok is false when the
// document is not a Sigma rule at all or is rejected; rejections are
// recorded in res.
func buildRule(res *fileResult, doc *yaml.Node, line int) (*sdk.DetectionRule, bool) {
	fields, dups := mapping(doc)
	has := func(k string) bool { _, ok := fields[k]; return ok }

	// Decide by content what the document is.
	ruleType := ""
	switch {
	case has("correlation") && (has("title") || has("id")):
		ruleType = typeCorrelation
	case has("filter") && (has("title") || has("logsource")):
		ruleType = typeFilter
	case has("detection") || has("logsource"):
	default:
		return nil, false
	}
	res.candidates++

	rawID, _ := scalar(fieldValue(fields, "id"))
	id := strings.ToLower(strings.TrimSpace(rawID))
	title, _ := scalar(fieldValue(fields, "title"))
	title = strings.TrimSpace(title)
	switch {
	case id == "":
		res.reject(line, "", "skipped rule: no id", "title: "+title)
		return nil, false
	case !uuidRe.MatchString(id):
		res.reject(line, rawID, "skipped rule: id is not a UUID", fmt.Sprintf("id %q", rawID))
		return nil, false
	case title == "":
		res.reject(line, id, "skipped rule: no title", "")
		return nil, false
	}
	for _, k := range dups {
		res.warn(fields[k].key.Line, id, fmt.Sprintf("key %q appears twice; the last one is used", k), "")
	}

	r := &sdk.DetectionRule{ExternalID: id, Title: title, Format: sdk.RuleSigma, RuleType: ruleType}

	// The block that says what the rule matches.
	blockKey := map[string]string{"": "detection", typeCorrelation: "correlation", typeFilter: "filter"}[ruleType]
	block := resolve(fieldValue(fields, blockKey))
	if block == nil || block.Kind != yaml.MappingNode {
		res.reject(line, id, fmt.Sprintf("skipped rule: %s is missing or not a mapping", blockKey), "")
		return nil, false
	}
	det, err := decodeValue(block)
	if err != nil {
		res.reject(line, id, fmt.Sprintf("skipped rule: invalid %s", blockKey), strings.TrimPrefix(err.Error(), "yaml: "))
		return nil, false
	}
	r.Detection = det
	if ruleType == "" {
		if m, _ := mapping(block); m["condition"].value == nil {
			res.warn(fields["detection"].key.Line, id, "detection has no condition", "kept; Sigma requires one to evaluate the rule")
		}
	}

	if ls := resolve(fieldValue(fields, "logsource")); ls != nil {
		if ls.Kind != yaml.MappingNode {
			res.reject(line, id, "skipped rule: logsource is not a mapping", "")
			return nil, false
		}
		m, _ := mapping(ls)
		for k, f := range m {
			if v, ok := scalar(f.value); ok && strings.TrimSpace(v) != "" {
				if r.LogSource == nil {
					r.LogSource = map[string]string{}
				}
				r.LogSource[k] = strings.TrimSpace(v)
			}
		}
	} else if ruleType == "" {
		res.reject(line, id, "skipped rule: no logsource", "")
		return nil, false
	}

	r.Description = strings.TrimSpace(text(fields, "description"))
	r.Status = strings.ToLower(strings.TrimSpace(text(fields, "status")))
	// SigmaHQ keeps rules that no backend can convert under status
	// unsupported: they are kept (the catalog says what exists) but must not
	// count or run as active rules, so they are stored deprecated.
	r.Deprecated = r.Status == "deprecated" || r.Status == "unsupported"
	if lv := strings.ToLower(strings.TrimSpace(text(fields, "level"))); lv != "" {
		if lv == "info" {
			lv = "informational"
		}
		switch lv {
		case "informational", "low", "medium", "high", "critical":
			r.Level = lv
		default:
			res.warn(fields["level"].key.Line, id, fmt.Sprintf("unknown level %q left out", lv), "Sigma levels: informational, low, medium, high, critical")
		}
	}
	if authors, ok := list(res, fields, "author", line, id); ok {
		r.Author = strings.Join(authors, ", ")
	}
	r.Date = date(res, fields, "date", line, id)
	r.Modified = date(res, fields, "modified", line, id)
	r.References, _ = list(res, fields, "references", line, id)
	r.FalsePositives, _ = list(res, fields, "falsepositives", line, id)
	r.Related = related(res, fields, line, id)

	tags, _ := list(res, fields, "tags", line, id)
	ti := classifyTags(tags)
	r.Tags, r.TechniqueIDs, r.Tactics = ti.tags, ti.techniques, ti.tactics
	for _, bad := range ti.badTags {
		res.warn(fields["tags"].key.Line, id, fmt.Sprintf("tag %q is not a valid ATT&CK technique id; kept as a tag only", bad), "")
	}
	meta := map[string]any{}
	for k, v := range map[string][]string{"groups": ti.groups, "software": ti.software, "data_sources": ti.dataSources,
		"mitigations": ti.mitigations, "tactic_ids": ti.tacticIDs} {
		if len(v) > 0 {
			meta[k] = v
		}
	}
	for k, f := range fields {
		if known[k] {
			continue
		}
		v, err := decodeValue(f.value)
		if err != nil {
			res.warn(f.key.Line, id, fmt.Sprintf("field %q left out", k), strings.TrimPrefix(err.Error(), "yaml: "))
			continue
		}
		meta[k] = v
	}
	if len(meta) > 0 {
		r.Metadata = meta
	}
	return r, true
}

func fieldValue(fields map[string]field, key string) *yaml.Node {
	return fields[key].value
}

// text is a scalar field's text; a list is joined, anything else is empty.
func text(fields map[string]field, key string) string {
	n := fieldValue(fields, key)
	if s, ok := scalar(n); ok {
		return s
	}
	if l, _ := stringList(n); len(l) > 0 {
		return strings.Join(l, "\n")
	}
	return ""
}

// list reads a field that may be one string or a list of strings.
func list(res *fileResult, fields map[string]field, key string, line int, id string) ([]string, bool) {
	n := fieldValue(fields, key)
	if n == nil {
		return nil, false
	}
	l, ok := stringList(n)
	if !ok {
		res.warn(fields[key].key.Line, id, fmt.Sprintf("%s: items that are not text were left out", key), "")
	}
	return l, len(l) > 0
}

var dateLayouts = []string{"2006-01-02", "2006/01/02", "2006-1-2", "2006/1/2", "2006.01.02", time.RFC3339, "2006-01-02T15:04:05", "2006-01-02 15:04:05"}

// date reads Sigma's dates, written "2021/05/12" by older rules and
// "2021-05-12" by newer ones.
func date(res *fileResult, fields map[string]field, key string, line int, id string) time.Time {
	s, ok := scalar(fieldValue(fields, key))
	if s = strings.TrimSpace(s); !ok || s == "" {
		return time.Time{}
	}
	for _, layout := range dateLayouts {
		if t, err := time.Parse(layout, s); err == nil {
			return t.UTC()
		}
	}
	res.warn(fields[key].key.Line, id, fmt.Sprintf("%s %q is not a date; left out", key, s), "expected YYYY-MM-DD or YYYY/MM/DD")
	return time.Time{}
}

// related reads "related: [{id, type}]"; a single mapping is accepted too.
func related(res *fileResult, fields map[string]field, line int, id string) []sdk.RelatedRule {
	n := resolve(fieldValue(fields, "related"))
	if n == nil {
		return nil
	}
	items := []*yaml.Node{n}
	if n.Kind == yaml.SequenceNode {
		items = n.Content
	}
	var out []sdk.RelatedRule
	for _, it := range items {
		it = resolve(it)
		if it == nil || it.Kind != yaml.MappingNode {
			res.warn(fields["related"].key.Line, id, "related: an entry that is not a mapping was left out", "")
			continue
		}
		m, _ := mapping(it)
		rid, _ := scalar(fieldValue(m, "id"))
		rid = strings.TrimSpace(rid)
		if rid == "" {
			res.warn(it.Line, id, "related: an entry without an id was left out", "")
			continue
		}
		if uuidRe.MatchString(rid) {
			rid = strings.ToLower(rid)
		}
		typ, _ := scalar(fieldValue(m, "type"))
		out = append(out, sdk.RelatedRule{ID: rid, Type: strings.ToLower(strings.TrimSpace(typ))})
	}
	return out
}
