package isoserver

import "github.com/cardhost/cardhost/iso"

// fingerprint returns HMAC-SHA-256(FingerprintKey, msg) computed as if the
// MTI were its base MTI (0101 hashes as 0100), so that a repeat and its
// original have the same fingerprint. msg is the packed message without
// its length header; it is not modified.
func (s *Server) fingerprint(msg []byte, mti string) []byte {
	h := s.mac()
	defer s.macs.Put(h)
	var base [4]byte
	copy(base[:], iso.BaseMTI(mti))
	h.Write(base[:])
	h.Write(msg[len(base):])
	return h.Sum(make([]byte, 0, 32))
}
