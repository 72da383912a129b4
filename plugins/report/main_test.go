package main

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ledongthuc/pdf"

	"github.com/aegis-sec/aegis/sdk"
	"github.com/aegis-sec/aegis/sdk/sdktest"
)

func f(v float64) *float64 { return &v }

func scope(t *testing.T, kind string) json.RawMessage {
	t.Helper()
	sc := sdk.Scope{Kind: kind, Title: "Organisation coverage", Domain: "enterprise-attack", AttackVersion: "18.1",
		BaseURL: "https://aegis.example.test", GeneratedAt: time.Date(2026, 7, 1, 9, 0, 0, 0, time.UTC),
		Summary: &sdk.ScopeSummary{Score: f(47.5), Techniques: 3, Tested: 2, FormulaVersion: 1,
			Statuses: map[string]int{"covered": 1, "not_covered": 1, "not_tested": 1},
			Counts:   map[string]int{"tests": 6, "validated": 5, "prevented": 1, "alerted": 3, "logged": 2, "none": 1},
			Tactics: []sdk.TacticScore{{ID: "TA0002", Shortname: "execution", Name: "Execution", Score: f(61.2), Techniques: 2, Tested: 2},
				{ID: "TA0006", Shortname: "credential-access", Name: "Credential Access", Techniques: 1}},
			Actors: []sdk.ActorScore{{ID: "G0016", Name: "APT29 <Cozy Bear>", Score: f(33.3), Techniques: 3, Tested: 1}},
			Trend: []sdk.TrendPoint{{Name: "Week 25", TakenAt: time.Date(2026, 6, 21, 0, 0, 0, 0, time.UTC), Score: f(30)},
				{Name: "Week 26", TakenAt: time.Date(2026, 6, 28, 0, 0, 0, 0, time.UTC), Score: f(47.5)}}}}
	if kind == "diff" {
		sc.Base, sc.ID = "s1", "s2"
		sc.Summary.Diff = &sdk.ScopeDiff{BaseName: "Week 25", Name: "Week 26", BaseScore: f(30), Score: f(47.5), ScoreChange: f(17.5),
			SameFormula: true, Improved: 1, Regressed: 1}
	}
	b, _ := json.Marshal(sc)
	return b
}

func records() []sdk.Record {
	last := time.Date(2026, 6, 30, 0, 0, 0, 0, time.UTC)
	return []sdk.Record{
		&sdk.TechniqueCoverage{TechniqueID: "T1003", Name: "OS Credential Dumping", Tactics: []string{"credential-access"},
			Status: sdk.CoverageNotTested, Templates: 7},
		&sdk.TechniqueCoverage{TechniqueID: "T1059", Name: "=cmd|' /C calc'!A0", Tactics: []string{"execution"}, Platforms: []string{"Windows", "Linux"},
			Status: sdk.CoverageCovered, Score: f(80.123), Counts: sdk.TestCounts{Tests: 4, Validated: 4, Prevented: 1, Alerted: 3, Logged: 2},
			LastValidated: &last, URL: "https://aegis.example.test/techniques/x",
			Change: &sdk.CoverageChange{Direction: sdk.ChangeImproved, BeforeStatus: sdk.CoveragePartial, BeforeScore: f(40)}},
		&sdk.TechniqueCoverage{TechniqueID: "T1566", Name: "Phishing", Tactics: []string{"execution"}, Status: sdk.CoverageNotCovered,
			Score: f(12), Counts: sdk.TestCounts{Tests: 2, Validated: 1, None: 1},
			Change: &sdk.CoverageChange{Direction: sdk.ChangeRegressed, BeforeStatus: sdk.CoverageCovered, BeforeScore: f(70)}},
	}
}

func TestConformance(t *testing.T) {
	sdktest.Conformance(t, serveOpts())
}

// The CSV has a row per technique with every figure the record carries, in full
// precision, and no cell a spreadsheet would run as a formula.
func TestCoverageCSV(t *testing.T) {
	res := sdktest.RunExport(t, CSV{}, sdk.ExportRequest{Type: "csv", Scope: scope(t, "diff")}, records())
	if res.Err != nil {
		t.Fatal(res.Err)
	}
	a, ok := res.Artifact("coverage-diff-s1-s2.csv")
	if !ok || a.MediaType != "text/csv" {
		t.Fatalf("artifacts %+v", res.Artifacts)
	}
	rows, err := csv.NewReader(bytes.NewReader(a.Data)).ReadAll()
	if err != nil || len(rows) != 4 {
		t.Fatalf("%v\n%s", err, a.Data)
	}
	col := map[string]int{}
	for i, h := range rows[0] {
		col[h] = i
	}
	r := rows[2]
	for k, want := range map[string]string{"technique_id": "T1059", "name": "'=cmd|' /C calc'!A0", "status": "covered", "score": "80.123",
		"tests": "4", "validated": "4", "prevented": "1", "alerted": "3", "logged": "2", "none": "0", "last_validated": "2026-06-30T00:00:00Z",
		"change": "improved", "before_status": "partial", "before_score": "40", "tactics": "execution", "platforms": "Windows;Linux"} {
		if r[col[k]] != want {
			t.Errorf("%s = %q, want %q", k, r[col[k]], want)
		}
	}
	if rows[1][col["score"]] != "" || rows[1][col["templates"]] != "7" || rows[1][col["last_validated"]] != "" {
		t.Errorf("untested row %v", rows[1])
	}
	bad := sdktest.RunExport(t, CSV{}, sdk.ExportRequest{Type: "csv", Scope: json.RawMessage(`{"kind":"rules"}`)}, nil)
	if bad.Err == nil || !strings.Contains(bad.Err.Error(), "needs a coverage scope") {
		t.Errorf("rules scope: %v", bad.Err)
	}
}

func renderHTML(t *testing.T, kind, cfg string) []byte {
	t.Helper()
	res := sdktest.RunExport(t, HTML{}, sdk.ExportRequest{Type: "html", Scope: scope(t, kind), Config: json.RawMessage(cfg)}, records())
	if res.Err != nil {
		t.Fatal(res.Err)
	}
	if len(res.Artifacts) != 1 || res.Artifacts[0].MediaType != "text/html" {
		t.Fatalf("artifacts %+v", res.Artifacts)
	}
	return res.Artifacts[0].Data
}

// The report is one self-contained page: every section, inline SVG charts, print CSS,
// nothing loaded from elsewhere, and text from the data escaped.
func TestHTMLReport(t *testing.T) {
	doc := string(renderHTML(t, "diff", `{"organisation":"ACME Corp","appendix":true}`))
	for _, want := range []string{"<h2>Summary</h2>", "<h2>Scores by tactic</h2>", "<h2>Top gaps</h2>", "<h2>Threat actor coverage</h2>",
		"<h2>Trend</h2>", "<h2>What changed</h2>", "Appendix", "ACME Corp", "@page", "@media print", "<svg", "<polyline",
		"47.5", "APT29 &lt;Cozy Bear&gt;", "Week 25", "score 30.0 → 47.5 (&#43;17.5)", "break-before: page"} {
		if !strings.Contains(doc, want) {
			t.Errorf("report lacks %q", want)
		}
	}
	for _, banned := range []string{"<script", "<link", "src=\"http", "url(http", "<Cozy"} {
		if strings.Contains(doc, banned) {
			t.Errorf("report holds %q", banned)
		}
	}
	// Gaps: the failed validation comes before the untested technique; the covered one is no gap.
	gaps := doc[strings.Index(doc, "<h2>Top gaps</h2>"):strings.Index(doc, "<h2>Threat actor coverage</h2>")]
	if i, j := strings.Index(gaps, "T1566"), strings.Index(gaps, "T1003"); i < 0 || j < 0 || i > j || strings.Contains(gaps, "T1059") {
		t.Errorf("gaps in the wrong order or with a covered technique:\n%s", gaps)
	}
	if bad := sdktest.RunExport(t, HTML{}, sdk.ExportRequest{Type: "html", Scope: scope(t, "organisation"), Config: json.RawMessage(`{"top_gaps":-1}`)}, nil); bad.Err == nil {
		t.Error("a negative top_gaps was accepted")
	}
}

// The report prints to PDF in Chromium: three A4 pages (summary and tactics; gaps and
// actors; trend), each with its sections' text.
func TestHTMLReportPrintsToPDF(t *testing.T) {
	chromium := "/usr/bin/chromium"
	if _, err := os.Stat(chromium); err != nil {
		t.Skip("chromium is not installed at /usr/bin/chromium: the PDF rendering is not checked")
	}
	dir := t.TempDir()
	page := filepath.Join(dir, "report.html")
	if err := os.WriteFile(page, renderHTML(t, "organisation", `{"organisation":"ACME Corp"}`), 0o644); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "report.pdf")
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, chromium, "--headless", "--no-sandbox", "--disable-gpu", "--no-pdf-header-footer",
		"--user-data-dir="+filepath.Join(dir, "profile"), "--print-to-pdf="+out, "file://"+page)
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("chromium: %v\n%s", err, b)
	}
	fh, r, err := pdf.Open(out)
	if err != nil {
		t.Fatal(err)
	}
	defer fh.Close()
	if r.NumPage() != 3 {
		t.Fatalf("the PDF has %d pages, want 3", r.NumPage())
	}
	pages := map[int][]string{1: {"Organisation coverage", "ACME Corp", "Summary", "47.5", "Scores by tactic", "Execution"},
		2: {"Top gaps", "T1566", "Phishing", "Threat actor coverage", "APT29"}, 3: {"Trend", "Week 26"}}
	for n, wants := range pages {
		text, err := r.Page(n).GetPlainText(nil)
		if err != nil {
			t.Fatalf("page %d: %v", n, err)
		}
		squashed := strings.Join(strings.Fields(text), " ")
		for _, w := range wants {
			if !strings.Contains(text, w) && !strings.Contains(squashed, w) {
				t.Errorf("page %d lacks %q:\n%s", n, w, text)
			}
		}
	}
}
