package isoserver

import (
	"context"

	"github.com/cardhost/cardhost/host"
)

// Engine decides requests. The host package's decision pipeline implements
// it; tests use a function-field fake.
type Engine interface {
	// Decide returns the host's answer to req. A business decline is a
	// Response with a declining Decision and a nil error. An error means the
	// request could not be decided: the server answers 91 (issuer or
	// switch inoperative) when the error wraps host.ErrUnavailable or
	// context.DeadlineExceeded, else 96 (system malfunction), and logs the
	// error, so it must not hold card data.
	// A Response must hold a known response code; a partial approval (10)
	// must carry an Amount below the requested one.
	//
	// Decide is called from many goroutines at once. ctx carries the
	// Config.DecisionTimeout deadline, by which Decide must return (the
	// answer waits for it), and is canceled when a Shutdown gives up
	// waiting.
	Decide(ctx context.Context, req *host.Request) (*host.Response, error)
}
