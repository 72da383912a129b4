package main

import (
	"bytes"
	"context"
	_ "embed"
	"encoding/json"
	"fmt"
	"html"
	"html/template"
	"math"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/aegis-sec/aegis/plugins/internal/artifactname"
	"github.com/aegis-sec/aegis/sdk"
)

// HTML writes the executive report: one self-contained page (inline CSS and SVG, no
// script, nothing fetched) laid out to print on A4 pages.
type HTML struct{}

// Config is the html exporter's config block.
type Config struct {
	// Organisation is the name printed on the report.
	Organisation string `json:"organisation,omitempty"`
	// TopGaps and TopActors bound the two lists (defaults 15 and 10).
	TopGaps   int `json:"top_gaps,omitempty"`
	TopActors int `json:"top_actors,omitempty"`
	// Appendix adds a table of every technique in scope.
	Appendix bool `json:"appendix,omitempty"`
}

func decodeConfig(raw json.RawMessage) (Config, error) {
	var c Config
	if len(bytes.TrimSpace(raw)) > 0 {
		dec := json.NewDecoder(bytes.NewReader(raw))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&c); err != nil {
			return c, fmt.Errorf("config is not valid: %w", err)
		}
	}
	if c.TopGaps < 0 || c.TopGaps > 200 || c.TopActors < 0 || c.TopActors > 100 {
		return c, fmt.Errorf("config is not valid: top_gaps is 0..200 and top_actors 0..100")
	}
	if c.TopGaps == 0 {
		c.TopGaps = 15
	}
	if c.TopActors == 0 {
		c.TopActors = 10
	}
	return c, nil
}

// Describe implements sdk.Describer.
func (HTML) Describe() sdk.Component {
	return sdk.Component{Description: "Executive coverage report: one self-contained HTML page with inline SVG charts that prints to PDF",
		RecordKinds: []string{sdk.KindTechniqueCoverage}, MediaTypes: []string{"text/html"},
		ConfigSchema: json.RawMessage(`{"type":"object","additionalProperties":false,"properties":{
"organisation":{"type":"string"},"top_gaps":{"type":"integer","minimum":0,"maximum":200},
"top_actors":{"type":"integer","minimum":0,"maximum":100},"appendix":{"type":"boolean"}}}`)}
}

// Export implements sdk.Exporter.
func (HTML) Export(ctx context.Context, req sdk.ExportRequest, records sdk.RecordIterator, out sdk.ArtifactWriter) error {
	cfg, err := decodeConfig(req.Config)
	if err != nil {
		return err
	}
	sc, techs, err := readCoverage(ctx, req, records, out)
	if err != nil {
		return err
	}
	v := buildView(sc, techs, cfg)
	var buf bytes.Buffer
	if err := page.Execute(&buf, v); err != nil {
		return fmt.Errorf("render report: %w", err)
	}
	w, err := out.Begin(artifactname.ForScope("coverage", sc)+".html", "text/html")
	if err != nil {
		return err
	}
	_, err = w.Write(buf.Bytes())
	return err
}

//go:embed report.html.tmpl
var pageText string

var page = template.Must(template.New("report").Funcs(template.FuncMap{
	"score": scoreText, "date": dateText, "signed": func(s *float64) string {
		if s != nil && *s > 0 {
			return "+" + scoreText(s)
		}
		return scoreText(s)
	}, "status": func(s string) string { return statusWords[s] },
	"pct": func(n, total int) string {
		if total == 0 {
			return "0%"
		}
		return strconv.Itoa(int(math.Round(float64(n)*100/float64(total)))) + "%"
	},
}).Parse(pageText))

var statusWords = map[string]string{sdk.CoverageNotTested: "not tested", sdk.CoverageInProgress: "in progress",
	sdk.CoverageNotCovered: "not covered", sdk.CoveragePartial: "partial", sdk.CoverageCovered: "covered"}

var statusColor = map[string]string{sdk.CoverageNotTested: "#d9d9d9", sdk.CoverageInProgress: "#9ecae1",
	sdk.CoverageNotCovered: "#e34a33", sdk.CoveragePartial: "#fdbb2d", sdk.CoverageCovered: "#41ab5d"}

var statusOrder = []string{sdk.CoverageCovered, sdk.CoveragePartial, sdk.CoverageNotCovered, sdk.CoverageInProgress, sdk.CoverageNotTested}

func scoreText(s *float64) string {
	if s == nil {
		return "—"
	}
	return strconv.FormatFloat(math.Round(*s*10)/10, 'f', 1, 64)
}

func dateText(t any) string {
	switch x := t.(type) {
	case time.Time:
		if x.IsZero() {
			return "—"
		}
		return x.UTC().Format("2006-01-02")
	case *time.Time:
		if x == nil {
			return "—"
		}
		return x.UTC().Format("2006-01-02")
	}
	return ""
}

type view struct {
	Scope        *sdk.Scope
	Sum          *sdk.ScopeSummary
	Org          string
	Generated    string
	Statuses     []statusLine
	StatusBar    template.HTML
	TacticChart  template.HTML
	Tactics      []sdk.TacticScore
	Gaps         []*sdk.TechniqueCoverage
	ActorChart   template.HTML
	Actors       []sdk.ActorScore
	TrendChart   template.HTML
	Trend        []sdk.TrendPoint
	Diff         *sdk.ScopeDiff
	Improved     []*sdk.TechniqueCoverage
	Regressed    []*sdk.TechniqueCoverage
	Appendix     []*sdk.TechniqueCoverage
	Counts       map[string]int
	TopLevel     int
	LastValidate *time.Time
}

type statusLine struct {
	Status, Words, Color string
	Count, Total         int
}

func buildView(sc *sdk.Scope, techs []*sdk.TechniqueCoverage, cfg Config) *view {
	sum := sc.Summary
	if sum == nil {
		sum = &sdk.ScopeSummary{}
	}
	v := &view{Scope: sc, Sum: sum, Org: cfg.Organisation, Generated: sc.GeneratedAt.UTC().Format("2006-01-02 15:04 UTC"),
		Tactics: sum.Tactics, Trend: sum.Trend, Diff: sum.Diff, Counts: sum.Counts}
	if v.Org == "" {
		v.Org = "Organisation"
	}
	total := 0
	for _, st := range statusOrder {
		total += sum.Statuses[st]
	}
	for _, st := range statusOrder {
		v.Statuses = append(v.Statuses, statusLine{st, statusWords[st], statusColor[st], sum.Statuses[st], total})
	}
	v.StatusBar = statusBar(v.Statuses, total)
	var rows []bar
	for _, t := range sum.Tactics {
		rows = append(rows, bar{Label: t.Name, Score: t.Score, Note: fmt.Sprintf("%d/%d", t.Tested, t.Techniques)})
	}
	v.TacticChart = bars(rows)
	actors := append([]sdk.ActorScore(nil), sum.Actors...)
	if len(actors) > cfg.TopActors {
		actors = actors[:cfg.TopActors]
	}
	v.Actors = actors
	rows = nil
	for _, a := range actors {
		rows = append(rows, bar{Label: a.Name + " (" + a.ID + ")", Score: a.Score, Note: fmt.Sprintf("%d/%d", a.Tested, a.Techniques)})
	}
	v.ActorChart = bars(rows)
	v.TrendChart = trendChart(sum.Trend)
	v.Gaps = gaps(techs, cfg.TopGaps)
	for _, t := range techs {
		if t.Parent == "" {
			v.TopLevel++
		}
		if t.LastValidated != nil && (v.LastValidate == nil || t.LastValidated.After(*v.LastValidate)) {
			v.LastValidate = t.LastValidated
		}
		if t.Change != nil {
			switch t.Change.Direction {
			case sdk.ChangeImproved, sdk.ChangeNew:
				v.Improved = append(v.Improved, t)
			case sdk.ChangeRegressed, sdk.ChangeRemoved:
				v.Regressed = append(v.Regressed, t)
			}
		}
	}
	if cfg.Appendix {
		v.Appendix = techs
	}
	return v
}

// gaps are what most needs testing: techniques whose newest validation failed or only
// logged, lowest score first; then tests still in progress; then untested techniques,
// heaviest for the actor and with the most templates first.
func gaps(techs []*sdk.TechniqueCoverage, n int) []*sdk.TechniqueCoverage {
	rank := map[string]int{sdk.CoverageNotCovered: 0, sdk.CoveragePartial: 1, sdk.CoverageInProgress: 2, sdk.CoverageNotTested: 3}
	var out []*sdk.TechniqueCoverage
	for _, t := range techs {
		if _, ok := rank[t.Status]; ok {
			out = append(out, t)
		}
	}
	sort.SliceStable(out, func(i, j int) bool {
		a, b := out[i], out[j]
		if rank[a.Status] != rank[b.Status] {
			return rank[a.Status] < rank[b.Status]
		}
		if sa, sb := val(a.Score), val(b.Score); sa != sb {
			return sa < sb
		}
		if a.Weight != b.Weight {
			return a.Weight > b.Weight
		}
		if a.Templates != b.Templates {
			return a.Templates > b.Templates
		}
		return a.TechniqueID < b.TechniqueID
	})
	if len(out) > n {
		out = out[:n]
	}
	return out
}

func val(f *float64) float64 {
	if f == nil {
		return 0
	}
	return *f
}

type bar struct {
	Label string
	Score *float64
	Note  string
}

// scoreColor runs red (0) through amber (50) to green (100).
func scoreColor(s float64) string {
	switch {
	case s >= 75:
		return "#41ab5d"
	case s >= 50:
		return "#a1d76a"
	case s >= 25:
		return "#fdbb2d"
	}
	return "#e34a33"
}

// bars draws a horizontal bar chart of 0–100 scores as inline SVG.
func bars(rows []bar) template.HTML {
	if len(rows) == 0 {
		return template.HTML(`<p class="muted">Nothing to chart.</p>`)
	}
	const labelW, barW, rowH = 230.0, 360.0, 20.0
	h := rowH*float64(len(rows)) + 24
	var b strings.Builder
	fmt.Fprintf(&b, `<svg class="chart" role="img" viewBox="0 0 %g %g" width="100%%" xmlns="http://www.w3.org/2000/svg">`, labelW+barW+90, h)
	for _, x := range []float64{0, 25, 50, 75, 100} {
		px := labelW + barW*x/100
		fmt.Fprintf(&b, `<line x1="%g" y1="0" x2="%g" y2="%g" stroke="#ccc" stroke-width="0.5"/><text x="%g" y="%g" font-size="9" text-anchor="middle" fill="#666">%g</text>`,
			px, px, h-16, px, h-4, x)
	}
	for i, r := range rows {
		y := float64(i) * rowH
		label := r.Label
		if len([]rune(label)) > 38 {
			label = string([]rune(label)[:37]) + "…"
		}
		fmt.Fprintf(&b, `<text x="%g" y="%g" font-size="11" text-anchor="end">%s</text>`, labelW-6, y+14, html.EscapeString(label))
		if r.Score == nil {
			fmt.Fprintf(&b, `<text x="%g" y="%g" font-size="10" fill="#888">not tested · %s</text>`, labelW+4, y+14, html.EscapeString(r.Note))
			continue
		}
		w := barW * math.Max(0, math.Min(100, *r.Score)) / 100
		fmt.Fprintf(&b, `<rect x="%g" y="%g" width="%.1f" height="14" fill="%s"/><text x="%.1f" y="%g" font-size="10">%s · %s</text>`,
			labelW, y+3, w, scoreColor(*r.Score), labelW+w+4, y+14, scoreText(r.Score), html.EscapeString(r.Note))
	}
	b.WriteString(`</svg>`)
	return template.HTML(b.String())
}

// statusBar draws the techniques by status as one stacked bar.
func statusBar(lines []statusLine, total int) template.HTML {
	if total == 0 {
		return ""
	}
	var b strings.Builder
	b.WriteString(`<svg class="chart" role="img" viewBox="0 0 600 24" width="100%" xmlns="http://www.w3.org/2000/svg">`)
	x := 0.0
	for _, l := range lines {
		w := 600 * float64(l.Count) / float64(total)
		if w > 0 {
			fmt.Fprintf(&b, `<rect x="%.2f" y="0" width="%.2f" height="24" fill="%s"><title>%s: %d</title></rect>`, x, w, l.Color, l.Words, l.Count)
		}
		x += w
	}
	b.WriteString(`</svg>`)
	return template.HTML(b.String())
}

// trendChart draws the organisation score at each snapshot as a line.
func trendChart(points []sdk.TrendPoint) template.HTML {
	var scored []sdk.TrendPoint
	for _, p := range points {
		if p.Score != nil {
			scored = append(scored, p)
		}
	}
	if len(scored) < 2 {
		return template.HTML(`<p class="muted">A trend needs two scored snapshots; ` + strconv.Itoa(len(scored)) + ` so far.</p>`)
	}
	const w, h, left, bottom = 600.0, 200.0, 36.0, 24.0
	pw, ph := w-left-10, h-bottom-10
	var b strings.Builder
	fmt.Fprintf(&b, `<svg class="chart" role="img" viewBox="0 0 %g %g" width="100%%" xmlns="http://www.w3.org/2000/svg">`, w, h)
	for _, y := range []float64{0, 25, 50, 75, 100} {
		py := 10 + ph*(1-y/100)
		fmt.Fprintf(&b, `<line x1="%g" y1="%.1f" x2="%g" y2="%.1f" stroke="#ddd" stroke-width="0.5"/><text x="%g" y="%.1f" font-size="9" text-anchor="end" fill="#666">%g</text>`,
			left, py, w-10, py, left-4, py+3, y)
	}
	var pts []string
	for i, p := range scored {
		x := left + pw*float64(i)/float64(len(scored)-1)
		y := 10 + ph*(1-math.Max(0, math.Min(100, *p.Score))/100)
		pts = append(pts, fmt.Sprintf("%.1f,%.1f", x, y))
		fmt.Fprintf(&b, `<circle cx="%.1f" cy="%.1f" r="3" fill="#2c7fb8"><title>%s: %s</title></circle>`, x, y, html.EscapeString(p.Name), scoreText(p.Score))
	}
	fmt.Fprintf(&b, `<polyline points="%s" fill="none" stroke="#2c7fb8" stroke-width="2"/>`, strings.Join(pts, " "))
	fmt.Fprintf(&b, `<text x="%g" y="%g" font-size="10">%s</text><text x="%g" y="%g" font-size="10" text-anchor="end">%s</text>`,
		left, h-6, dateText(scored[0].TakenAt), w-10, h-6, dateText(scored[len(scored)-1].TakenAt))
	b.WriteString(`</svg>`)
	return template.HTML(b.String())
}
