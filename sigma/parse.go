package sigma

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math"
	"net/netip"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

// ParseRule parses data that holds exactly one rule document.
func ParseRule(file string, data []byte) (*Rule, error) {
	rules, err := ParseFile(file, data)
	if es, ok := err.(Errors); ok && len(es) == 1 {
		return nil, es[0]
	}
	if err != nil {
		return nil, err
	}
	switch len(rules) {
	case 0:
		return nil, &Error{File: file, Msg: "no rule in the document"}
	case 1:
		return rules[0], nil
	}
	return nil, &Error{File: file, Line: rules[1].Line, Msg: fmt.Sprintf("%d rule documents where one was expected", len(rules))}
}

// ParseFile parses every document of a YAML file. Legacy rule collections are merged
// as Sigma 1 described them: "action: global" documents are merged into every later
// document, "action: reset" forgets them, "action: repeat" repeats the previous rule
// with its own keys replaced. A document that fails does not stop the others: the
// rules that parsed are returned with an Errors value naming each failure.
func ParseFile(file string, data []byte) (rules []*Rule, err error) {
	// yaml.v3 has panicked on malformed input before; a hostile file must be an error.
	defer func() {
		if r := recover(); r != nil {
			rules, err = nil, &Error{File: file, Msg: fmt.Sprintf("YAML parser failed: %v", r)}
		}
	}()
	dec := yaml.NewDecoder(bytes.NewReader(bytes.TrimPrefix(data, []byte("\ufeff"))))
	var errs Errors
	var global, prev *yaml.Node
	for {
		var doc yaml.Node
		if e := dec.Decode(&doc); e != nil {
			if errors.Is(e, io.EOF) {
				break
			}
			errs = append(errs, yamlError(file, e))
			break
		}
		root := deref(&doc)
		if root == nil || isNull(root) {
			continue
		}
		if root.Kind != yaml.MappingNode {
			errs = append(errs, &Error{File: file, Line: root.Line, Column: root.Column, Msg: "a rule document must be a mapping"})
			continue
		}
		action := ""
		if a := get(root, "action"); a != nil {
			action = strings.ToLower(strings.TrimSpace(scalarText(a)))
			root = without(root, "action")
		}
		switch action {
		case "global":
			global = merge(global, root)
			continue
		case "reset":
			global = nil
			continue
		case "repeat":
			if prev == nil {
				errs = append(errs, &Error{File: file, Line: root.Line, Field: "action", Msg: "\"repeat\" with no rule before it"})
				continue
			}
			root = merge(prev, root)
		case "":
			root = merge(global, root)
		default:
			errs = append(errs, &Error{File: file, Line: root.Line, Field: "action", Msg: fmt.Sprintf("unknown action %q (global, reset, repeat)", action)})
			continue
		}
		prev = root
		p := &parser{file: file}
		r, e := p.rule(root)
		if e != nil {
			errs = append(errs, e.(*Error))
			continue
		}
		rules = append(rules, r)
	}
	if len(errs) > 0 {
		return rules, errs
	}
	return rules, nil
}

var yamlLineRe = regexp.MustCompile(`line (\d+)`)

func yamlError(file string, err error) *Error {
	msg := strings.TrimPrefix(err.Error(), "yaml: ")
	e := &Error{File: file, Msg: "invalid YAML: " + msg}
	if m := yamlLineRe.FindStringSubmatch(msg); m != nil {
		e.Line, _ = strconv.Atoi(m[1])
	}
	return e
}

type parser struct {
	file string
}

func (p *parser) errf(n *yaml.Node, field, format string, args ...any) *Error {
	e := &Error{File: p.file, Field: field, Msg: fmt.Sprintf(format, args...)}
	if n != nil {
		e.Line, e.Column = n.Line, n.Column
	}
	return e
}

var uuidRe = regexp.MustCompile(`^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$`)

func (p *parser) rule(root *yaml.Node) (*Rule, error) {
	fields, err := p.pairs(root, "")
	if err != nil {
		return nil, err
	}
	r := &Rule{File: p.file, Line: root.Line}
	str := func(key string) (string, error) {
		f, ok := fields[key]
		if !ok || isNull(f.v) {
			return "", nil
		}
		if f.v.Kind != yaml.ScalarNode {
			return "", p.errf(f.v, key, "must be text")
		}
		return strings.TrimSpace(f.v.Value), nil
	}
	for _, s := range []struct {
		key string
		dst *string
	}{{"id", &r.ID}, {"name", &r.Name}, {"title", &r.Title}, {"status", &r.Status}, {"level", &r.Level},
		{"description", &r.Description}, {"date", &r.Date}, {"modified", &r.Modified}} {
		v, err := str(s.key)
		if err != nil {
			return nil, err
		}
		*s.dst = v
	}
	if uuidRe.MatchString(r.ID) {
		r.ID = strings.ToLower(r.ID)
	}
	for _, s := range []struct {
		key string
		dst *[]string
	}{{"references", &r.References}, {"tags", &r.Tags}, {"fields", &r.Fields}, {"falsepositives", &r.FalsePositives}} {
		if f, ok := fields[s.key]; ok {
			l, err := p.stringList(f.v, s.key)
			if err != nil {
				return nil, err
			}
			*s.dst = l
		}
	}
	if f, ok := fields["author"]; ok {
		l, err := p.stringList(f.v, "author")
		if err != nil {
			return nil, err
		}
		r.Author = strings.Join(l, ", ")
	}
	if f, ok := fields["related"]; ok {
		if r.Related, err = p.related(f.v); err != nil {
			return nil, err
		}
	}
	if f, ok := fields["logsource"]; ok {
		if r.LogSource, err = p.logSource(f.v); err != nil {
			return nil, err
		}
	}
	_, hasCorr := fields["correlation"]
	_, hasFilter := fields["filter"]
	_, hasDet := fields["detection"]
	switch {
	case hasCorr:
		r.Kind = KindCorrelation
		if r.Correlation, err = p.correlation(fields["correlation"].v); err != nil {
			return nil, err
		}
	case hasFilter && !hasDet:
		r.Kind = KindFilter
		f := fields["filter"]
		if _, ok := fields["logsource"]; !ok {
			return nil, p.errf(root, "logsource", "is required")
		}
		if r.Filter, r.Detection, err = p.filter(f.v); err != nil {
			return nil, err
		}
	case hasDet:
		if _, ok := fields["logsource"]; !ok {
			return nil, p.errf(root, "logsource", "is required")
		}
		if r.Detection, err = p.detection(fields["detection"].v, "detection", nil); err != nil {
			return nil, err
		}
	default:
		return nil, p.errf(root, "detection", "is required (or correlation, or filter)")
	}
	if r.Title == "" {
		return nil, p.errf(root, "title", "is required")
	}
	return r, nil
}

type pair struct {
	k, v *yaml.Node
}

// pairs reads a mapping; a key written twice is an error, since YAML's "last one wins"
// would silently drop half a selection.
func (p *parser) pairs(n *yaml.Node, field string) (map[string]pair, error) {
	out, _, err := p.orderedPairs(n, field)
	return out, err
}

func (p *parser) orderedPairs(n *yaml.Node, field string) (map[string]pair, []string, error) {
	n = deref(n)
	if n == nil || n.Kind != yaml.MappingNode {
		return nil, nil, p.errf(n, field, "must be a mapping")
	}
	out := map[string]pair{}
	var order []string
	for _, kv := range mappingPairs(n, 0) {
		k := kv.k
		if k.Kind != yaml.ScalarNode {
			return nil, nil, p.errf(k, field, "keys must be text")
		}
		if _, dup := out[k.Value]; dup {
			return nil, nil, p.errf(k, join(field, k.Value), "key written twice")
		}
		out[k.Value] = kv
		order = append(order, k.Value)
	}
	return out, order, nil
}

func join(parent, key string) string {
	if parent == "" {
		return key
	}
	return parent + "." + key
}

func (p *parser) stringList(n *yaml.Node, field string) ([]string, error) {
	n = deref(n)
	switch {
	case n == nil || isNull(n):
		return nil, nil
	case n.Kind == yaml.ScalarNode:
		return []string{n.Value}, nil
	case n.Kind == yaml.SequenceNode:
		out := make([]string, 0, len(n.Content))
		for _, c := range n.Content {
			c = deref(c)
			if c == nil || c.Kind != yaml.ScalarNode {
				return nil, p.errf(c, field, "must be a list of text")
			}
			out = append(out, c.Value)
		}
		return out, nil
	}
	return nil, p.errf(n, field, "must be text or a list of text")
}

func (p *parser) related(n *yaml.Node) ([]Related, error) {
	n = deref(n)
	if isNull(n) {
		return nil, nil
	}
	if n.Kind != yaml.SequenceNode {
		return nil, p.errf(n, "related", "must be a list")
	}
	var out []Related
	for _, c := range n.Content {
		m, err := p.pairs(c, "related")
		if err != nil {
			return nil, err
		}
		id := scalarText(m["id"].v)
		if id == "" {
			return nil, p.errf(c, "related.id", "is required")
		}
		if uuidRe.MatchString(id) {
			id = strings.ToLower(id)
		}
		out = append(out, Related{ID: id, Type: scalarText(m["type"].v)})
	}
	return out, nil
}

func (p *parser) logSource(n *yaml.Node) (LogSource, error) {
	m, err := p.pairs(n, "logsource")
	if err != nil {
		return LogSource{}, err
	}
	ls := LogSource{Line: deref(n).Line}
	for k, kv := range m {
		v := deref(kv.v)
		if !isNull(v) && v.Kind != yaml.ScalarNode {
			return LogSource{}, p.errf(v, "logsource."+k, "must be text")
		}
		s := strings.TrimSpace(scalarText(v))
		switch k {
		case "product":
			ls.Product = s
		case "category":
			ls.Category = s
		case "service":
			ls.Service = s
		case "definition":
			ls.Definition = s
		}
	}
	return ls, nil
}

// detection reads a detection block; skip names keys that belong to the enclosing block
// (a filter's "rules").
func (p *parser) detection(n *yaml.Node, field string, skip []string) (*Detection, error) {
	m, order, err := p.orderedPairs(n, field)
	if err != nil {
		return nil, err
	}
	d := &Detection{Line: deref(n).Line}
	for _, name := range order {
		kv := m[name]
		switch {
		case slices.Contains(skip, name):
			continue
		case name == "condition":
			continue
		case name == "timeframe":
			d.Timeframe = scalarText(kv.v)
			continue
		}
		s, err := p.search(kv.k, kv.v, join(field, name))
		if err != nil {
			return nil, err
		}
		d.Searches = append(d.Searches, s)
	}
	cond, ok := m["condition"]
	if !ok {
		return nil, p.errf(n, join(field, "condition"), "is required")
	}
	cn := deref(cond.v)
	var texts []*yaml.Node
	switch {
	case cn != nil && cn.Kind == yaml.ScalarNode && !isNull(cn):
		texts = []*yaml.Node{cn}
	case cn != nil && cn.Kind == yaml.SequenceNode && len(cn.Content) > 0:
		for _, c := range cn.Content {
			c = deref(c)
			if c == nil || c.Kind != yaml.ScalarNode || isNull(c) {
				return nil, p.errf(c, join(field, "condition"), "must be a condition or a list of conditions")
			}
			texts = append(texts, c)
		}
	default:
		return nil, p.errf(cn, join(field, "condition"), "must be a condition or a list of conditions")
	}
	for _, t := range texts {
		c, err := parseCondition(t.Value, d)
		if err != nil {
			e := p.errf(t, join(field, "condition"), "%v", err)
			return nil, e
		}
		c.Line, c.Column = t.Line, t.Column
		d.Conditions = append(d.Conditions, c)
	}
	return d, nil
}

// search reads one search identifier's value.
func (p *parser) search(key, n *yaml.Node, field string) (*Search, error) {
	n = deref(n)
	s := &Search{Name: key.Value, Line: key.Line, Column: key.Column}
	if n == nil || isNull(n) {
		return nil, p.errf(key, field, "a search may not be empty")
	}
	switch n.Kind {
	case yaml.MappingNode:
		g, err := p.group(n, field)
		if err != nil {
			return nil, err
		}
		s.Groups = []*Group{g}
	case yaml.SequenceNode:
		if len(n.Content) == 0 {
			return nil, p.errf(n, field, "a search may not be an empty list")
		}
		var kw *Item
		for _, c := range n.Content {
			c = deref(c)
			switch {
			case c == nil:
				return nil, p.errf(n, field, "invalid list entry")
			case c.Kind == yaml.MappingNode:
				g, err := p.group(c, field)
				if err != nil {
					return nil, err
				}
				s.Groups = append(s.Groups, g)
			case c.Kind == yaml.ScalarNode:
				v, err := p.value(c, field)
				if err != nil {
					return nil, err
				}
				if kw == nil {
					kw = &Item{Line: c.Line, Column: c.Column}
					s.Groups = append(s.Groups, &Group{Items: []*Item{kw}, Line: c.Line})
				}
				kw.Values = append(kw.Values, v)
			default:
				return nil, p.errf(c, field, "a list in a search holds mappings or plain values, not lists")
			}
		}
	case yaml.ScalarNode:
		v, err := p.value(n, field)
		if err != nil {
			return nil, err
		}
		s.Groups = []*Group{{Items: []*Item{{Values: []Value{v}, Line: n.Line, Column: n.Column}}, Line: n.Line}}
	default:
		return nil, p.errf(n, field, "unexpected YAML node")
	}
	for _, g := range s.Groups {
		for _, it := range g.Items {
			if it.Field == "" && len(it.Modifiers) == 0 {
				if err := p.checkValues(it, field); err != nil {
					return nil, err
				}
			}
		}
	}
	return s, nil
}

func (p *parser) group(n *yaml.Node, field string) (*Group, error) {
	m, order, err := p.orderedPairs(n, field)
	if err != nil {
		return nil, err
	}
	if len(order) == 0 {
		return nil, p.errf(n, field, "a search mapping may not be empty")
	}
	g := &Group{Line: n.Line}
	for _, key := range order {
		kv := m[key]
		it, err := p.item(kv.k, kv.v, join(field, key))
		if err != nil {
			return nil, err
		}
		g.Items = append(g.Items, it)
	}
	return g, nil
}

var knownModifiers = func() map[Modifier]bool {
	m := map[Modifier]bool{}
	for _, x := range Modifiers {
		m[x] = true
	}
	return m
}()

// item reads "field|mod|mod: value(s)".
func (p *parser) item(key, n *yaml.Node, field string) (*Item, error) {
	parts := strings.Split(key.Value, "|")
	it := &Item{Field: strings.TrimSpace(parts[0]), Line: key.Line, Column: key.Column}
	for _, m := range parts[1:] {
		mod := Modifier(strings.ToLower(strings.TrimSpace(m)))
		if !knownModifiers[mod] {
			return nil, p.errf(key, field, "unknown modifier %q", m)
		}
		if it.Has(mod) {
			return nil, p.errf(key, field, "modifier %q written twice", m)
		}
		it.Modifiers = append(it.Modifiers, mod)
	}
	n = deref(n)
	switch {
	case n == nil:
		return nil, p.errf(key, field, "missing value")
	case n.Kind == yaml.ScalarNode:
		v, err := p.value(n, field)
		if err != nil {
			return nil, err
		}
		it.Values = []Value{v}
	case n.Kind == yaml.SequenceNode:
		if len(n.Content) == 0 {
			return nil, p.errf(n, field, "an empty list of values matches nothing; write null to match a missing field")
		}
		for _, c := range n.Content {
			c = deref(c)
			if c == nil || c.Kind != yaml.ScalarNode {
				return nil, p.errf(c, field, "values must be plain (text, number, true/false or null), not lists or mappings")
			}
			v, err := p.value(c, field)
			if err != nil {
				return nil, err
			}
			it.Values = append(it.Values, v)
		}
	default:
		return nil, p.errf(n, field, "a value may not be a mapping")
	}
	if err := p.checkModifiers(it, key, field); err != nil {
		return nil, err
	}
	if err := p.checkValues(it, field); err != nil {
		return nil, err
	}
	return it, nil
}

// value reads one scalar.
func (p *parser) value(n *yaml.Node, field string) (Value, error) {
	v := Value{Raw: n.Value, Line: n.Line, Column: n.Column}
	switch n.ShortTag() {
	case "!!null":
		v.Kind = NullValue
	case "!!bool":
		v.Kind = BoolValue
		b, err := strconv.ParseBool(strings.ToLower(n.Value))
		if err != nil {
			return v, p.errf(n, field, "%q is not true or false", n.Value)
		}
		v.Bool = b
	case "!!int", "!!float":
		v.Kind = NumberValue
		f, ok := parseNumber(n.Value)
		if !ok {
			// A YAML number Go cannot read (".inf", "0o17"): keep it as text.
			v.Kind = StringValue
			v.Parts = ParsePattern(n.Value)
			break
		}
		v.Number = f
	default:
		v.Kind = StringValue
		v.Parts = ParsePattern(n.Value)
	}
	return v, nil
}

func parseNumber(s string) (float64, bool) {
	s = strings.ReplaceAll(s, "_", "")
	if i, err := strconv.ParseInt(s, 0, 64); err == nil {
		return float64(i), true
	}
	if f, err := strconv.ParseFloat(s, 64); err == nil && !math.IsInf(f, 0) && !math.IsNaN(f) {
		return f, true
	}
	return 0, false
}

// ParsePattern reads a Sigma string value: "*" and "?" are wildcards, "\*", "\?" and
// "\\" are the literal characters, and a backslash before anything else is itself (so
// "C:\Windows" needs no escaping). This is the reading of the specification and of pySigma.
func ParsePattern(s string) []Part {
	var parts []Part
	var lit []byte
	flush := func() {
		if len(lit) > 0 {
			parts = append(parts, Part{Kind: Literal, Text: string(lit)})
			lit = lit[:0]
		}
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch c {
		case '\\':
			if i+1 < len(s) && (s[i+1] == '*' || s[i+1] == '?' || s[i+1] == '\\') {
				lit = append(lit, s[i+1])
				i++
			} else {
				lit = append(lit, c)
			}
		case '*':
			flush()
			parts = append(parts, Part{Kind: AnyString})
		case '?':
			flush()
			parts = append(parts, Part{Kind: AnyChar})
		default:
			lit = append(lit, c)
		}
	}
	flush()
	return parts
}

// checkModifiers rejects combinations the specification gives no meaning to.
func (p *parser) checkModifiers(it *Item, key *yaml.Node, field string) error {
	count := func(ms ...Modifier) (n int, names []string) {
		for _, m := range ms {
			if it.Has(m) {
				n++
				names = append(names, string(m))
			}
		}
		return
	}
	if n, names := count(ModContains, ModStartsWith, ModEndsWith); n > 1 {
		return p.errf(key, field, "modifiers %s exclude each other", strings.Join(names, " and "))
	}
	if n, names := count(ModUTF16LE, ModUTF16BE, ModUTF16, ModWide); n > 1 {
		return p.errf(key, field, "modifiers %s exclude each other", strings.Join(names, " and "))
	}
	if n, names := count(ModBase64, ModBase64Offset); n > 1 {
		return p.errf(key, field, "modifiers %s exclude each other", strings.Join(names, " and "))
	}
	if n, names := count(ModGT, ModGTE, ModLT, ModLTE); n > 1 {
		return p.errf(key, field, "modifiers %s exclude each other", strings.Join(names, " and "))
	}
	// Modifiers that take the value as something other than a pattern stand alone
	// (re takes its flags, cidr/fieldref may be combined with "all" only for lists).
	alone := map[Modifier][]Modifier{
		ModRe:       {ModReI, ModReM, ModReS, ModAll},
		ModCIDR:     {ModAll},
		ModExists:   {},
		ModGT:       {},
		ModGTE:      {},
		ModLT:       {},
		ModLTE:      {},
		ModFieldRef: {ModContains, ModStartsWith, ModEndsWith, ModAll, ModCased},
	}
	for m, allowed := range alone {
		if !it.Has(m) {
			continue
		}
		for _, o := range it.Modifiers {
			if o != m && !slices.Contains(allowed, o) {
				return p.errf(key, field, "modifier %q cannot be combined with %q", o, m)
			}
		}
	}
	for _, f := range []Modifier{ModReI, ModReM, ModReS} {
		if it.Has(f) && !it.Has(ModRe) {
			return p.errf(key, field, "modifier %q is a flag of \"re\" and needs it", f)
		}
	}
	if it.Has(ModBase64Offset) && !it.Has(ModContains) {
		return p.errf(key, field, "base64offset needs contains: the encoded value sits inside the field")
	}
	if it.Keyword() && (it.Has(ModExists) || it.Has(ModFieldRef) || it.Has(ModCIDR)) {
		return p.errf(key, field, "a keyword item (no field) cannot use exists, fieldref or cidr")
	}
	return nil
}

// checkValues checks the values against what the modifiers need.
func (p *parser) checkValues(it *Item, field string) error {
	bad := func(v Value, format string, args ...any) error {
		return &Error{File: p.file, Line: v.Line, Column: v.Column, Field: field, Msg: fmt.Sprintf(format, args...)}
	}
	for _, v := range it.Values {
		switch {
		case it.Has(ModExists):
			if v.Kind != BoolValue || len(it.Values) != 1 {
				return bad(v, "exists takes one value, true or false")
			}
		case it.Has(ModGT) || it.Has(ModGTE) || it.Has(ModLT) || it.Has(ModLTE):
			if v.Kind != NumberValue {
				return bad(v, "%q is not a number", v.Raw)
			}
		case it.Has(ModRe):
			if v.Kind != StringValue {
				return bad(v, "a regular expression must be text")
			}
		case it.Has(ModCIDR):
			if _, err := netip.ParsePrefix(strings.TrimSpace(v.Raw)); err != nil {
				return bad(v, "%q is not a network in CIDR notation", v.Raw)
			}
		case it.Has(ModFieldRef):
			if v.Kind != StringValue || v.Raw == "" {
				return bad(v, "fieldref takes a field name")
			}
		case it.Has(ModBase64) || it.Has(ModBase64Offset):
			if v.Kind == NullValue {
				return bad(v, "null cannot be base64-encoded")
			}
			if v.HasWildcards() {
				return bad(v, "a value with wildcards cannot be base64-encoded (escape them as \\* and \\?)")
			}
		case it.Keyword():
			if v.Kind == NullValue {
				return bad(v, "a keyword cannot be null")
			}
		case v.Kind == NullValue && len(it.Modifiers) > 0:
			return bad(v, "null takes no modifiers")
		}
	}
	return nil
}

func (p *parser) filter(n *yaml.Node) (*Filter, *Detection, error) {
	m, err := p.pairs(n, "filter")
	if err != nil {
		return nil, nil, err
	}
	f := &Filter{Line: deref(n).Line}
	if rn, ok := m["rules"]; ok {
		if f.Rules, err = p.stringList(rn.v, "filter.rules"); err != nil {
			return nil, nil, err
		}
	}
	if len(f.Rules) == 0 {
		return nil, nil, p.errf(n, "filter.rules", "is required")
	}
	d, err := p.detection(n, "filter", []string{"rules"})
	if err != nil {
		return nil, nil, err
	}
	return f, d, nil
}

var spanRe = regexp.MustCompile(`^(\d+)\s*([smhdwMy])$`)

// ParseTimespan reads a Sigma timespan ("30s", "5m", "1h", "2d", "1w", "1M", "1y"). A
// month is 30 days and a year 365.
func ParseTimespan(s string) (time.Duration, error) {
	m := spanRe.FindStringSubmatch(strings.TrimSpace(s))
	if m == nil {
		return 0, fmt.Errorf("%q is not a timespan (a number and one of s, m, h, d, w, M, y)", s)
	}
	n, err := strconv.ParseInt(m[1], 10, 64)
	if err != nil || n > 1<<32 {
		return 0, fmt.Errorf("%q is out of range", s)
	}
	unit := map[string]time.Duration{"s": time.Second, "m": time.Minute, "h": time.Hour, "d": 24 * time.Hour,
		"w": 7 * 24 * time.Hour, "M": 30 * 24 * time.Hour, "y": 365 * 24 * time.Hour}[m[2]]
	return time.Duration(n) * unit, nil
}

func (p *parser) correlation(n *yaml.Node) (*Correlation, error) {
	m, err := p.pairs(n, "correlation")
	if err != nil {
		return nil, err
	}
	c := &Correlation{Line: deref(n).Line}
	c.Type = strings.TrimSpace(scalarText(m["type"].v))
	if !slices.Contains(CorrelationTypes, c.Type) {
		return nil, p.errf(orNode(m["type"].v, n), "correlation.type", "%q is not a correlation type (%s)", c.Type, strings.Join(CorrelationTypes, ", "))
	}
	if rn, ok := m["rules"]; ok {
		if c.Rules, err = p.stringList(rn.v, "correlation.rules"); err != nil {
			return nil, err
		}
	}
	if len(c.Rules) == 0 {
		return nil, p.errf(n, "correlation.rules", "is required")
	}
	if g, ok := m["group-by"]; ok {
		if c.GroupBy, err = p.stringList(g.v, "correlation.group-by"); err != nil {
			return nil, err
		}
	}
	span, ok := m["timespan"]
	if !ok {
		span, ok = m["timeframe"]
	}
	if !ok {
		return nil, p.errf(n, "correlation.timespan", "is required")
	}
	c.TimespanText = scalarText(span.v)
	if c.Timespan, err = ParseTimespan(c.TimespanText); err != nil {
		return nil, p.errf(span.v, "correlation.timespan", "%v", err)
	}
	if g, ok := m["generate"]; ok {
		c.Generate, err = strconv.ParseBool(scalarText(g.v))
		if err != nil {
			return nil, p.errf(g.v, "correlation.generate", "must be true or false")
		}
	}
	if cn, ok := m["condition"]; ok {
		cm, err := p.pairs(cn.v, "correlation.condition")
		if err != nil {
			return nil, err
		}
		cc := &CorrelationCondition{}
		for k, kv := range cm {
			switch k {
			case "field":
				cc.Field = scalarText(kv.v)
			case "gt", "gte", "lt", "lte", "eq", "neq":
				if cc.Op != "" {
					return nil, p.errf(kv.k, "correlation.condition", "one comparison only")
				}
				f, ok := parseNumber(scalarText(kv.v))
				if !ok {
					return nil, p.errf(kv.v, "correlation.condition."+k, "must be a number")
				}
				cc.Op, cc.Value = k, f
			default:
				return nil, p.errf(kv.k, "correlation.condition", "unknown key %q", k)
			}
		}
		if cc.Op == "" {
			return nil, p.errf(cn.v, "correlation.condition", "needs a comparison (gt, gte, lt, lte, eq, neq)")
		}
		c.Condition = cc
	} else if c.Type != "temporal" && c.Type != "temporal_ordered" {
		return nil, p.errf(n, "correlation.condition", "is required for %s", c.Type)
	}
	if an, ok := m["aliases"]; ok {
		am, err := p.pairs(an.v, "correlation.aliases")
		if err != nil {
			return nil, err
		}
		c.Aliases = map[string]map[string]string{}
		for alias, kv := range am {
			rm, err := p.pairs(kv.v, "correlation.aliases."+alias)
			if err != nil {
				return nil, err
			}
			c.Aliases[alias] = map[string]string{}
			for rule, f := range rm {
				c.Aliases[alias][rule] = scalarText(f.v)
			}
		}
	}
	return c, nil
}

func orNode(a, b *yaml.Node) *yaml.Node {
	if a != nil {
		return a
	}
	return b
}

// YAML node helpers.

const maxAliasHops = 32

func deref(n *yaml.Node) *yaml.Node {
	for i := 0; n != nil && i < maxAliasHops; i++ {
		switch n.Kind {
		case yaml.DocumentNode:
			if len(n.Content) == 0 {
				return nil
			}
			n = n.Content[0]
		case yaml.AliasNode:
			n = n.Alias
		default:
			return n
		}
	}
	return nil
}

func isNull(n *yaml.Node) bool {
	n = deref(n)
	return n == nil || (n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null")
}

func scalarText(n *yaml.Node) string {
	n = deref(n)
	if n == nil || n.Kind != yaml.ScalarNode || n.ShortTag() == "!!null" {
		return ""
	}
	return n.Value
}

// mappingPairs lists a mapping's pairs with "<<" merge keys expanded after its own keys.
func mappingPairs(n *yaml.Node, depth int) []pair {
	n = deref(n)
	if n == nil || n.Kind != yaml.MappingNode || depth > maxAliasHops {
		return nil
	}
	var own, merged []pair
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := deref(n.Content[i]), n.Content[i+1]
		if k == nil {
			continue
		}
		if k.Kind == yaml.ScalarNode && k.Value == "<<" && k.ShortTag() == "!!merge" {
			src := deref(v)
			if src != nil && src.Kind == yaml.SequenceNode {
				for _, s := range src.Content {
					merged = append(merged, mappingPairs(s, depth+1)...)
				}
			} else {
				merged = append(merged, mappingPairs(src, depth+1)...)
			}
			continue
		}
		own = append(own, pair{k, v})
	}
	for _, m := range merged {
		if !slices.ContainsFunc(own, func(o pair) bool { return o.k.Value == m.k.Value }) {
			own = append(own, m)
		}
	}
	return own
}

func get(n *yaml.Node, key string) *yaml.Node {
	for _, kv := range mappingPairs(n, 0) {
		if kv.k.Value == key {
			return kv.v
		}
	}
	return nil
}

func without(n *yaml.Node, key string) *yaml.Node {
	c := *n
	c.Content = nil
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value != key {
			c.Content = append(c.Content, n.Content[i], n.Content[i+1])
		}
	}
	return &c
}

// merge returns base with over's keys laid on top, mappings merged recursively.
func merge(base, over *yaml.Node) *yaml.Node {
	return mergeDepth(base, over, 0)
}

func mergeDepth(base, over *yaml.Node, depth int) *yaml.Node {
	base, over = deref(base), deref(over)
	if base == nil || depth > maxAliasHops {
		return over
	}
	if over == nil {
		return base
	}
	if base.Kind != yaml.MappingNode || over.Kind != yaml.MappingNode {
		return over
	}
	out := *over
	out.Content = nil
	overKeys := map[string]*yaml.Node{}
	for _, kv := range mappingPairs(over, 0) {
		overKeys[kv.k.Value] = kv.v
	}
	for _, kv := range mappingPairs(base, 0) {
		if ov, ok := overKeys[kv.k.Value]; ok {
			out.Content = append(out.Content, kv.k, mergeDepth(kv.v, ov, depth+1))
			delete(overKeys, kv.k.Value)
			continue
		}
		out.Content = append(out.Content, kv.k, kv.v)
	}
	for _, kv := range mappingPairs(over, 0) {
		if _, ok := overKeys[kv.k.Value]; ok {
			out.Content = append(out.Content, kv.k, kv.v)
		}
	}
	out.Line, out.Column = over.Line, over.Column
	return &out
}
