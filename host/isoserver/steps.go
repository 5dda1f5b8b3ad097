package isoserver

import (
	"fmt"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/cardhost/cardhost/host"
)

// StepMetrics records how long each step of the host's decision pipeline
// takes, as the histogram cardhost_host_step_duration_seconds{step}, and
// counts the decisions by reason, cardhost_host_decisions_total{reason}. It
// is the host.StepHook (and host.DecisionHook) that cmd/cardhost gives
// host.New: the domain reports through the hook, the adapter owns
// Prometheus. Safe for concurrent use.
type StepMetrics struct {
	h         *prometheus.HistogramVec
	decisions *prometheus.CounterVec
	// steps caches each step's histogram (step name → prometheus.Observer):
	// StepDone runs for every step of every request.
	steps sync.Map
}

var (
	_ host.StepHook     = (*StepMetrics)(nil)
	_ host.DecisionHook = (*StepMetrics)(nil)
)

// NewStepMetrics returns a StepMetrics registered on reg (nil registers
// nothing). It fails when the histogram is already registered on reg.
func NewStepMetrics(reg prometheus.Registerer) (*StepMetrics, error) {
	h := prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "cardhost_host_step_duration_seconds",
		Help:    "Time spent in each step of the authorization decision pipeline.",
		Buckets: []float64{.000005, .00001, .000025, .00005, .0001, .00025, .0005, .001, .0025, .005, .01, .025, .05, .1, .25, 1},
	}, []string{"step"})
	decisions := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "cardhost_host_decisions_total",
		Help: "Decisions answered by the authorization host (retransmissions' stored answers excluded), by reason slug (docs/iso8583.md section 8.2).",
	}, []string{"reason"})
	if reg != nil {
		for _, c := range []prometheus.Collector{h, decisions} {
			if err := reg.Register(c); err != nil {
				return nil, fmt.Errorf("registering step metrics: %w", err)
			}
		}
	}
	return &StepMetrics{h: h, decisions: decisions}, nil
}

// Decided counts one decision. Reasons come from the host's fixed table,
// so the label's values are bounded.
func (m *StepMetrics) Decided(reason host.Reason) {
	m.decisions.WithLabelValues(string(reason)).Inc()
}

// StepDone records one run of step. Step names come from the host's fixed
// pipeline, so the label's values are bounded.
func (m *StepMetrics) StepDone(step string, d time.Duration) {
	o, ok := m.steps.Load(step)
	if !ok {
		o, _ = m.steps.LoadOrStore(step, m.h.WithLabelValues(step))
	}
	o.(prometheus.Observer).Observe(d.Seconds())
}
