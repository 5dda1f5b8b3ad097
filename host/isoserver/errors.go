package isoserver

import "errors"

// ErrServerClosed is returned by Serve and ListenAndServe after Shutdown.
var ErrServerClosed = errors.New("isoserver: server closed")

// Configuration errors returned by New.
var (
	// ErrFingerprintKey: Config.FingerprintKey is missing or too short.
	ErrFingerprintKey = errors.New("isoserver: fingerprint key must be at least 32 bytes")
	// ErrConfig: a Config value is out of range.
	ErrConfig = errors.New("isoserver: invalid configuration")
	// ErrNoEngine: New was given a nil Engine.
	ErrNoEngine = errors.New("isoserver: engine is required")
)
