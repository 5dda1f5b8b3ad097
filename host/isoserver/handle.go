package isoserver

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/cardhost/cardhost/host"
	"github.com/cardhost/cardhost/iso"
)

// handle answers one message read at received on a connection from
// remote. It returns the packed response (without length header), or nil
// when nothing answers the message.
func (s *Server) handle(msg []byte, received time.Time, remote string) []byte {
	out, mti, code := s.process(msg, received, remote)
	label := mtiLabel(mti)
	s.m.requests.WithLabelValues(label, string(code)).Inc()
	if out != nil {
		s.m.latency.WithLabelValues(label).Observe(s.cfg.Now().Sub(received).Seconds())
	} else {
		s.m.unanswerable.Inc()
	}
	return out
}

// process returns the packed response, the request MTI and the response
// code ("" when there is no response).
func (s *Server) process(msg []byte, received time.Time, remote string) ([]byte, string, iso.ResponseCode) {
	ctx, cancel := context.WithTimeout(s.baseCtx, s.cfg.DecisionTimeout)
	defer cancel()
	start := s.cfg.Now()
	f, err := iso.UnpackFields(msg)
	s.m.unpack.Observe(s.cfg.Now().Sub(start).Seconds())
	if err != nil {
		var ue *iso.UnpackError
		if !errors.As(err, &ue) || !ue.MTIReadable() {
			// The reader closes connections with unreadable MTIs first.
			s.log.Error("unpacking message", "remote", remote, "error", err)
			return nil, "", ""
		}
		s.log.Warn("format error", "remote", remote, "mti", ue.MTI, "stan", ue.STAN, "field", ue.Field, "cause", ue.Err.Error())
		acq, _ := s.acquirer(ctx, f) // the answer is MACed when the acquirer requires MACs
		return s.reply(ctx, f, ue.MTI, iso.FormatError, remote, msgAuth{acq: acq})
	}

	mti := f.MTI()
	if iso.IsResponse(mti) {
		s.log.Warn("dropping a response message: nothing answers it", "remote", remote, "mti", mti, "stan", f.Get(iso.FieldSTAN))
		return nil, mti, ""
	}
	auth, err := s.authenticate(ctx, msg, f)
	if err != nil {
		if iso.FieldOf(err) >= 0 {
			s.log.Warn("format error", "remote", remote, "mti", mti, "stan", f.Get(iso.FieldSTAN), "field", iso.FieldOf(err), "error", err)
			return s.reply(ctx, f, mti, iso.FormatError, remote, auth)
		}
		s.log.Error("authenticating message", "remote", remote, "mti", mti, "stan", f.Get(iso.FieldSTAN), "acquirer", f.Get(iso.FieldAcquirerID), "error", err)
		return s.reply(ctx, f, mti, failureCode(err), remote, auth)
	}
	if auth.refused != "" {
		s.log.Warn("message authentication failed", "remote", remote, "mti", mti, "stan", f.Get(iso.FieldSTAN),
			"terminal", f.Get(iso.FieldTerminal), "acquirer", f.Get(iso.FieldAcquirerID), "reason", string(auth.refused))
	}
	if f.Get(iso.FieldSTAN) == "" {
		s.log.Warn("format error: no STAN", "remote", remote, "mti", mti, "field", iso.FieldSTAN)
		return s.reply(ctx, f, mti, iso.FormatError, remote, auth)
	}
	if iso.BaseMTI(mti) == iso.MTINetworkRequest {
		return s.network(ctx, f, mti, remote, auth)
	}

	req, err := decodeRequest(f, mti, received)
	if err != nil {
		if auth.refused != "" {
			// Refused before it was read: answered, not recorded.
			s.m.decisions.WithLabelValues(string(auth.refused)).Inc()
			return s.reply(ctx, f, mti, auth.refused.Code(), remote, auth)
		}
		s.log.Warn("format error", "remote", remote, "mti", mti, "stan", f.Get(iso.FieldSTAN), "field", iso.FieldOf(err), "error", err)
		return s.reply(ctx, f, mti, iso.FormatError, remote, auth)
	}
	body := msg
	if auth.present {
		// Without its MAC: a repeat (0101) is MACed again because its MTI
		// changed, and must still be the same content as its original.
		body = auth.data
	}
	req.Fingerprint = s.fingerprint(body, mti)
	req.Received = received.UTC()
	req.Refused = auth.refused

	r, err := s.engine.Decide(ctx, req)
	if err == nil && r == nil {
		err = fmt.Errorf("%w: nil response", errEngineResponse)
	}
	if err != nil {
		code := failureCode(err)
		if code != iso.IssuerOrSwitchInoperative {
			s.log.Error("deciding request", "remote", remote, "mti", mti, "stan", req.STAN, "terminal", req.Terminal, "error", err)
		} else if ok, suppressed := s.unavailable.allow(time.Now()); ok {
			s.log.Warn("answering 91: the ledger is unavailable", "remote", remote, "mti", mti, "stan", req.STAN, "terminal", req.Terminal,
				"error", err, "suppressed", suppressed)
		}
		return s.reply(ctx, f, mti, code, remote, auth)
	}
	s.m.decisions.WithLabelValues(string(r.Reason)).Inc()
	respMTI, _ := iso.ResponseMTI(mti)
	resp, omitted, err := decisionResponse(f, respMTI, req, r)
	if omitted > 0 {
		// How many, never the amounts.
		s.log.Debug("balances left out of field 54: over 12 digits", "remote", remote, "mti", mti, "stan", req.STAN, "terminal", req.Terminal, "omitted", omitted)
	}
	if err == nil {
		var out []byte
		if out, err = s.packAnswer(ctx, resp, auth); err == nil {
			return out, mti, r.Code
		}
	}
	s.log.Error("answering request", "remote", remote, "mti", mti, "stan", req.STAN, "terminal", req.Terminal, "error", err)
	return s.reply(ctx, f, mti, iso.SystemMalfunction, remote, auth)
}

// reply answers a request with code and the echoed fields only, MACed as
// packAnswer says (and without a MAC when it cannot be computed: an answer
// the acquirer may refuse is better than none).
func (s *Server) reply(ctx context.Context, req *iso.FieldValues, mti string, code iso.ResponseCode, remote string, a msgAuth) ([]byte, string, iso.ResponseCode) {
	respMTI, ok := iso.ResponseMTI(mti)
	if !ok {
		s.log.Warn("dropping a response message: nothing answers it", "remote", remote, "mti", mti)
		return nil, mti, ""
	}
	out, err := s.packAnswer(ctx, newResponse(req, respMTI, code), a)
	if err != nil && a.acq.MACs(a.present) {
		s.log.Error("answering without MAC", "remote", remote, "mti", respMTI, "acquirer", a.acq.ID, "error", err)
		out, err = s.pack(newResponse(req, respMTI, code))
	}
	if err != nil {
		s.log.Error("packing response", "remote", remote, "mti", respMTI, "error", err)
		return nil, mti, ""
	}
	return out, mti, code
}

// pack packs a response, timing it and checking it fits in a frame.
func (s *Server) pack(m *iso.FieldValues) ([]byte, error) {
	start := s.cfg.Now()
	out, err := m.Pack()
	s.m.pack.Observe(s.cfg.Now().Sub(start).Seconds())
	if err != nil {
		return nil, err
	}
	if len(out) > iso.MaxMessageLen {
		return nil, fmt.Errorf("packing response: %w", iso.ErrFrameTooLarge)
	}
	return out, nil
}

// failureCode is the answer to a request the engine could not decide: 91
// (issuer or switch inoperative) when its store is unreachable or the
// decision ran out of time, so that the network stands in; 96 (system
// malfunction) for any other failure.
// logLimiter lets one log line through per second and counts the ones it
// held back. Safe for concurrent use; the zero value is ready.
type logLimiter struct {
	mu         sync.Mutex
	last       time.Time
	suppressed int64
}

// allow reports whether a line may be logged at now, and how many were
// held back since the last one that was.
func (l *logLimiter) allow(now time.Time) (bool, int64) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if now.Sub(l.last) < time.Second {
		l.suppressed++
		return false, 0
	}
	n := l.suppressed
	l.last, l.suppressed = now, 0
	return true, n
}

func failureCode(err error) iso.ResponseCode {
	if errors.Is(err, host.ErrUnavailable) || errors.Is(err, context.DeadlineExceeded) {
		return iso.IssuerOrSwitchInoperative
	}
	return iso.SystemMalfunction
}
