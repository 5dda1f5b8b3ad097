package outbox

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"
)

// TestPing: a running broker answers; a closed port, after a live one
// fails, does not, and the error names the address; no brokers is a
// configuration error.
func TestPing(t *testing.T) {
	c := newCluster(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	closed := fmt.Sprintf("127.0.0.1:%d", freePort(t))
	if err := Ping(ctx, Config{Brokers: append([]string{closed}, c.ListenAddrs()...)}); err != nil {
		t.Fatalf("a closed port, then a running broker: %v", err)
	}
	start := time.Now()
	err := Ping(ctx, Config{Brokers: []string{closed}})
	if err == nil || !strings.Contains(err.Error(), closed) || time.Since(start) > 5*time.Second {
		t.Fatalf("a closed port: %v after %s; want an error naming %s at once", err, time.Since(start), closed)
	}
	if err := Ping(ctx, Config{}); !errors.Is(err, ErrConfig) {
		t.Fatalf("no brokers: %v", err)
	}
}
