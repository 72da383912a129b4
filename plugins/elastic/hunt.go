package main

import (
	"reflect"
	"regexp"
	"strings"

	"github.com/BurntSushi/toml"

	"github.com/aegis-sec/aegis/sdk"
)

// huntTable is the [hunt] table of a detection-rules hunting query
// (hunting/<platform>/queries/*.toml): queries an analyst runs by hand, with
// the ATT&CK techniques they look for. They are imported as hunting rules,
// a rule kind of their own, so they are neither lost nor counted as detections.
type huntTable struct {
	UUID        text    `toml:"uuid"`
	Name        text    `toml:"name"`
	Description text    `toml:"description"`
	Author      strList `toml:"author"`
	Integration strList `toml:"integration"`
	Language    strList `toml:"language"`
	Mitre       strList `toml:"mitre"`
	Query       strList `toml:"query"`
	Notes       strList `toml:"notes"`
	References  strList `toml:"references"`

	License rawValue `toml:"license"`
}

var (
	huntTableRe  = regexp.MustCompile(`(?m)^[ \t]*\[[ \t]*hunt[ \t]*\]`)
	huntUUIDRe   = regexp.MustCompile(`(?m)^[ \t]*uuid[ \t]*=`)
	languageWord = strings.NewReplacer("|", "", " ", "")
)

// parseHunt makes a hunting rule of a [hunt] table. The first query is the
// rule's query; all of them are kept in Metadata["queries"] and the file in Raw.
func parseHunt(src string, h *huntTable, md toml.MetaData) *parsed {
	p := &parsed{candidate: true}
	line := 1
	for _, re := range []*regexp.Regexp{huntUUIDRe, huntTableRe} {
		if loc := re.FindStringIndex(src); loc != nil {
			line = strings.Count(src[:loc[0]], "\n") + 1
			break
		}
	}
	id := strings.TrimSpace(h.UUID.s)
	if uuidRe.MatchString(id) {
		id = strings.ToLower(id)
	}
	name := strings.TrimSpace(h.Name.s)
	switch {
	case id == "":
		p.reject(line, "", "skipped hunting query: no uuid", "name: "+name)
		return p
	case name == "":
		p.reject(line, id, "skipped hunting query: no name", "")
		return p
	}
	queries := dedentAll(h.Query.items)
	var languages []string
	for _, l := range trimAll(h.Language.items) {
		languages = append(languages, strings.ToLower(languageWord.Replace(l)))
	}
	rule := &sdk.DetectionRule{
		ExternalID:  id,
		Title:       name,
		Description: dedent(h.Description.s),
		Format:      sdk.RuleElastic,
		RuleKind:    sdk.RuleKindHunting,
		Author:      strings.Join(trimAll(h.Author.items), ", "),
		References:  trimAll(h.References.items),
		Raw:         src,
	}
	p.rule, p.line = rule, line
	if len(languages) > 0 {
		rule.Language = languages[0]
	}
	if len(queries) > 0 {
		rule.Query = strings.TrimSpace(queries[0])
	} else {
		p.warn(line, "hunting query has no query", "the raw text is kept")
	}
	for _, b := range badFields(reflect.ValueOf(*h), "hunt") {
		key, _, _ := strings.Cut(b, ":")
		p.warn(keyLineFunc(src, key, line), "value of the wrong type left out", b)
	}
	for _, k := range unknownKeys(md) {
		p.warn(keyLineFunc(src, k, line), "unknown key \""+k+"\" ignored",
			"it stays in the hunting query's raw text; a newer detection-rules schema may need a newer plugin")
	}
	for _, t := range trimAll(h.Mitre.items) {
		t = strings.ToUpper(t)
		if techniqueIDRe.MatchString(t) {
			rule.TechniqueIDs = append(rule.TechniqueIDs, t)
		} else {
			p.warn(keyLineFunc(src, "hunt.mitre", line), "mitre entry \""+t+"\" is not an ATT&CK technique id; left out", "")
		}
	}
	rule.TechniqueIDs = sortedSet(rule.TechniqueIDs)
	meta := map[string]any{}
	if len(queries) > 1 {
		meta["queries"] = queries
	}
	if len(languages) > 1 {
		meta["languages"] = languages
	}
	if items := sortedSet(trimAll(h.Integration.items)); len(items) > 0 {
		meta["integration"] = items
	}
	if notes := trimAll(h.Notes.items); len(notes) > 0 {
		meta["notes"] = notes
	}
	passThrough(reflect.ValueOf(*h), meta)
	if len(meta) > 0 {
		rule.Metadata = meta
	}
	return p
}
