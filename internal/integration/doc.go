// Package integration holds end-to-end tests of the first-party plugins over the real
// upstream data sets (AEGIS_UPSTREAM_DIR, default ../shared/upstream): each plugin is
// built and run as a real process through the plugin host and the import pipeline, and
// what lands in the store is compared with counts computed independently from the raw
// files. Tests skip with a message when the data is absent.
package integration
