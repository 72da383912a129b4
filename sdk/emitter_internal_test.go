package sdk

import (
	"context"
	"fmt"
	"reflect"
	"strings"
	"testing"

	pb "github.com/aegis-sec/aegis/sdk/internal/pb/pluginv1"
)

// emitted runs fn on an emitter for a host that takes maxBatch records per message
// and returns the messages sent, each as "r:ID" (one record), "b:ID,ID" (a batch),
// "d:summary" or "p:message".
func emitted(t *testing.T, maxBatch int, fn func(e *Emitter)) []string {
	t.Helper()
	var got []string
	e := newEmitter(context.Background(), func(ev *pb.ImportEvent) error {
		switch x := ev.GetEvent().(type) {
		case *pb.ImportEvent_Record:
			got = append(got, "r:"+x.Record.GetExternalId())
		case *pb.ImportEvent_Records:
			var ids []string
			for _, r := range x.Records.GetRecords() {
				ids = append(ids, r.GetExternalId())
			}
			got = append(got, "b:"+strings.Join(ids, ","))
		case *pb.ImportEvent_Diagnostic:
			got = append(got, "d:"+x.Diagnostic.GetSummary())
		case *pb.ImportEvent_Progress:
			got = append(got, "p:"+x.Progress.GetMessage())
		}
		return nil
	}, func(string, ...any) {}, maxBatch)
	fn(e)
	if err := e.flush(); err != nil {
		t.Fatal(err)
	}
	return got
}

func technique(n int) *Technique {
	return &Technique{ExternalID: fmt.Sprintf("T%04d", 1000+n), Name: "t"}
}

// A host of protocol minor 0 (max_batch 0) gets one record per message, as before;
// one that asks for batches gets them full, in order, each diagnostic or progress
// after the records made before it, and the rest when the importer returns.
func TestEmitterBatchesOnlyForAHostThatAsks(t *testing.T) {
	run := func(e *Emitter) {
		for i := range 5 {
			if err := e.Record(technique(i)); err != nil {
				t.Fatal(err)
			}
			if i == 3 {
				e.Warn("f", 1, "", "after 4", "")
			}
		}
		e.Progress(5, 5, "end")
		if err := e.Record(technique(5)); err != nil {
			t.Fatal(err)
		}
	}
	for _, c := range []struct {
		max  int
		want []string
	}{
		{0, []string{"r:T1000", "r:T1001", "r:T1002", "r:T1003", "d:after 4", "r:T1004", "p:end", "r:T1005"}},
		{1, []string{"r:T1000", "r:T1001", "r:T1002", "r:T1003", "d:after 4", "r:T1004", "p:end", "r:T1005"}},
		{3, []string{"b:T1000,T1001,T1002", "b:T1003", "d:after 4", "b:T1004", "p:end", "b:T1005"}},
		{256, []string{"b:T1000,T1001,T1002,T1003", "d:after 4", "b:T1004", "p:end", "b:T1005"}},
	} {
		if got := emitted(t, c.max, run); !reflect.DeepEqual(got, c.want) {
			t.Errorf("max_batch %d: sent %v, want %v", c.max, got, c.want)
		}
	}
	// A batch holds at most batchBytes of JSON.
	big := strings.Repeat("x", batchBytes/2)
	got := emitted(t, 256, func(e *Emitter) {
		for i := range 3 {
			tech := technique(i)
			tech.Description = big
			if err := e.Record(tech); err != nil {
				t.Fatal(err)
			}
		}
	})
	if want := []string{"b:T1000,T1001", "b:T1002"}; !reflect.DeepEqual(got, want) {
		t.Errorf("large records: sent %v, want %v", got, want)
	}
}
