package isoserver

import (
	"fmt"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/cardhost/cardhost/iso"
)

// metrics are the server's Prometheus collectors. Names start with
// cardhost_iso_; durations are in seconds.
type metrics struct {
	requests     *prometheus.CounterVec   // mti, code
	decisions    *prometheus.CounterVec   // reason
	latency      *prometheus.HistogramVec // mti
	unpack       prometheus.Histogram
	pack         prometheus.Histogram
	write        prometheus.Histogram
	open         prometheus.Gauge
	inFlight     prometheus.Gauge
	rejected     *prometheus.CounterVec // reason
	closed       *prometheus.CounterVec // reason
	unanswerable prometheus.Counter
}

// Connection rejection and closing reasons (metric labels).
const (
	reasonMaxConnections = "max_connections"
	reasonTLSHandshake   = "tls_handshake"
	reasonShutdown       = "shutdown"

	closePeer         = "peer_closed"
	closeIdle         = "idle_timeout"
	closeReadTimeout  = "read_timeout"
	closeMidMessage   = "closed_mid_message"
	closeFrameEmpty   = "frame_empty"
	closeFrameTooBig  = "frame_too_large"
	closeBadMTI       = "unreadable_mti"
	closeReadError    = "read_error"
	closeWriteError   = "write_error"
	closeShutdown     = "shutdown"
	closeShutdownKill = "shutdown_forced"
)

func newMetrics(reg prometheus.Registerer) (*metrics, error) {
	fast := []float64{.00001, .000025, .00005, .0001, .00025, .0005, .001, .0025, .005, .01}
	m := &metrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "cardhost_iso_requests_total",
			Help: "ISO 8583 requests answered, by request MTI and response code (code is empty for messages that get no answer).",
		}, []string{"mti", "code"}),
		decisions: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "cardhost_iso_decisions_total",
			Help: "Requests decided, by the host's reason slug (approved, each decline reason, and the transport's refusals mac_missing and mac_invalid).",
		}, []string{"reason"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "cardhost_iso_request_duration_seconds",
			Help:    "Time from a request's last byte read to its response queued for writing, by request MTI.",
			Buckets: []float64{.0001, .00025, .0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10},
		}, []string{"mti"}),
		unpack: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "cardhost_iso_unpack_duration_seconds", Help: "Time to unpack one request.", Buckets: fast,
		}),
		pack: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "cardhost_iso_pack_duration_seconds", Help: "Time to pack one response.", Buckets: fast,
		}),
		write: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "cardhost_iso_write_duration_seconds",
			Help:    "Time to write and flush one batch of responses to a connection.",
			Buckets: []float64{.00001, .000025, .00005, .0001, .00025, .0005, .001, .0025, .005, .01, .05, .1, 1},
		}),
		open: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "cardhost_iso_connections_open", Help: "Connections being served.",
		}),
		inFlight: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "cardhost_iso_requests_in_flight", Help: "Requests read and not yet answered, on all connections.",
		}),
		rejected: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "cardhost_iso_connections_rejected_total",
			Help: "Connections closed before being served, by reason (max_connections, tls_handshake, shutdown).",
		}, []string{"reason"}),
		closed: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "cardhost_iso_connections_closed_total",
			Help: "Served connections closed, by reason (peer_closed, idle_timeout, frame_too_large, unreadable_mti, ...).",
		}, []string{"reason"}),
		unanswerable: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "cardhost_iso_messages_dropped_total",
			Help: "Messages received that nothing answers (response MTIs such as 0110).",
		}),
	}
	if reg == nil {
		return m, nil
	}
	for _, c := range []prometheus.Collector{
		m.requests, m.decisions, m.latency, m.unpack, m.pack, m.write, m.open, m.inFlight, m.rejected, m.closed, m.unanswerable,
	} {
		if err := reg.Register(c); err != nil {
			return nil, fmt.Errorf("registering isoserver metrics: %w", err)
		}
	}
	return m, nil
}

// knownMTIs bounds the mti label's values: anything else is "other".
var knownMTIs = map[string]bool{}

func init() {
	for _, mti := range []string{
		iso.MTIAuthorizationRequest, iso.MTIAuthorizationRequestRepeat,
		iso.MTIAuthorizationAdvice, iso.MTIAuthorizationAdviceRepeat,
		iso.MTIFinancialRequest, iso.MTIFinancialRequestRepeat,
		iso.MTIFinancialAdvice, iso.MTIFinancialAdviceRepeat,
		iso.MTIReversalRequest, iso.MTIReversalRequestRepeat,
		iso.MTIReversalAdvice, iso.MTIReversalAdviceRepeat,
		iso.MTINetworkRequest, iso.MTINetworkRequestRepeat,
	} {
		knownMTIs[mti] = true
	}
}

// mtiLabel returns mti as a metric label value.
func mtiLabel(mti string) string {
	if knownMTIs[mti] {
		return mti
	}
	return "other"
}
