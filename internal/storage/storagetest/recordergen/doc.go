// Package recordergen writes storagetest's recorder.go, the storage.Storage
// proxy that records which methods the conformance suite calls, from the
// interface by reflection. It is a package of its own so that it still
// builds when recorder.go is out of date with the interface:
//
//	go test ./internal/storage/storagetest/recordergen -update
package recordergen
