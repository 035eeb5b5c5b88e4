// Package web is the box's admin site: the owner claims the box with the one-time setup code,
// logs in, and reads the call log and voicemail from a phone or laptop on the office network.
//
// Everything is served by one [Server] from its own [http.ServeMux]: server-side pages rendered
// from templates embedded in the binary and parsed once at start, a stylesheet and icon under
// /static/, a small JSON API under /api/ for the same session, and the test-call hook that
// `hotline call` uses on boxes with simulated lines. No asset comes from another site and no
// page runs inline script, so a strict Content-Security-Policy holds on every response.
//
// Pages speak Russian by default and English on request (a cookie set by the language switch,
// else the browser's Accept-Language). Every state change is a POST guarded twice: by
// [http.CrossOriginProtection] for the whole handler and, for logged-in forms, by a per-session
// token. Login and setup-code attempts, and wrong current passwords on the password page, are
// rate limited per client address and per account.
//
// A login gets a new session token (the one the browser brought is ended), which lasts
// sessionTTL unused and at most store.MaxSessionAge; logging out ends it and every other
// session of that user. A user changes their own password on /password; that ends every other
// session of theirs and gives this browser a new token. Serve the admin with [HTTPServer], which
// sets the timeouts exported here ([ReadHeaderTimeout] and the others) against slow clients;
// every request body is read through [http.MaxBytesReader]. docs/SECURITY.md lists what the admin promises and the tests that
// hold it to that.
//
// The package reads and changes the hotline only through hotline/daemon and its store.
package web
