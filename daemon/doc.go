// Package daemon is the running hotline without its web face: it owns the store, the lines and
// the switchboard, starts and stops them together, and offers the operations the web admin and
// the command line use. It knows no HTTP.
package daemon
