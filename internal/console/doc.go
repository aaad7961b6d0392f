// Package console serves Ward's web console under /console/ on the
// server's own listener: the access graph, an explorer of every object,
// the live sign-in log with "what would have matched" and a fix button,
// the activity log, and "can X do Y?".
//
// Sign-in is passwordless: `ward console` (signed in as a principal) asks
// POST /console/api/links (with a bearer token only: a session cannot make
// links) for a one-time link valid for two minutes; the browser that opens
// it gets a session cookie (__Host-, HttpOnly, Secure, SameSite=Strict) that
// acts as that principal. The session ends with the token that made the
// link, after idle and absolute timeouts, at sign-out, and at once when its
// principal or the credential the token names is removed (read from the
// store on every request, so every replica agrees). Each principal holds a
// bounded number of links and sessions and evicts only its own; a full
// table refuses rather than evicts (docs/console-sessions.md). Writes need
// the session's CSRF token in the X-Ward-CSRF header and a same-origin
// Origin. The JSON API also accepts a management bearer token, so scripts
// and tests can call it directly.
//
// Every view is filtered and every action authorized with the RBAC engine
// and the directory policy, exactly as the management and directory APIs
// authorize the same principal: the console never shows or changes what
// the API would not. A role assignment is shown where the caller could list
// it through ARM, and a principal's name only when the caller may read the
// principal (directory policy, or the identity's read action). Secrets are
// never shown, only names.
//
// The pages are server-sent static files (HTML, CSS, a small script)
// embedded in the binary; nothing is fetched from elsewhere.
package console
