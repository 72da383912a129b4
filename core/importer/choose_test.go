package importer

import (
	"testing"

	"github.com/aegis-sec/aegis/core/pluginhost"
	"github.com/aegis-sec/aegis/sdk"
)

func TestChooseImporterOnAnExporterOnlyPlugin(t *testing.T) {
	d := &sdk.Description{Name: "navigator", Components: []sdk.Component{{Kind: sdk.ComponentExporter, Type: "layer"}}}
	_, err := pluginhost.ChooseComponent(d, sdk.ComponentImporter, "")
	want := "plugin navigator has no importer: it only exports (exporters: layer); use `aegis export navigator --out FILE`"
	if err == nil || err.Error() != want {
		t.Errorf("err = %v, want %q", err, want)
	}
	d.Components = append(d.Components, sdk.Component{Kind: sdk.ComponentImporter, Type: "csv"})
	if typ, err := pluginhost.ChooseComponent(d, sdk.ComponentImporter, ""); err != nil || typ != "csv" {
		t.Errorf("with an importer: %q, %v", typ, err)
	}
}
