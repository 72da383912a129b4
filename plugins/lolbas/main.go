// Command aegis-plugin-lolbas imports the two "living off the land"
// catalogs as test templates:
//
//   - LOLBAS (yml/<Category>/<Name>.yml): one template per command, keyed
//     "lolbas:<Name>:<n>" (LOLBAS commands have no id of their own), with the
//     entry's paths, detection links and resources.
//   - GTFOBins (_gtfobins/<binary> front matter, _data/functions.yml): one
//     template per binary, function and example, keyed
//     "gtfobins:<binary>:<function>:<n>", with its contexts (unprivileged,
//     sudo, suid, capabilities) and the function's ATT&CK techniques.
//     Alias files (alias: <target>) carry no examples: they are not emitted
//     as copies; each alias name is listed in the metadata ("aliases") of
//     its target's templates, chains such as rview → view → vim included.
//
// One importer reads both: the source's layout decides what is read, so one
// binary serves a LOLBAS plugin block and a GTFOBins plugin block.
package main

import "github.com/aegis-sec/aegis/sdk"

// version is the plugin's own semantic version; release builds may set it
// with -ldflags "-X main.version=1.2.3".
var version = "1.0.0"

func main() {
	sdk.Serve(sdk.ServeOpts{
		Name:      "lolbas",
		Version:   version,
		Importers: map[string]sdk.Importer{"lolbas": &importer{}},
	})
}
