package server

import "crypto/tls"

// servingTLS is the TLS configuration of Ward's HTTPS listener.
//
// What a new connection costs is mostly decided here and in pki.Load: the
// chain is the P-256 leaf alone (the client verifies one ECDSA signature for
// the chain and one for the handshake), the key exchange is Go's default
// (hybrid X25519MLKEM768 first, so post-quantum protection is kept for
// clients that offer it), and session tickets stay on (Go's default) so a
// client that keeps a session cache resumes with no certificate at all. The
// ticket keys are random per process and rotate on Go's schedule; a ticket
// from another replica is simply not accepted and the client falls back to a
// full handshake.
func servingTLS(cert tls.Certificate) *tls.Config {
	return &tls.Config{
		Certificates: []tls.Certificate{cert},
		MinVersion:   tls.VersionTLS12,
		NextProtos:   []string{"h2", "http/1.1"},
	}
}
