package config

import (
	"fmt"
	"time"

	"github.com/hashicorp/hcl/v2"
	"github.com/zclconf/go-cty/cty"
	"github.com/zclconf/go-cty/cty/convert"
	"github.com/zclconf/go-cty/cty/gocty"
)

// decoder evaluates attributes against one EvalContext and collects every
// diagnostic instead of stopping at the first.
type decoder struct {
	ctx   *hcl.EvalContext
	diags hcl.Diagnostics
}

func (d *decoder) add(diags hcl.Diagnostics) { d.diags = append(d.diags, diags...) }

// errorAt records an error at rng.
func (d *decoder) errorAt(rng hcl.Range, summary, detail string, args ...any) {
	d.diags = append(d.diags, &hcl.Diagnostic{
		Severity: hcl.DiagError,
		Summary:  summary,
		Detail:   fmt.Sprintf(detail, args...),
		Subject:  rng.Ptr(),
	})
}

// invalid records a bad value of attribute a.
func (d *decoder) invalid(a *hcl.Attribute, detail string, args ...any) {
	d.diags = append(d.diags, &hcl.Diagnostic{
		Severity:    hcl.DiagError,
		Summary:     fmt.Sprintf("Invalid value for %q", a.Name),
		Detail:      fmt.Sprintf(detail, args...),
		Subject:     a.Expr.Range().Ptr(),
		Context:     a.Range.Ptr(),
		Expression:  a.Expr,
		EvalContext: d.ctx,
	})
}

// content decodes body against schema; unknown attributes and blocks become
// diagnostics, and the partial content is still returned.
func (d *decoder) content(body hcl.Body, schema *hcl.BodySchema) *hcl.BodyContent {
	c, diags := body.Content(schema)
	d.add(diags)
	if c == nil {
		c = &hcl.BodyContent{Attributes: hcl.Attributes{}}
	}
	return c
}

// single returns the only block of type typ in blocks, reporting duplicates.
func (d *decoder) single(blocks hcl.Blocks, typ string) *hcl.Block {
	var first *hcl.Block
	for _, b := range blocks {
		if b.Type != typ {
			continue
		}
		if first == nil {
			first = b
			continue
		}
		d.errorAt(b.DefRange, fmt.Sprintf("Duplicate %s block", typ),
			"A %s block was already defined at %s; only one is allowed.", typ, pos(first.DefRange))
	}
	return first
}

// value evaluates attribute name and converts it to ty. It returns ok=false
// when the attribute is absent, null, or erroneous (already reported).
func (d *decoder) value(attrs hcl.Attributes, name string, ty cty.Type) (cty.Value, *hcl.Attribute, bool) {
	a, ok := attrs[name]
	if !ok {
		return cty.NilVal, nil, false
	}
	v, diags := a.Expr.Value(d.ctx)
	d.add(diags)
	if diags.HasErrors() || v.IsNull() {
		return cty.NilVal, a, false
	}
	cv, err := convert.Convert(v, ty)
	if err != nil {
		d.diags = append(d.diags, &hcl.Diagnostic{
			Severity:    hcl.DiagError,
			Summary:     "Incorrect attribute value type",
			Detail:      fmt.Sprintf("Inappropriate value for attribute %q: %s%s.", name, err, got(v)),
			Subject:     a.Expr.Range().Ptr(),
			Context:     a.Range.Ptr(),
			Expression:  a.Expr,
			EvalContext: d.ctx,
		})
		return cty.NilVal, a, false
	}
	if !cv.IsWhollyKnown() {
		d.invalid(a, "The value of %q must be known when the configuration is loaded.", name)
		return cty.NilVal, a, false
	}
	return cv, a, true
}

// str sets *dst to the string attribute name when it is set and not empty.
func (d *decoder) str(attrs hcl.Attributes, name string, dst *string) *hcl.Attribute {
	v, a, ok := d.value(attrs, name, cty.String)
	if !ok || v.AsString() == "" {
		return nil
	}
	*dst = v.AsString()
	return a
}

// boolean sets *dst to the bool attribute name when it is set.
func (d *decoder) boolean(attrs hcl.Attributes, name string, dst *bool) *hcl.Attribute {
	v, a, ok := d.value(attrs, name, cty.Bool)
	if !ok {
		return nil
	}
	*dst = v.True()
	return a
}

// integer sets *dst to the whole-number attribute name when it is set and at least min.
func (d *decoder) integer(attrs hcl.Attributes, name string, min int, dst *int) *hcl.Attribute {
	v, a, ok := d.value(attrs, name, cty.Number)
	if !ok {
		return nil
	}
	var n int
	if err := gocty.FromCtyValue(v, &n); err != nil {
		d.invalid(a, "%q must be a whole number, got %s.", name, v.AsBigFloat().Text('g', -1))
		return nil
	}
	if n < min {
		d.invalid(a, "%q must be at least %d, got %d.", name, min, n)
		return nil
	}
	*dst = n
	return a
}

// duration sets *dst to the positive Go duration ("15m", "12h") in attribute name.
func (d *decoder) duration(attrs hcl.Attributes, name string, dst *time.Duration) *hcl.Attribute {
	var s string
	a := d.str(attrs, name, &s)
	if a == nil {
		return nil
	}
	dur, err := time.ParseDuration(s)
	if err != nil {
		d.invalid(a, "%q must be a duration such as \"90s\", \"15m\" or \"12h\", got %q.", name, s)
		return nil
	}
	if dur <= 0 {
		d.invalid(a, "%q must be a positive duration, got %q.", name, s)
		return nil
	}
	*dst = dur
	return a
}

// enum sets *dst to the string attribute name, which must be one of allowed.
func (d *decoder) enum(attrs hcl.Attributes, name string, dst *string, allowed ...string) *hcl.Attribute {
	var s string
	a := d.str(attrs, name, &s)
	if a == nil {
		return nil
	}
	for _, v := range allowed {
		if s == v {
			*dst = s
			return a
		}
	}
	d.invalid(a, "%q must be one of %s, got %q.", name, quoteList(allowed), s)
	return nil
}

// cron sets *dst to the cron spec in attribute name after checking that it parses.
func (d *decoder) cron(attrs hcl.Attributes, name string, dst *string) *hcl.Attribute {
	var s string
	a := d.str(attrs, name, &s)
	if a == nil {
		return nil
	}
	if err := checkCron(s); err != nil {
		d.invalid(a, "%q must be a cron spec (five fields such as \"0 3 * * *\", or @hourly, @daily, @weekly, @monthly, @every 6h), got %q: %s.", name, s, err)
		return nil
	}
	*dst = s
	return a
}

// strings sets *dst to the list of strings in attribute name.
func (d *decoder) strings(attrs hcl.Attributes, name string, dst *[]string) *hcl.Attribute {
	v, a, ok := d.value(attrs, name, cty.List(cty.String))
	if !ok {
		return nil
	}
	out := make([]string, 0, v.LengthInt())
	for it := v.ElementIterator(); it.Next(); {
		_, ev := it.Element()
		if ev.IsNull() {
			d.invalid(a, "%q must not contain null.", name)
			return nil
		}
		out = append(out, ev.AsString())
	}
	*dst = out
	return a
}

// size sets *dst to the byte count in attribute name ("100MiB", "10MB", 1048576).
func (d *decoder) size(attrs hcl.Attributes, name string, dst *int64) *hcl.Attribute {
	var s string
	a := d.str(attrs, name, &s)
	if a == nil {
		return nil
	}
	n, err := parseSize(s)
	if err != nil {
		d.invalid(a, "%q must be a size such as \"100MiB\", \"10MB\" or \"512KiB\" (units B, KB, MB, GB, KiB, MiB, GiB), got %q: %s.", name, s, err)
		return nil
	}
	*dst = n
	return a
}

func pos(r hcl.Range) string { return fmt.Sprintf("%s:%d", r.Filename, r.Start.Line) }

func quoteList(vs []string) string {
	s := ""
	for i, v := range vs {
		switch {
		case i == 0:
		case i == len(vs)-1:
			s += " or "
		default:
			s += ", "
		}
		s += fmt.Sprintf("%q", v)
	}
	return s
}

// got renders a primitive value for a message as ", got VALUE"; conversion
// errors already name the type of anything else.
func got(v cty.Value) string {
	switch {
	case v.Type() == cty.String:
		return fmt.Sprintf(", got %q", v.AsString())
	case v.Type() == cty.Number:
		return ", got " + v.AsBigFloat().Text('g', -1)
	case v.Type() == cty.Bool:
		return fmt.Sprintf(", got %t", v.True())
	default:
		return ""
	}
}
