package sender

import (
	"errors"
	"fmt"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/cardhost/cardhost/issuance/webhook"
)

// Failure kinds, the values of cardhost_webhook_failures_total's "kind".
const (
	KindStatus   = "status"   // a non-2xx, non-3xx answer
	KindRedirect = "redirect" // a 3xx answer (not followed)
	KindTimeout  = "timeout"  // no answer within the timeout
	KindRefused  = "refused"  // a refused address (SSRF check)
	KindBody     = "body"     // an answer body over the limit
	KindNetwork  = "network"  // connection refused or reset, DNS, TLS
)

// Kind classifies a failed attempt's result ("" for a delivered one).
func Kind(r webhook.Result) string {
	switch {
	case r.Delivered():
		return ""
	case errors.Is(r.Err, ErrRefused):
		return KindRefused
	case errors.Is(r.Err, ErrTimeout):
		return KindTimeout
	case errors.Is(r.Err, ErrBodyTooLarge):
		return KindBody
	case r.Err != nil:
		return KindNetwork
	case r.StatusCode >= 300 && r.StatusCode < 400:
		return KindRedirect
	}
	return KindStatus
}

// Metrics counts the dispatcher's work (webhook.Observer). Labels never
// carry a tenant, endpoint or URL.
type Metrics struct {
	delivered prometheus.Counter
	failures  *prometheus.CounterVec
	latency   prometheus.Histogram
	disabled  *prometheus.CounterVec
	ingested  prometheus.Counter
}

var _ webhook.Observer = (*Metrics)(nil)

// NewMetrics registers the collectors with reg (nil: not registered).
func NewMetrics(reg prometheus.Registerer) (*Metrics, error) {
	m := &Metrics{
		delivered: prometheus.NewCounter(prometheus.CounterOpts{Namespace: "cardhost", Subsystem: "webhook", Name: "deliveries_total",
			Help: "Webhook attempts the endpoint acknowledged with a 2xx."}),
		failures: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: "cardhost", Subsystem: "webhook", Name: "failures_total",
			Help: "Failed webhook attempts by kind (status, redirect, timeout, refused, body, network)."}, []string{"kind"}),
		latency: prometheus.NewHistogram(prometheus.HistogramOpts{Namespace: "cardhost", Subsystem: "webhook", Name: "attempt_duration_seconds",
			Help: "Duration of webhook attempts, delivered or not.", Buckets: prometheus.ExponentialBuckets(0.005, 2.5, 10)}), // 5ms .. ~19s
		disabled: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: "cardhost", Subsystem: "webhook", Name: "endpoints_disabled_total",
			Help: "Webhook endpoints cardhost disabled, by reason (gone, failing)."}, []string{"reason"}),
		ingested: prometheus.NewCounter(prometheus.CounterOpts{Namespace: "cardhost", Subsystem: "webhook", Name: "events_ingested_total",
			Help: "Outbox events the webhook dispatcher read (and created deliveries for); none while no endpoint is enabled."}),
	}
	for _, k := range []string{KindStatus, KindRedirect, KindTimeout, KindRefused, KindBody, KindNetwork} {
		m.failures.WithLabelValues(k)
	}
	for _, r := range []string{webhook.DisabledGone, webhook.DisabledFailing} {
		m.disabled.WithLabelValues(r)
	}
	if reg == nil {
		return m, nil
	}
	cs := []prometheus.Collector{m.delivered, m.failures, m.latency, m.disabled, m.ingested}
	for i, c := range cs {
		if err := reg.Register(c); err != nil {
			for _, done := range cs[:i] {
				reg.Unregister(done)
			}
			return nil, fmt.Errorf("registering webhook metrics: %w", err)
		}
	}
	return m, nil
}

// Attempted implements webhook.Observer.
func (m *Metrics) Attempted(r webhook.Result) {
	m.latency.Observe(r.Duration.Seconds())
	if k := Kind(r); k != "" {
		m.failures.WithLabelValues(k).Inc()
		return
	}
	m.delivered.Inc()
}

// Disabled implements webhook.Observer.
func (m *Metrics) Disabled(reason string) { m.disabled.WithLabelValues(reason).Inc() }

// Ingested implements webhook.Observer.
func (m *Metrics) Ingested(n int) { m.ingested.Add(float64(n)) }
