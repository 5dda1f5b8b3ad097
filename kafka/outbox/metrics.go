package outbox

import (
	"fmt"

	"github.com/prometheus/client_golang/prometheus"
)

// Error operations, the values of the "op" label of
// cardhost_outbox_errors_total.
const (
	opTopic   = "topic"   // making sure the topic exists
	opPending = "pending" // Source.Pending
	opPublish = "publish" // producing to Kafka
	opMark    = "mark"    // Source.MarkSent after an acknowledgement
	opLag     = "lag"     // Source.Lag
	opOrder   = "order"   // a later record of a partition acknowledged after an earlier one failed
)

// metrics are the relay's Prometheus collectors.
type metrics struct {
	published  prometheus.Counter
	errors     *prometheus.CounterVec
	lagEvents  prometheus.Gauge
	lagSeconds prometheus.Gauge
	latency    prometheus.Histogram
}

func newMetrics(reg prometheus.Registerer) (*metrics, error) {
	opts := func(name, help string) prometheus.Opts {
		return prometheus.Opts{Namespace: "cardhost", Subsystem: "outbox", Name: name, Help: help}
	}
	m := &metrics{
		published: prometheus.NewCounter(prometheus.CounterOpts(opts("published_total", "Outbox events acknowledged by Kafka."))),
		errors: prometheus.NewCounterVec(prometheus.CounterOpts(opts("errors_total",
			"Outbox relay failures by operation (topic, pending, publish, mark, lag, order).")), []string{"op"}),
		lagEvents:  prometheus.NewGauge(prometheus.GaugeOpts(opts("lag_events", "Outbox rows not yet published."))),
		lagSeconds: prometheus.NewGauge(prometheus.GaugeOpts(opts("lag_oldest_seconds", "Age of the oldest unpublished outbox row, 0 when none."))),
		latency: prometheus.NewHistogram(prometheus.HistogramOpts{
			Namespace: "cardhost", Subsystem: "outbox", Name: "publish_duration_seconds",
			Help:    "Time from handing a batch to the producer to its last acknowledgement.",
			Buckets: prometheus.ExponentialBuckets(0.001, 2.5, 12), // 1ms .. ~60s
		}),
	}
	for _, op := range []string{opTopic, opPending, opPublish, opMark, opLag, opOrder} {
		m.errors.WithLabelValues(op) // export zeros, so rate() works from the start
	}
	if reg == nil {
		return m, nil
	}
	cs := []prometheus.Collector{m.published, m.errors, m.lagEvents, m.lagSeconds, m.latency}
	for i, c := range cs {
		if err := reg.Register(c); err != nil {
			for _, done := range cs[:i] {
				reg.Unregister(done)
			}
			return nil, fmt.Errorf("registering outbox metrics (one relay per registry): %w", err)
		}
	}
	return m, nil
}
