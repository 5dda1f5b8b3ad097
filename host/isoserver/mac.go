package isoserver

import (
	"context"
	"errors"
	"fmt"

	"github.com/cardhost/cardhost/emv"
	"github.com/cardhost/cardhost/host"
	"github.com/cardhost/cardhost/iso"
)

// Acquirers tells the server an acquirer's message authentication settings
// (its ZAK and whether it must MAC), by field 32. *host.Engine satisfies
// it, answering from memory. It returns host.ErrNotFound for an unknown
// acquirer; any other error means the server cannot tell (answered 91 or
// 96, like an engine failure).
type Acquirers interface {
	Acquirer(ctx context.Context, id string) (host.Acquirer, error)
}

// MACer computes and verifies message authentication codes by key
// reference: ISO/IEC 9797-1 MAC algorithm 3 (the retail MAC), padding
// method 2, 8 bytes. *softhsm.HSM satisfies it; the server never holds a
// MAC key.
type MACer interface {
	// VerifyMAC returns the version of the ZAK under which mac is the MAC
	// of data (any version usable for verification, so that a rotation
	// does not break an acquirer), 0 when none.
	VerifyMAC(ctx context.Context, zakRef string, data, mac []byte) (int, error)
	// GenerateMAC returns the MAC of data under version of the ZAK (0: the
	// active version).
	GenerateMAC(ctx context.Context, zakRef string, version int, data []byte) ([]byte, error)
}

// msgAuth is what message authentication found out about one request:
// its acquirer, whether it carried a MAC and under which ZAK version it
// verified, and the refusal when it did not.
type msgAuth struct {
	acq     host.Acquirer
	present bool        // the request carried a MAC
	data    []byte      // the bytes the MAC covers (the message without it)
	version int         // ZAK version that verified it (0: none)
	refused host.Reason // mac_missing or mac_invalid ("" when it passed)
}

// authenticate checks a request's MAC (docs/iso8583.md section 5.15)
// against its acquirer (field 32): a MAC present is verified under the
// acquirer's ZAK, any live version; none where the acquirer requires one
// is mac_missing; one that does not verify, or from an acquirer without a
// ZAK, is mac_invalid. Without Config.Acquirers nothing is checked. An
// error means it could not tell (the acquirer or the HSM failed), or,
// for a *iso.FieldError, that the MAC is misplaced (30).
func (s *Server) authenticate(ctx context.Context, msg []byte, f *iso.FieldValues) (msgAuth, error) {
	var a msgAuth
	if s.cfg.Acquirers == nil {
		return a, nil
	}
	acq, err := s.acquirer(ctx, f)
	if err != nil {
		return a, err
	}
	a.acq = acq
	data, mac, present, err := iso.MACInput(msg)
	if err != nil {
		return a, err
	}
	a.present, a.data = present, data
	switch {
	case !present && acq.MACRequired:
		a.refused = host.ReasonMACMissing
	case !present:
	case acq.ZAKRef == "":
		a.refused = host.ReasonMACInvalid
	default:
		raw, err := emv.DecodeHex(string(mac))
		if err != nil { // the codec has checked it is hexadecimal
			return a, &iso.FieldError{Field: iso.MACField(f.Has(iso.FieldSecondaryMAC)), Err: iso.ErrCharset}
		}
		if a.version, err = s.cfg.MAC.VerifyMAC(ctx, acq.ZAKRef, data, raw); err != nil {
			return a, fmt.Errorf("verifying MAC: %w", err)
		}
		if a.version == 0 {
			a.refused = host.ReasonMACInvalid
		}
	}
	return a, nil
}

// acquirer returns the acquirer field 32 names (the zero Acquirer, which
// MACs nothing, when it names none the server knows).
func (s *Server) acquirer(ctx context.Context, f *iso.FieldValues) (host.Acquirer, error) {
	if s.cfg.Acquirers == nil {
		return host.Acquirer{}, nil
	}
	id := f.Get(iso.FieldAcquirerID)
	if id == "" {
		return host.Acquirer{}, nil
	}
	acq, err := s.cfg.Acquirers.Acquirer(ctx, id)
	if errors.Is(err, host.ErrNotFound) {
		return host.Acquirer{}, nil
	}
	if err != nil {
		return host.Acquirer{}, fmt.Errorf("looking up acquirer: %w", err)
	}
	return acq, nil
}

// packAnswer packs an answer, with a MAC when its acquirer MACs answers
// (host.Acquirer.MACs: it requires MACs, or the request carried one): under
// the ZAK version that verified the request's MAC, else the active one.
// The answer to a refused request (mac_missing, mac_invalid) is MACed too,
// so that the acquirer can trust the refusal.
func (s *Server) packAnswer(ctx context.Context, m *iso.FieldValues, a msgAuth) ([]byte, error) {
	if !a.acq.MACs(a.present) {
		return s.pack(m)
	}
	start := s.cfg.Now()
	out, err := m.PackMAC(func(data []byte) ([]byte, error) {
		return s.cfg.MAC.GenerateMAC(ctx, a.acq.ZAKRef, a.version, data)
	})
	s.m.pack.Observe(s.cfg.Now().Sub(start).Seconds())
	if err != nil {
		return nil, err
	}
	if len(out) > iso.MaxMessageLen {
		return nil, fmt.Errorf("packing response: %w", iso.ErrFrameTooLarge)
	}
	return out, nil
}
