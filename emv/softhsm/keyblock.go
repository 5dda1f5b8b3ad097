package softhsm

import (
	"encoding/binary"
	"fmt"
	"io"
	"time"

	"github.com/cardhost/cardhost/emv"
)

// keyBlockVersion is the first field of the additional authenticated data;
// changing the wrapping scheme means a new value.
const keyBlockVersion = "cardhost-kb1"

// header returns the additional authenticated data that binds a record's
// identity to its wrapped material: every field that says what the key is
// and may do. Status and UsableUntil are left out so that rotation does not
// re-wrap.
func header(r *emv.KeyRecord) []byte {
	var b []byte
	field := func(s string) {
		b = binary.BigEndian.AppendUint16(b, uint16(len(s)))
		b = append(b, s...)
	}
	field(keyBlockVersion)
	field(r.Ref)
	b = binary.BigEndian.AppendUint32(b, uint32(r.Version))
	field(string(r.Type))
	field(r.Usage)
	field(string(r.Spec))
	field(r.KCV)
	field(r.Tenant)
	field(r.Created.UTC().Format(time.RFC3339Nano))
	field(r.Activated.UTC().Format(time.RFC3339Nano))
	field(r.Expires.UTC().Format(time.RFC3339Nano))
	return b
}

// wrap seals key under the master key into r.Wrapped, binding r's header.
func (m *masterKey) wrap(r *emv.KeyRecord, key []byte, rnd io.Reader) error {
	nonce := make([]byte, m.aead.NonceSize())
	if _, err := io.ReadFull(rnd, nonce); err != nil {
		return fmt.Errorf("wrapping key: %w", err)
	}
	r.MasterKCV = m.kcv
	r.Wrapped = m.aead.Seal(nonce, nonce, key, header(r))
	return nil
}

// unwrap opens r.Wrapped. Any change to the header or the ciphertext, or a
// record wrapped under another master key, gives ErrKeyBlockAuth.
func (m *masterKey) unwrap(r *emv.KeyRecord) (emv.SecretBytes, error) {
	ns := m.aead.NonceSize()
	if len(r.Wrapped) < ns+m.aead.Overhead() {
		return nil, fmt.Errorf("unwrapping key %s v%d: %w", r.Ref, r.Version, ErrKeyBlockAuth)
	}
	if r.MasterKCV != "" && r.MasterKCV != m.kcv {
		return nil, fmt.Errorf("unwrapping key %s v%d: wrapped under master key %s, have %s: %w", r.Ref, r.Version, r.MasterKCV, m.kcv, ErrKeyBlockAuth)
	}
	key, err := m.aead.Open(nil, r.Wrapped[:ns], r.Wrapped[ns:], header(r))
	if err != nil {
		return nil, fmt.Errorf("unwrapping key %s v%d: %w", r.Ref, r.Version, ErrKeyBlockAuth)
	}
	return key, nil
}
