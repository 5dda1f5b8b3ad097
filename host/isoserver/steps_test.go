package isoserver

import (
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

func TestStepMetrics(t *testing.T) {
	reg := prometheus.NewRegistry()
	m, err := NewStepMetrics(reg)
	if err != nil {
		t.Fatal(err)
	}
	m.StepDone("status", 3*time.Microsecond)
	m.StepDone("status", 5*time.Microsecond)
	m.StepDone("verify", time.Millisecond)
	ts := &testServer{reg: reg}
	if got := ts.metric(t, "cardhost_host_step_duration_seconds", "step", "status"); got != 2 {
		t.Errorf("status observations = %v, want 2", got)
	}
	if got := ts.metric(t, "cardhost_host_step_duration_seconds", "step", "verify"); got != 1 {
		t.Errorf("verify observations = %v, want 1", got)
	}
	if _, err := NewStepMetrics(reg); err == nil {
		t.Error("registered twice on one registry")
	}
	if _, err := NewStepMetrics(nil); err != nil {
		t.Errorf("NewStepMetrics(nil) = %v", err)
	}
}
