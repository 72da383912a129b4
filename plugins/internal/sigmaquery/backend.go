package sigmaquery

import (
	"github.com/aegis-sec/aegis/sigma"
)

// Backend converts rules into one query language.
type Backend struct {
	Name string
	d    *dialect
}

// Convert returns the query of a detection rule. The error is an *Unsupported when the
// language cannot express the rule, any other error when the rule itself is wrong.
func (b *Backend) Convert(r *sigma.Rule, o Options) (string, error) {
	return b.d.convert(r, o)
}

// Backends lists the backends by name.
var Backends = map[string]*Backend{"splunk": Splunk, "lucene": Lucene, "kql": KQL}
