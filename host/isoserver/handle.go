package isoserver

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/moov-io/iso8583"

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
	start := s.cfg.Now()
	m, err := iso.Unpack(msg)
	s.m.unpack.Observe(s.cfg.Now().Sub(start).Seconds())
	if err != nil {
		var ue *iso.UnpackError
		if !errors.As(err, &ue) || !ue.MTIReadable() {
			// The reader closes connections with unreadable MTIs first.
			s.log.Error("unpacking message", "remote", remote, "error", err)
			return nil, "", ""
		}
		s.log.Warn("format error", "remote", remote, "mti", ue.MTI, "stan", ue.STAN, "field", ue.Field, "cause", ue.Err.Error())
		return s.reply(fieldsOf(m), ue.MTI, iso.FormatError, remote)
	}

	f := fieldsOf(m)
	mti := f.str(iso.FieldMTI)
	if iso.IsResponse(mti) {
		s.log.Warn("dropping a response message: nothing answers it", "remote", remote, "mti", mti, "stan", f.str(iso.FieldSTAN))
		return nil, mti, ""
	}
	if f.str(iso.FieldSTAN) == "" {
		s.log.Warn("format error: no STAN", "remote", remote, "mti", mti, "field", iso.FieldSTAN)
		return s.reply(f, mti, iso.FormatError, remote)
	}
	if iso.BaseMTI(mti) == iso.MTINetworkRequest {
		return s.network(f, mti, remote)
	}

	req, err := decodeRequest(f, mti, received)
	if err != nil {
		s.log.Warn("format error", "remote", remote, "mti", mti, "stan", f.str(iso.FieldSTAN), "field", iso.FieldOf(err), "error", err)
		return s.reply(f, mti, iso.FormatError, remote)
	}
	req.Fingerprint = s.fingerprint(msg, mti)
	req.Received = received.UTC()

	ctx, cancel := context.WithTimeout(s.baseCtx, s.cfg.DecisionTimeout)
	r, err := s.engine.Decide(ctx, req)
	cancel()
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
		return s.reply(f, mti, code, remote)
	}
	respMTI, _ := iso.ResponseMTI(mti)
	resp, err := decisionResponse(f, respMTI, req, r)
	if err == nil {
		var out []byte
		if out, err = s.pack(resp); err == nil {
			return out, mti, r.Code
		}
	}
	s.log.Error("answering request", "remote", remote, "mti", mti, "stan", req.STAN, "terminal", req.Terminal, "error", err)
	return s.reply(f, mti, iso.SystemMalfunction, remote)
}

// reply answers a request with code and the echoed fields only.
func (s *Server) reply(req fields, mti string, code iso.ResponseCode, remote string) ([]byte, string, iso.ResponseCode) {
	respMTI, ok := iso.ResponseMTI(mti)
	if !ok {
		s.log.Warn("dropping a response message: nothing answers it", "remote", remote, "mti", mti)
		return nil, mti, ""
	}
	out, err := s.pack(newResponse(req, respMTI, code))
	if err != nil {
		s.log.Error("packing response", "remote", remote, "mti", respMTI, "error", err)
		return nil, mti, ""
	}
	return out, mti, code
}

// pack packs a response, timing it and checking it fits in a frame.
func (s *Server) pack(m *iso8583.Message) ([]byte, error) {
	start := s.cfg.Now()
	out, err := iso.Pack(m)
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
