// Loads one ATT&CK STIX 2.1 bundle file with MITRE's TypeScript ATT&CK data-model
// library (@mitre-attack/attack-data-model), through its documented loader: a data
// source registered from the file, then the data model loaded. It prints one line
// of JSON: the wall time of the load (seconds), the process's peak RSS (KiB, from
// process.resourceUsage().maxRSS), and how many of each kind the model holds, so a
// caller can see that the load read the bundle.
//
//   node load.mjs FILE [strict|relaxed]
//
// The library logs its progress with console.log and its validation errors with
// console.warn; they are counted, not printed, so stdout is the JSON line only.
import { performance } from 'node:perf_hooks';
import { registerDataSource, loadDataModel, DataSourceRegistration } from '@mitre-attack/attack-data-model';

const [file, mode = 'relaxed'] = process.argv.slice(2);
if (!file) {
  console.error('usage: node load.mjs FILE [strict|relaxed]');
  process.exit(2);
}
let logs = 0;
let warnings = 0;
const log = console.log;
console.log = () => { logs++; };
console.warn = () => { warnings++; };

const t0 = performance.now();
const registration = new DataSourceRegistration({ source: 'file', path: file, parsingMode: mode });
const id = await registerDataSource(registration);
const model = loadDataModel(id);
const wall = (performance.now() - t0) / 1000;

console.log = log;
process.stdout.write(JSON.stringify({
  wall_s: wall,
  max_rss_kib: process.resourceUsage().maxRSS,
  parsing_mode: mode,
  techniques: model.techniques.length,
  tactics: model.tactics.length,
  mitigations: model.mitigations.length,
  relationships: model.relationships.length,
  validation_warnings: warnings,
}) + '\n');
