package isoserver

import "github.com/cardhost/cardhost/iso"

// network answers an 0800 (or 0801) network management request itself:
// field 70 001 sign-on, 002 sign-off and 301 echo test get an 0810 with 39
// = 00 echoing 7, 11, 32, 37, 41 and 70. Sign-on is not required before
// other messages. A missing 70 gets 30, another code 12.
func (s *Server) network(req fields, mti, remote string) ([]byte, string, iso.ResponseCode) {
	code := iso.Approved
	nmc := req.str(iso.FieldNetworkCode)
	switch nmc {
	case iso.NetworkSignOn:
		s.log.Info("sign-on", "remote", remote, "acquirer", req.str(iso.FieldAcquirerID), "terminal", req.str(iso.FieldTerminal))
	case iso.NetworkSignOff:
		s.log.Info("sign-off", "remote", remote, "acquirer", req.str(iso.FieldAcquirerID), "terminal", req.str(iso.FieldTerminal))
	case iso.NetworkEcho:
	case "":
		s.log.Warn("format error: 0800 without field 70", "remote", remote, "stan", req.str(iso.FieldSTAN))
		code = iso.FormatError
	default:
		s.log.Warn("unsupported network management code", "remote", remote, "stan", req.str(iso.FieldSTAN), "code", nmc)
		code = iso.InvalidTransaction
	}
	return s.reply(req, mti, code, remote)
}
