package events

import (
	"errors"
	"strings"
	"testing"
)

func readAll(t *testing.T, name, data string, opts Options) ([]*Event, error) {
	t.Helper()
	var out []*Event
	err := Read(name, []byte(data), opts, func(e *Event) error { out = append(out, e); return nil })
	return out, err
}

func TestNDJSONAndArrays(t *testing.T) {
	nd := `{"id": "a", "process": {"executable": "C:\\x.exe", "pid": 42}, "tags": ["t1", "t2"], "gone": null}
{"id": "b", "ok": true}

{"Image": "y"}
`
	evs, err := readAll(t, "e.ndjson", nd, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if len(evs) != 3 || evs[0].ID != "a" || evs[1].ID != "b" || evs[2].ID != "#3" {
		t.Fatalf("%d events, ids %v", len(evs), evs)
	}
	if f, _ := evs[0].Get("process.executable"); f == nil || f.Value != `C:\x.exe` || f.Lower != `c:\x.exe` {
		t.Fatalf("nested field %+v", f)
	}
	if f, _ := evs[0].Get("PROCESS.PID"); f == nil || f.Value != "42" {
		t.Fatalf("number / case-insensitive name %+v", f)
	}
	if f, _ := evs[0].Get("tags"); f == nil || f.Value != "t1\nt2" {
		t.Fatalf("list %+v", f)
	}
	if _, ok := evs[0].Get("gone"); ok {
		t.Fatal("a JSON null must be an absent field")
	}
	if f, _ := evs[1].Get("ok"); f.Value != "true" {
		t.Fatalf("bool %+v", f)
	}
	arr, err := readAll(t, "e.json", `[{"a": 1}, {"a": 2}]`, Options{})
	if err != nil || len(arr) != 2 {
		t.Fatalf("array: %v %d", err, len(arr))
	}
}

func TestBadInputNamesFileAndLine(t *testing.T) {
	cases := map[string]string{
		"{\"a\": 1}\n{\"a\": 2}\n{\"a\": \n":   "e.json:3",
		"{\"a\": 1}\n[1, 2]\n":                 "e.json:2: an event must be a JSON object",
		"[{\"a\": 1},\n {\"a\": 2}\n":          "e.json:2",
		"[{\"a\": 1}] {\"b\": 2}":              "data after the array",
		"{\"a\": 1}\n\"text\"\n":               "e.json:2: an event must be a JSON object, not a string",
		"{\"a\": 1}\n{\"a\": 2}\n{\"a\": 3}\n": "too many events",
	}
	for in, want := range cases {
		_, err := readAll(t, "e.json", in, Options{MaxEvents: 2})
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: error %v, want it to contain %q", in, err, want)
		}
	}
	_, err := readAll(t, "e.json", "{\"a\": 1}\n{\"a\": 2}\n{\"a\": 3}\n", Options{MaxEvents: 2})
	if !errors.Is(err, ErrTooMany) {
		t.Errorf("want ErrTooMany, got %v", err)
	}
}

const sysmonJSON = `{"Event": {"#attributes": {"xmlns": "x"},
 "System": {"Provider": {"#attributes": {"Name": "Microsoft-Windows-Sysmon", "Guid": "G"}}, "EventID": 1,
   "EventRecordID": 77, "Channel": "Microsoft-Windows-Sysmon/Operational", "Correlation": null,
   "TimeCreated": {"#attributes": {"SystemTime": "2025-01-01T00:00:00.000000Z"}}},
 "EventData": {"Image": "C:\\Windows\\System32\\cmd.exe", "ProcessId": 10}}}`

func TestWindowsEventsAndLogSource(t *testing.T) {
	evs, err := readAll(t, "s.json", sysmonJSON, Options{})
	if err != nil || len(evs) != 1 {
		t.Fatal(err)
	}
	e := evs[0]
	if e.ID != "77" {
		t.Fatalf("id %q", e.ID)
	}
	for name, want := range map[string]string{"Provider_Name": "Microsoft-Windows-Sysmon", "EventID": "1", "Image": `C:\Windows\System32\cmd.exe`,
		"ProcessId": "10", "TimeCreated_SystemTime": "2025-01-01T00:00:00.000000Z"} {
		if f, ok := e.Get(name); !ok || f.Value != want {
			t.Errorf("%s = %+v, want %q", name, f, want)
		}
	}
	if e.LogSource != (LogSource{Product: "windows", Category: "process_creation", Service: "sysmon", Inferred: true}) {
		t.Fatalf("log source %+v", e.LogSource)
	}
	sec := `{"Event": {"System": {"Channel": "Security", "EventID": 4688}, "EventData": {"NewProcessName": "C:\\a.exe", "ParentProcessName": "C:\\p.exe"}}}`
	evs, _ = readAll(t, "sec.json", sec, Options{})
	if evs[0].LogSource.Category != "process_creation" || evs[0].LogSource.Service != "security" {
		t.Fatalf("4688: %+v", evs[0].LogSource)
	}
	if f, _ := evs[0].Get("Image"); f == nil || f.Value != `C:\a.exe` {
		t.Fatalf("4688 has Image from NewProcessName: %+v", f)
	}
	// A forced log source wins over inference.
	evs, _ = readAll(t, "s.json", sysmonJSON, Options{LogSource: LogSource{Product: "linux"}})
	if evs[0].LogSource.Product != "linux" {
		t.Fatal(evs[0].LogSource)
	}
}

func TestFieldMapping(t *testing.T) {
	m, err := ParseMapping([]byte("ecs"))
	if err != nil {
		t.Fatal(err)
	}
	evs, err := readAll(t, "ecs.json", `{"process": {"executable": "C:\\x.exe", "command_line": "x -a"}, "winlog": {"channel": "Microsoft-Windows-Sysmon/Operational", "event_id": 1}}`, Options{Mapping: m})
	if err != nil {
		t.Fatal(err)
	}
	e := evs[0]
	if f, _ := e.Get("Image"); f == nil || f.Value != `C:\x.exe` {
		t.Fatalf("mapped Image %+v", f)
	}
	if f, _ := e.Get("process.executable"); f == nil {
		t.Fatal("the source field is kept")
	}
	if e.LogSource.Category != "process_creation" {
		t.Fatalf("ECS log source %+v", e.LogSource)
	}
	custom, err := ParseMapping([]byte(`{"exe": "Image"}`))
	if err != nil || custom["exe"] != "Image" {
		t.Fatal(err)
	}
	for _, bad := range []string{`{"a": ""}`, `[1]`, `nonsense`} {
		if _, err := ParseMapping([]byte(bad)); err == nil {
			t.Errorf("%s: want an error", bad)
		}
	}
}

func TestEventSetDelete(t *testing.T) {
	e := New("x", 0)
	e.Set("A", "1")
	e.Set("B", "2")
	e.Set("a", "3")
	e.Delete("A")
	if _, ok := e.Get("a"); ok || len(e.Fields()) != 1 {
		t.Fatalf("%+v", e.Fields())
	}
	if f, _ := e.Get("b"); f == nil || f.Value != "2" {
		t.Fatal("b lost after delete")
	}
}

// FuzzReadJSON: event files come from outside; the reader answers every input with
// events or an error.
func FuzzReadJSON(f *testing.F) {
	f.Add([]byte(sysmonJSON))
	f.Add([]byte("{\"a\": [1, {\"b\": null}]}\n{\"c\": true}"))
	f.Add([]byte("[{\"Event\": {\"System\": {}, \"UserData\": {\"X\": {\"y\": 1}}}}]"))
	f.Fuzz(func(t *testing.T, data []byte) {
		_ = Read("fuzz.json", data, Options{Format: FormatJSON}, func(e *Event) error {
			if e.ID == "" {
				t.Fatal("event without an id")
			}
			return nil
		})
	})
}
