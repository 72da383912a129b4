package detection_test

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/aegis-sec/aegis/core"
	"github.com/aegis-sec/aegis/core/blobstore"
	"github.com/aegis-sec/aegis/core/detection"
	"github.com/aegis-sec/aegis/core/evidence"
	"github.com/aegis-sec/aegis/core/store"
	"github.com/aegis-sec/aegis/core/store/storetest"
)

var ctx = context.Background()

const ruleCmd = `title: Whoami Via Cmd
id: 11111111-1111-4111-8111-111111111111
tags: [attack.t1059]
logsource: {product: windows, category: process_creation}
detection:
    selection_img:
        Image|endswith: '\cmd.exe'
    selection_cli:
        CommandLine|contains: 'whoami'
    filter:
        User: 'NT AUTHORITY\SYSTEM'
    condition: all of selection_* and not filter
`

const ruleQuiet = `title: Powershell Never Seen
id: 22222222-2222-4222-8222-222222222222
tags: [attack.t1059.001]
logsource: {product: windows, category: process_creation}
detection:
    sel:
        Image|endswith: '\powershell.exe'
    condition: sel
`

const ruleOther = `title: Any Cmd
id: 33333333-3333-4333-8333-333333333333
tags: [attack.t1003]
logsource: {product: windows}
detection:
    sel:
        Image|endswith: '\cmd.exe'
    condition: sel
`

const ruleManual = `title: Has A Manual Verdict
id: 44444444-4444-4444-8444-444444444444
tags: [attack.t1059]
logsource: {product: windows}
detection:
    sel:
        CommandLine|contains: 'whoami'
    condition: sel
`

const ruleCorrelation = `title: Many
id: 55555555-5555-4555-8555-555555555555
tags: [attack.t1059]
correlation: {type: event_count, rules: [x], timespan: 5m, group-by: [User], condition: {gte: 5}}
`

const telemetry = `{"Event": {"System": {"Provider": {"#attributes": {"Name": "Microsoft-Windows-Sysmon"}}, "EventID": 1, "EventRecordID": 101, "Channel": "Microsoft-Windows-Sysmon/Operational"}, "EventData": {"Image": "C:\\Windows\\System32\\cmd.exe", "CommandLine": "cmd /c whoami", "User": "CORP\\bob"}}}
{"Event": {"System": {"Provider": {"#attributes": {"Name": "Microsoft-Windows-Sysmon"}}, "EventID": 1, "EventRecordID": 102, "Channel": "Microsoft-Windows-Sysmon/Operational"}, "EventData": {"Image": "C:\\Windows\\System32\\cmd.exe", "CommandLine": "cmd /c whoami", "User": "NT AUTHORITY\\SYSTEM"}}}
{"Event": {"System": {"Provider": {"#attributes": {"Name": "Microsoft-Windows-Sysmon"}}, "EventID": 1, "EventRecordID": 103, "Channel": "Microsoft-Windows-Sysmon/Operational"}, "EventData": {"Image": "C:\\Windows\\notepad.exe", "CommandLine": "notepad", "User": "CORP\\bob"}}}
`

type fixture struct {
	st    *store.Store
	svc   *detection.Service
	ev    *evidence.Service
	blue  *core.User
	red   *core.User
	test  *core.Test
	rules map[string]string // external id → stored id
}

func setup(t *testing.T, st *store.Store) *fixture {
	t.Helper()
	blobs, err := blobstore.NewDisk(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	f := &fixture{st: st, svc: detection.NewService(st, blobs, nil, detection.ServiceOptions{}),
		ev: evidence.NewService(st, blobs, evidence.Limits{MaxBytes: 1 << 20}, nil), rules: map[string]string{}}
	err = st.Update(ctx, func(tx core.Tx) error {
		f.blue = &core.User{Username: "blue", Role: core.RoleBlueTech, PasswordHash: "x"}
		f.red = &core.User{Username: "red", Role: core.RoleRedTech, PasswordHash: "x"}
		for _, u := range []*core.User{f.blue, f.red} {
			if err := tx.CreateUser(ctx, u); err != nil {
				return err
			}
		}
		te := &core.Technique{ExternalID: "T1059", Name: "Command and Scripting Interpreter", Known: true}
		if err := tx.UpsertTechnique(ctx, te); err != nil {
			return err
		}
		sub := &core.Technique{ExternalID: "T1059.001", Name: "PowerShell", Known: true, ParentID: &te.ID, IsSubtechnique: true}
		if err := tx.UpsertTechnique(ctx, sub); err != nil {
			return err
		}
		for ext, raw := range map[string]string{"cmd": ruleCmd, "quiet": ruleQuiet, "other": ruleOther, "manual": ruleManual, "corr": ruleCorrelation} {
			tech := map[string]string{"cmd": "T1059", "quiet": "T1059.001", "other": "T1003", "manual": "T1059", "corr": "T1059"}[ext]
			r := &core.DetectionRule{Source: "sigma", ExternalID: ext, Format: core.FormatSigma, Title: ext, Raw: raw, Active: true,
				TechniqueIDs: []string{tech}}
			if err := tx.UpsertDetectionRule(ctx, r); err != nil {
				return err
			}
			f.rules[ext] = r.ID
		}
		f.test = &core.Test{Title: "whoami", TechniqueID: te.ID, State: core.StateBlueEvaluating, CreatedBy: &f.red.ID}
		return tx.CreateTest(ctx, f.test)
	})
	if err != nil {
		t.Fatal(err)
	}
	return f
}

func (f *fixture) upload(t *testing.T, name, body string) *core.Evidence {
	t.Helper()
	e, err := f.ev.Upload(ctx, f.blue, evidence.Upload{TestID: f.test.ID, FileName: name, Body: strings.NewReader(body), DeclaredSize: -1})
	if err != nil {
		t.Fatal(err)
	}
	return e
}

func TestEvaluateTestRecordsResults(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		f := setup(t, st)
		// A person already said the "manual" rule did not fire.
		no := false
		if err := st.Update(ctx, func(tx core.Tx) error {
			return tx.PutDetectionResult(ctx, &core.DetectionResult{TestID: f.test.ID, DetectionRuleID: f.rules["manual"],
				Triggered: no, Method: core.DetectionManual, RecordedBy: &f.blue.ID})
		}); err != nil {
			t.Fatal(err)
		}
		ev := f.upload(t, "sysmon.ndjson", telemetry)
		f.upload(t, "screenshot.png", "\x89PNG not telemetry")

		// The red team may not record the blue team's results.
		if _, err := f.svc.EvaluateTest(ctx, f.red, f.test.ID, detection.EvaluateInput{}); core.ErrorCode(err) != core.EFORBIDDEN {
			t.Fatalf("red tech: %v", err)
		}
		rep, err := f.svc.EvaluateTest(ctx, f.blue, f.test.ID, detection.EvaluateInput{})
		if err != nil {
			t.Fatal(err)
		}
		if rep.Events != 3 || rep.RulesEvaluated != 4 || len(rep.Unsupported) != 1 || rep.Unsupported[0].Key != f.rules["corr"] {
			t.Fatalf("report %+v", rep)
		}
		if len(rep.Evidence) != 2 || rep.Evidence[1].Skipped == "" && rep.Evidence[0].Skipped == "" {
			t.Fatalf("the screenshot is skipped: %+v", rep.Evidence)
		}
		if !reflect.DeepEqual(rep.KeptManual, []string{f.rules["manual"]}) || !reflect.DeepEqual(rep.Differing, []string{f.rules["manual"]}) {
			t.Fatalf("manual verdict kept and reported as differing: %+v", rep)
		}
		var stored []*core.DetectionResult
		st.View(ctx, func(tx core.Tx) error {
			stored, err = tx.DetectionResultsOf(ctx, f.test.ID)
			return err
		})
		byRule := map[string]*core.DetectionResult{}
		for _, r := range stored {
			byRule[r.DetectionRuleID] = r
		}
		cmd := byRule[f.rules["cmd"]]
		if cmd == nil || !cmd.Triggered || cmd.Method != core.DetectionEvaluated || cmd.MatchedEvents != 1 ||
			!reflect.DeepEqual([]string(cmd.MatchedEventIDs), []string{"101"}) ||
			!reflect.DeepEqual([]string(cmd.MatchedSearches), []string{"selection_cli", "selection_img"}) || *cmd.EvidenceID != ev.ID {
			t.Fatalf("cmd rule: %+v", cmd)
		}
		other := byRule[f.rules["other"]]
		if other == nil || !other.Triggered || other.MatchedEvents != 2 || !reflect.DeepEqual([]string(other.MatchedEventIDs), []string{"101", "102"}) {
			t.Fatalf("a rule of another technique that fired is recorded: %+v", other)
		}
		quiet := byRule[f.rules["quiet"]]
		if quiet == nil || quiet.Triggered || quiet.Method != core.DetectionEvaluated {
			t.Fatalf("the technique's rule that did not fire is not triggered: %+v", quiet)
		}
		if m := byRule[f.rules["manual"]]; m.Method != core.DetectionManual || m.Triggered {
			t.Fatalf("manual result replaced: %+v", m)
		}
		if byRule[f.rules["corr"]] != nil {
			t.Fatal("an unsupported rule got a verdict")
		}
		if len(stored) != 4 {
			t.Fatalf("%d results", len(stored))
		}

		// Damaged telemetry named explicitly fails with the file and line, and changes nothing.
		bad := f.upload(t, "bad.json", "{\"Event\": 1}\n{not json\n")
		_, err = f.svc.EvaluateTest(ctx, f.blue, f.test.ID, detection.EvaluateInput{EvidenceIDs: []string{bad.ID}})
		if core.ErrorCode(err) != core.EINVALID || !strings.Contains(err.Error(), "bad.json:2") {
			t.Fatalf("bad file: %v", err)
		}
		var after []*core.DetectionResult
		st.View(ctx, func(tx core.Tx) error {
			after, err = tx.DetectionResultsOf(ctx, f.test.ID)
			return err
		})
		if len(after) != len(stored) {
			t.Fatal("a failed evaluation changed the results")
		}
	})
}

// TestEvaluateEVTXEvidence evaluates a real EVTX file from SigmaHQ's regression data
// attached as evidence, against its own rule stored as an imported rule.
func TestEvaluateEVTXEvidence(t *testing.T) {
	root := os.Getenv("AEGIS_UPSTREAM_DIR")
	if root == "" {
		root = "../../../shared/upstream"
	}
	dir := filepath.Join(root, "sigma")
	sample := filepath.Join(dir, "regression_data/rules/windows/process_creation/proc_creation_win_sc_stop_service/81bcb81b-5b1f-474b-b373-52c871aaa7b1.evtx")
	rule := filepath.Join(dir, "rules/windows/process_creation/proc_creation_win_sc_stop_service.yml")
	data, err := os.ReadFile(sample)
	if err != nil {
		t.Skipf("SigmaHQ data not found under %s (set AEGIS_UPSTREAM_DIR)", dir)
	}
	raw, err := os.ReadFile(rule)
	if err != nil {
		t.Fatal(err)
	}
	st := storetest.Open(t, "sqlite")
	f := setup(t, st)
	var id string
	st.Update(ctx, func(tx core.Tx) error {
		r := &core.DetectionRule{Source: "sigmahq", ExternalID: "81bcb81b-5b1f-474b-b373-52c871aaa7b1", Format: core.FormatSigma,
			Title: "Stop Windows Service Via Sc.EXE", Raw: string(raw), Active: true}
		err := tx.UpsertDetectionRule(ctx, r)
		id = r.ID
		return err
	})
	e, err := f.ev.Upload(ctx, f.blue, evidence.Upload{TestID: f.test.ID, FileName: "capture.evtx", Body: bytes.NewReader(data), DeclaredSize: -1})
	if err != nil {
		t.Fatal(err)
	}
	rep, err := f.svc.EvaluateTest(ctx, f.blue, f.test.ID, detection.EvaluateInput{Source: "sigmahq", EvidenceIDs: []string{e.ID}})
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Results) != 1 || rep.Results[0].DetectionRuleID != id || !rep.Results[0].Triggered || rep.Results[0].MatchedEventIDs[0] != "256875" {
		t.Fatalf("%+v", rep.Results)
	}
}
