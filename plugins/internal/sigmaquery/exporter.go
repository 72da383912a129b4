package sigmaquery

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"sort"
	"strings"

	"github.com/aegis-sec/aegis/sdk"
	"github.com/aegis-sec/aegis/sigma"
)

// Config is a converter plugin's config block.
type Config struct {
	// FieldMapping names a shipped mapping: "sysmon_ecs" (Sysmon and Windows event
	// field names to Elastic Common Schema) or "ecs_sysmon" (the reverse).
	FieldMapping string `json:"field_mapping,omitempty"`
	// Fields maps Sigma field names to the target's; it wins over FieldMapping.
	Fields map[string]string `json:"fields,omitempty"`
	// Placeholders are the values of %name% for the expand modifier.
	Placeholders map[string][]string `json:"placeholders,omitempty"`
}

func (c Config) options() (Options, error) {
	o := Options{Fields: map[string]string{}, Placeholders: c.Placeholders}
	if c.FieldMapping != "" {
		m, ok := FieldMappings[c.FieldMapping]
		if !ok {
			return o, fmt.Errorf("unknown field_mapping %q (known: %s)", c.FieldMapping, strings.Join(slices.Sorted(maps.Keys(FieldMappings)), ", "))
		}
		maps.Copy(o.Fields, m)
	}
	maps.Copy(o.Fields, c.Fields)
	return o, nil
}

// Line is one line of a converter's output: the queries of one rule, or why it has none.
type Line struct {
	File        string   `json:"file"`
	ID          string   `json:"id"`
	Title       string   `json:"title,omitempty"`
	Queries     []string `json:"queries,omitempty"`
	Unsupported string   `json:"unsupported,omitempty"`
	// Error says why a rule could not be read at all (a broken rule, not a limit of
	// the backend).
	Error string `json:"error,omitempty"`
}

// ConvertFile converts every rule document of one Sigma file.
func (b *Backend) ConvertFile(file string, raw []byte, o Options) []Line {
	rules, err := sigma.ParseFile(file, raw)
	var out []Line
	for _, r := range rules {
		l := Line{File: file, ID: r.ID, Title: r.Title}
		q, err := b.Convert(r, o)
		var u *Unsupported
		switch {
		case errors.As(err, &u):
			l.Unsupported = u.Reason
		case err != nil:
			l.Error = err.Error()
		default:
			l.Queries = []string{q}
		}
		out = append(out, l)
	}
	if err != nil {
		var es sigma.Errors
		if !errors.As(err, &es) {
			es = sigma.Errors{&sigma.Error{File: file, Msg: err.Error()}}
		}
		for _, e := range es {
			l := Line{File: file, Error: e.Error()}
			if e.Unsupported {
				l.Error, l.Unsupported = "", e.Error()
			}
			out = append(out, l)
		}
	}
	return out
}

// Exporter is the sdk.Exporter of a converter plugin: it reads detection_rule records,
// converts the Sigma ones and writes one JSON line per rule to "<backend>.ndjson".
type Exporter struct{ Backend *Backend }

// Describe implements sdk.Describer.
func (e Exporter) Describe() sdk.Component {
	return sdk.Component{
		Description: fmt.Sprintf("converts Sigma detection rules to %s queries (one JSON line per rule)", e.Backend.Title()),
		RecordKinds: []string{sdk.KindDetectionRule},
		MediaTypes:  []string{"application/x-ndjson"},
		ConfigSchema: json.RawMessage(`{"type":"object","additionalProperties":false,"properties":{` +
			`"field_mapping":{"enum":["sysmon_ecs","ecs_sysmon"]},` +
			`"fields":{"type":"object","additionalProperties":{"type":"string"}},` +
			`"placeholders":{"type":"object","additionalProperties":{"type":"array","items":{"type":"string"}}}}}`),
	}
}

func decodeConfig(raw json.RawMessage) (Config, error) {
	var c Config
	if len(bytes.TrimSpace(raw)) == 0 {
		return c, nil
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&c); err != nil {
		return c, err
	}
	_, err := c.options()
	return c, err
}

// ValidateConfig implements sdk.ConfigValidator.
func (e Exporter) ValidateConfig(_ context.Context, raw json.RawMessage) sdk.Diagnostics {
	var ds sdk.Diagnostics
	if _, err := decodeConfig(raw); err != nil {
		ds.AddError("the converter's config is not valid", err.Error(), "")
	}
	return ds
}

// Export implements sdk.Exporter.
func (e Exporter) Export(ctx context.Context, req sdk.ExportRequest, records sdk.RecordIterator, out sdk.ArtifactWriter) error {
	c, err := decodeConfig(req.Config)
	if err != nil {
		return fmt.Errorf("config: %w", err)
	}
	o, _ := c.options()
	w, err := out.Begin(e.Backend.Name+".ndjson", "application/x-ndjson")
	if err != nil {
		return err
	}
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	n := int64(0)
	for rec, err := range sdk.Records(records) {
		if err != nil {
			return err
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		r, ok := rec.(*sdk.DetectionRule)
		if !ok {
			out.Warn(rec.ID(), fmt.Sprintf("%s records are not converted", rec.Kind()), "")
			continue
		}
		for _, l := range e.lines(r, o) {
			if err := enc.Encode(l); err != nil {
				return err
			}
		}
		n++
		if n%100 == 0 {
			out.Progress(n, 0, "")
		}
	}
	return nil
}

func (e Exporter) lines(r *sdk.DetectionRule, o Options) []Line {
	file, _ := r.Metadata["file"].(string)
	if r.Format != sdk.RuleSigma {
		return []Line{{File: file, ID: r.ExternalID, Title: r.Title, Unsupported: fmt.Sprintf("a %s rule, not Sigma", r.Format)}}
	}
	if r.Raw == "" {
		return []Line{{File: file, ID: r.ExternalID, Title: r.Title, Error: "the rule has no raw text to convert"}}
	}
	name := file
	if name == "" {
		name = r.ExternalID
	}
	lines := e.Backend.ConvertFile(name, []byte(r.Raw), o)
	for i := range lines {
		lines[i].File = file
		if lines[i].ID == "" {
			lines[i].ID = r.ExternalID
		}
	}
	return lines
}

// Title is the backend's display name.
func (b *Backend) Title() string {
	return map[string]string{"splunk": "Splunk SPL", "lucene": "Elasticsearch query string (Lucene)", "kql": "Kusto (KQL)"}[b.Name]
}

// ServeOpts is the whole of a converter plugin's main.
func ServeOpts(b *Backend, version string) sdk.ServeOpts {
	return sdk.ServeOpts{Name: b.Name, Version: version, Exporters: map[string]sdk.Exporter{"queries": Exporter{Backend: b}}}
}

// FieldMappings are the shipped field mappings.
var FieldMappings = map[string]map[string]string{
	"sysmon_ecs": sysmonECS,
	"ecs_sysmon": invert(sysmonECS),
}

// sysmonECS maps Sysmon (and Windows Security) field names to the Elastic Common
// Schema fields Elastic Agent and Winlogbeat fill.
var sysmonECS = map[string]string{
	"Image":               "process.executable",
	"CommandLine":         "process.command_line",
	"ProcessId":           "process.pid",
	"ProcessGuid":         "process.entity_id",
	"CurrentDirectory":    "process.working_directory",
	"OriginalFileName":    "process.pe.original_file_name",
	"Company":             "process.pe.company",
	"Description":         "process.pe.description",
	"Product":             "process.pe.product",
	"FileVersion":         "process.pe.file_version",
	"ParentImage":         "process.parent.executable",
	"ParentCommandLine":   "process.parent.command_line",
	"ParentProcessId":     "process.parent.pid",
	"ParentProcessGuid":   "process.parent.entity_id",
	"User":                "user.name",
	"TargetFilename":      "file.path",
	"ImageLoaded":         "file.path",
	"Signed":              "file.code_signature.signed",
	"SignatureStatus":     "file.code_signature.status",
	"DestinationIp":       "destination.ip",
	"DestinationPort":     "destination.port",
	"DestinationHostname": "destination.domain",
	"SourceIp":            "source.ip",
	"SourcePort":          "source.port",
	"SourceHostname":      "source.domain",
	"Protocol":            "network.transport",
	"TargetObject":        "registry.path",
	"Details":             "registry.data.strings",
	"QueryName":           "dns.question.name",
	"QueryResults":        "dns.answers.data",
	"PipeName":            "file.name",
	"ComputerName":        "host.name",
	"EventID":             "event.code",
	"Provider_Name":       "winlog.provider_name",
}

// invert reverses a mapping; where two names map to one, the alphabetically first wins
// so the result does not depend on map order.
func invert(m map[string]string) map[string]string {
	keys := slices.Collect(maps.Keys(m))
	sort.Strings(keys)
	out := map[string]string{}
	for _, k := range keys {
		if _, taken := out[m[k]]; !taken {
			out[m[k]] = k
		}
	}
	return out
}
