package isoserver

import (
	"context"

	"github.com/cardhost/cardhost/iso"
)

// network answers an 0800 (or 0801) network management request itself:
// field 70 001 sign-on, 002 sign-off and 301 echo test get an 0810 with 39
// = 00 echoing 7, 11, 32, 37, 41 and 70. Sign-on is not required before
// other messages. A missing 70 gets 30, another code 12; a message that
// fails its acquirer's message authentication 63 (mac_missing,
// mac_invalid).
func (s *Server) network(ctx context.Context, req *iso.FieldValues, mti, remote string, a msgAuth) ([]byte, string, iso.ResponseCode) {
	code := iso.Approved
	nmc := req.Get(iso.FieldNetworkCode)
	if a.refused != "" {
		// A MAC acquirer's 0800 is authenticated like any message.
		s.m.decisions.WithLabelValues(string(a.refused)).Inc()
		return s.reply(ctx, req, mti, a.refused.Code(), remote, a)
	}
	switch nmc {
	case iso.NetworkSignOn:
		s.log.Info("sign-on", "remote", remote, "acquirer", req.Get(iso.FieldAcquirerID), "terminal", req.Get(iso.FieldTerminal))
	case iso.NetworkSignOff:
		s.log.Info("sign-off", "remote", remote, "acquirer", req.Get(iso.FieldAcquirerID), "terminal", req.Get(iso.FieldTerminal))
	case iso.NetworkEcho:
	case "":
		s.log.Warn("format error: 0800 without field 70", "remote", remote, "stan", req.Get(iso.FieldSTAN))
		code = iso.FormatError
	default:
		s.log.Warn("unsupported network management code", "remote", remote, "stan", req.Get(iso.FieldSTAN), "code", nmc)
		code = iso.InvalidTransaction
	}
	return s.reply(ctx, req, mti, code, remote, a)
}
