package softhsm

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"hash"
	"io"
	"time"

	"github.com/cardhost/cardhost/emv"
)

// sealedVersion is the first byte of sealed PAN data.
const sealedVersion = 0x01

// sealAAD binds a sealed PAN to its key, tenant and card: moving the
// ciphertext to another card or tenant makes it fail to open.
func sealAAD(ref string, keyVersion uint32, tenant, cardID string) []byte {
	var b []byte
	for _, s := range []string{"cardhost:pan:v1", ref, tenant, cardID} {
		b = binary.BigEndian.AppendUint16(b, uint16(len(s)))
		b = append(b, s...)
	}
	return binary.BigEndian.AppendUint32(b, keyVersion)
}

// SealPAN encrypts a PAN for storage with the active PAN-DEK version:
// AES-256-GCM with additional data binding the key reference and version,
// tenant and card id. The result is 0x01 || key version (4 bytes,
// big-endian) || nonce (12) || ciphertext || tag (16).
func (h *HSM) SealPAN(ctx context.Context, dekRef, tenant, cardID string, pan emv.PAN) ([]byte, error) {
	return h.seal(ctx, dekRef, tenant, cardID, pan.Reveal())
}

// SealPIN seals the sandbox simulator's clear test PIN like SealPAN, bound
// to binding (the card id with a suffix of the caller's, so that it
// differs from the card's PAN seal).
func (h *HSM) SealPIN(ctx context.Context, dekRef, tenant, binding string, pin emv.PIN) ([]byte, error) {
	return h.seal(ctx, dekRef, tenant, binding, pin.Reveal())
}

// SealSecret seals a secret that cardhost must use again in clear (a
// webhook endpoint's signing secret) like SealPAN, bound to tenant and to
// binding (the object that owns it). The additional data differs from any
// PAN's or PIN's ("secret:" + binding), so one sealed value never opens as
// another kind.
func (h *HSM) SealSecret(ctx context.Context, dekRef, tenant, binding string, secret []byte) ([]byte, error) {
	return h.seal(ctx, dekRef, tenant, secretBinding(binding), string(secret))
}

// OpenSecret decrypts data made by SealSecret for the same tenant and
// binding; tampered data, another tenant or binding give ErrSealed.
func (h *HSM) OpenSecret(ctx context.Context, dekRef, tenant, binding string, sealed []byte) (emv.SecretBytes, error) {
	clear, err := h.open(ctx, dekRef, tenant, secretBinding(binding), sealed)
	return emv.SecretBytes(clear), err
}

func secretBinding(binding string) string { return "secret:" + binding }

func (h *HSM) seal(ctx context.Context, dekRef, tenant, cardID, clear string) ([]byte, error) {
	var out []byte
	err := h.withActive(ctx, dekRef, opSeal, func(k *key) error {
		v := uint32(k.rec.Version)
		out = append([]byte{sealedVersion}, binary.BigEndian.AppendUint32(nil, v)...)
		nonce := make([]byte, k.aead.NonceSize())
		if _, err := io.ReadFull(h.rand, nonce); err != nil {
			return fmt.Errorf("sealing: %w", err)
		}
		out = append(out, nonce...)
		out = k.aead.Seal(out, nonce, []byte(clear), sealAAD(k.rec.Ref, v, tenant, cardID))
		return nil
	})
	return out, err
}

// OpenPAN decrypts data made by SealPAN for the same tenant and card, with
// the PAN-DEK version recorded in it (retired versions open until their
// UsableUntil). Tampered data, another tenant or card give ErrSealed.
func (h *HSM) OpenPAN(ctx context.Context, dekRef, tenant, cardID string, sealed []byte) (emv.PAN, error) {
	clear, err := h.open(ctx, dekRef, tenant, cardID, sealed)
	return emv.PAN(clear), err
}

// OpenPIN decrypts data made by SealPIN for the same tenant and binding,
// like OpenPAN.
func (h *HSM) OpenPIN(ctx context.Context, dekRef, tenant, binding string, sealed []byte) (emv.PIN, error) {
	clear, err := h.open(ctx, dekRef, tenant, binding, sealed)
	return emv.PIN(clear), err
}

func (h *HSM) open(ctx context.Context, dekRef, tenant, cardID string, sealed []byte) (string, error) {
	if len(sealed) < 5+12+16 || sealed[0] != sealedVersion {
		return "", fmt.Errorf("opening sealed data: %w", ErrSealed)
	}
	v := binary.BigEndian.Uint32(sealed[1:5])
	if v == 0 || v > 1<<30 {
		return "", fmt.Errorf("opening sealed data: %w", ErrSealed)
	}
	var out string
	err := h.withVersion(ctx, dekRef, int(v), opSeal, func(k *key) error {
		ns := k.aead.NonceSize()
		body := sealed[5:]
		clear, err := k.aead.Open(nil, body[:ns], body[ns:], sealAAD(k.rec.Ref, v, tenant, cardID))
		if err != nil {
			return fmt.Errorf("opening sealed data: %w", ErrSealed)
		}
		out = string(clear)
		emv.SecretBytes(clear).Wipe()
		return nil
	})
	return out, err
}

// IndexPAN returns the PAN's look-up index under the active PAN-IDX
// version: HMAC-SHA-256(key, "cardhost:pan-index:v1" || PAN), 32 bytes. It
// is deterministic, so equal PANs have equal indexes, and reveals nothing
// about the PAN without the key.
func (h *HSM) IndexPAN(ctx context.Context, idxRef string, pan emv.PAN) ([]byte, error) {
	var out []byte
	err := h.withActive(ctx, idxRef, opIndex, func(k *key) (err error) {
		out, err = indexPAN(k, pan)
		return err
	})
	return out, err
}

// IndexPANAll returns the PAN's index under every PAN-IDX version usable
// for look-ups: during a rotation the caller searches for any of them. The
// first is the index to store (a new card, a re-indexed one): the newest
// version that every instance sharing the key store already knows, that is
// one activated at least twice Config.CacheTTL ago (the oldest version when
// none is, e.g. a new key). The other versions follow, newest first. So
// a card is never moved to a version another instance cannot compute yet.
func (h *HSM) IndexPANAll(ctx context.Context, idxRef string, pan emv.PAN) ([][]byte, error) {
	var settled, fresh [][]byte
	now := h.clock()
	_, err := h.eachVerifiable(ctx, idxRef, opIndex, func(k *key) (bool, error) {
		ix, err := indexPAN(k, pan)
		if err != nil {
			return false, err
		}
		if now.Before(h.IndexSettles(k.rec.Activated)) {
			fresh = append(fresh, ix)
		} else {
			settled = append(settled, ix)
		}
		return false, nil
	})
	if len(settled) == 0 && len(fresh) > 1 {
		// Rotated before any version settled: the oldest is the one
		// known longest.
		oldest := fresh[len(fresh)-1]
		return append([][]byte{oldest}, fresh[:len(fresh)-1]...), err
	}
	return append(settled, fresh...), err
}

// IndexSettles returns when a PAN-IDX version activated at activated is
// known to every instance sharing the key store (two cache lifetimes
// later), so that IndexPANAll stores indexes under it.
func (h *HSM) IndexSettles(activated time.Time) time.Time {
	if h.ttl <= 0 {
		return activated
	}
	return activated.Add(2 * h.ttl)
}

// panIndexDomain starts every PAN index's HMAC input.
const panIndexDomain = "cardhost:pan-index:v1"

// newPANIndexer is the PAN index's HMAC-SHA-256 keyed with a PAN-IDX key
// and its domain written: a loaded key keeps it (key.index), and each
// index is a clone of it with the PAN written,
// HMAC-SHA-256(key, panIndexDomain || PAN).
func newPANIndexer(key []byte) (hash.Cloner, error) {
	m, ok := hmac.New(sha256.New, key).(hash.Cloner)
	if !ok {
		return nil, errors.New("HMAC-SHA-256 cannot be cloned")
	}
	m.Write([]byte(panIndexDomain))
	return m, nil
}

// indexPAN is the PAN's index under PAN-IDX key k.
func indexPAN(k *key, pan emv.PAN) ([]byte, error) {
	if k.index == nil {
		return nil, fmt.Errorf("indexing PAN: key %s v%d is not a PAN-IDX key: %w", k.rec.Ref, k.rec.Version, ErrKeyUsage)
	}
	c, err := k.index.Clone()
	if err != nil {
		return nil, fmt.Errorf("indexing PAN: %w", err)
	}
	c.Write([]byte(pan.Reveal()))
	return c.Sum(nil), nil
}
