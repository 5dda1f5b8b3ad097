package jobs

import (
	"context"
	"errors"
	"log/slog"
	"sync/atomic"
	"testing"
	"time"
)

// TestEveryAndDrain: Every runs at once and then each interval until the
// context ends (nil then); a failing pass ends it with the error; Drain
// stops when a pass reports no more work or fails.
func TestEveryAndDrain(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	var n atomic.Int32
	done := make(chan error)
	go func() {
		done <- Every(ctx, 10*time.Millisecond, func(context.Context) error { n.Add(1); return nil })
	}()
	time.Sleep(55 * time.Millisecond)
	cancel()
	if err := <-done; err != nil || n.Load() < 3 {
		t.Fatalf("Every: %v after %d passes", err, n.Load())
	}
	boom := errors.New("boom")
	if err := Every(context.Background(), time.Hour, func(context.Context) error { return boom }); !errors.Is(err, boom) {
		t.Fatalf("a failing pass: %v", err)
	}
	left := 3
	if err := Drain(context.Background(), time.Second, func(context.Context) (bool, error) { left--; return left > 0, nil }); err != nil || left != 0 {
		t.Fatalf("Drain: %v, %d left", err, left)
	}
	if err := Drain(context.Background(), time.Second, func(context.Context) (bool, error) { return true, boom }); !errors.Is(err, boom) {
		t.Fatalf("Drain of a failing pass: %v", err)
	}
}

// TestRunRestartsFailedJobs: a job that fails runs again; Run returns once
// the context ends and every job has returned.
func TestRunRestartsFailedJobs(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	var runs atomic.Int32
	done := make(chan struct{})
	go func() {
		Run(ctx, []Job{{Name: "flaky", Run: func(ctx context.Context) error {
			if runs.Add(1) == 1 {
				return errors.New("first run fails")
			}
			<-ctx.Done()
			return nil
		}}}, slog.New(slog.DiscardHandler))
		close(done)
	}()
	deadline := time.Now().Add(RestartPause + 3*time.Second)
	for runs.Load() < 2 && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	cancel()
	<-done
	if runs.Load() != 2 {
		t.Fatalf("%d runs, want a restart after the failure", runs.Load())
	}
}
