package softhsm

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base32"
	"encoding/hex"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/cardhost/cardhost/emv"
)

// KeyInfo is what the HSM tells about a key version: everything but the
// key. It is safe to log and to return over the API.
type KeyInfo struct {
	Ref         string        `json:"hsm_key_reference"`
	Version     int           `json:"version"`
	Type        emv.KeyType   `json:"type"`
	Usage       string        `json:"usage"`
	Spec        emv.KeySpec   `json:"algorithm"`
	KCV         string        `json:"kcv"`
	Tenant      string        `json:"tenant_id,omitempty"`
	Label       string        `json:"label,omitempty"`
	Status      emv.KeyStatus `json:"status"`
	Created     time.Time     `json:"created_at"`
	Activated   time.Time     `json:"activated_at"`
	Expires     time.Time     `json:"expires_at,omitzero"`
	UsableUntil time.Time     `json:"usable_until,omitzero"`
}

func infoOf(r emv.KeyRecord) KeyInfo {
	return KeyInfo{
		Ref: r.Ref, Version: r.Version, Type: r.Type, Usage: r.Usage, Spec: r.Spec,
		KCV: r.KCV, Tenant: r.Tenant, Label: r.Label, Status: r.Status,
		Created: r.Created, Activated: r.Activated, Expires: r.Expires, UsableUntil: r.UsableUntil,
	}
}

// KeyRequest describes a key to generate or import.
type KeyRequest struct {
	Type emv.KeyType
	// Spec is the algorithm and size; "" means the type's default (TDES2
	// for IMKs, CVK, PVK, ZPK, ZAK; AES256 for KEK and PAN-DEK; EC-P256 for
	// CA and ECDH; HMAC-SHA256 for PAN-IDX).
	Spec   emv.KeySpec
	Tenant string // "" for a key shared by all tenants
	Label  string
	// Activates is when the key becomes usable; zero means now.
	Activates time.Time
	// Expires ends the key's cryptoperiod; zero means none.
	Expires time.Time
}

func (h *HSM) newRecord(req KeyRequest, ref string, version int) (emv.KeyRecord, error) {
	rule, ok := keyRules[req.Type]
	if !ok {
		return emv.KeyRecord{}, fmt.Errorf("creating key: type %q: %w", req.Type, ErrKeySpec)
	}
	spec := req.Spec
	if spec == "" {
		spec = rule.specs[0]
	}
	if !rule.allowsSpec(spec) {
		return emv.KeyRecord{}, fmt.Errorf("creating %s key with %s: %w", req.Type, spec, ErrKeySpec)
	}
	now := h.clock()
	act := req.Activates.UTC().Truncate(time.Microsecond)
	if act.IsZero() {
		act = now
	}
	return emv.KeyRecord{
		Ref: ref, Version: version, Type: req.Type, Usage: rule.usage, Spec: spec,
		Tenant: req.Tenant, Label: req.Label, Status: emv.KeyActive,
		Created: now, Activated: act, Expires: req.Expires.UTC().Truncate(time.Microsecond),
	}, nil
}

func (h *HSM) newRef() (string, error) {
	b := make([]byte, 16)
	if _, err := io.ReadFull(h.rand, b); err != nil {
		return "", fmt.Errorf("generating key reference: %w", err)
	}
	return "key_" + strings.ToLower(base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(b)), nil
}

// randomKey returns fresh material for spec.
func (h *HSM) randomKey(spec emv.KeySpec) (emv.SecretBytes, error) {
	n := specLen[spec]
	for range 16 {
		raw := make(emv.SecretBytes, n)
		if _, err := io.ReadFull(h.rand, raw); err != nil {
			return nil, fmt.Errorf("generating key: %w", err)
		}
		switch {
		case isTDES(spec):
			adj := emv.AdjustParity(raw)
			raw.Wipe()
			raw = adj
			if singleLength(raw) {
				raw.Wipe()
				continue
			}
		case spec == emv.KeySpecECP256:
			if _, err := ecdsa.ParseRawPrivateKey(elliptic.P256(), raw); err != nil {
				raw.Wipe()
				continue // scalar zero or not below the group order
			}
		}
		return raw, nil
	}
	return nil, fmt.Errorf("generating key: %w", ErrKeySpec)
}

// singleLength reports whether a (parity-adjusted) TDES key degenerates to
// single DES: K1 = K2, or for a three-key TDES K2 = K3.
func singleLength(k []byte) bool {
	return bytes.Equal(k[:8], k[8:16]) || (len(k) == 24 && bytes.Equal(k[8:16], k[16:24]))
}

// checkValue computes a key's check value: the emv package's KCV for TDES
// (encrypt zeros) and AES (CMAC); the first 3 bytes of
// HMAC-SHA-256(key, 32 zero bytes) for HMAC keys; the first 3 bytes of
// SHA-256 of the uncompressed public point for EC keys.
func checkValue(spec emv.KeySpec, raw []byte) (string, error) {
	switch {
	case isTDES(spec):
		kcv, err := emv.KCV(emv.AlgorithmTDES, raw)
		return emv.EncodeHex(kcv), err
	case isAES(spec):
		kcv, err := emv.KCV(emv.AlgorithmAES, raw)
		return emv.EncodeHex(kcv), err
	case spec == emv.KeySpecHMACSHA256:
		m := hmac.New(sha256.New, raw)
		m.Write(make([]byte, 32))
		return emv.EncodeHex(m.Sum(nil)[:3]), nil
	case spec == emv.KeySpecECP256:
		priv, err := ecdsa.ParseRawPrivateKey(elliptic.P256(), raw)
		if err != nil {
			return "", fmt.Errorf("computing check value: %w", ErrKeySpec)
		}
		pub, err := priv.PublicKey.Bytes()
		if err != nil {
			return "", fmt.Errorf("computing check value: %w", ErrKeySpec)
		}
		sum := sha256.Sum256(pub)
		return emv.EncodeHex(sum[:3]), nil
	}
	return "", fmt.Errorf("computing check value: %w", ErrKeySpec)
}

// store wraps raw into rec and stores it.
func (h *HSM) storeKey(ctx context.Context, rec emv.KeyRecord, raw []byte) (KeyInfo, error) {
	kcv, err := checkValue(rec.Spec, raw)
	if err != nil {
		return KeyInfo{}, err
	}
	rec.KCV = kcv
	if err := h.master.wrap(&rec, raw, h.rand); err != nil {
		return KeyInfo{}, err
	}
	if err := h.store.PutKey(ctx, rec); err != nil {
		return KeyInfo{}, fmt.Errorf("storing key %s v%d: %w", rec.Ref, rec.Version, err)
	}
	h.forget(rec.Ref)
	return infoOf(rec), nil
}

// GenerateKey creates a random key of the requested type under a new
// reference (version 1). Errors: ErrKeySpec for an unknown type or a spec
// the type does not allow; KeyStore errors.
func (h *HSM) GenerateKey(ctx context.Context, req KeyRequest) (KeyInfo, error) {
	ref, err := h.newRef()
	if err != nil {
		return KeyInfo{}, err
	}
	return h.generateVersion(ctx, req, ref, 1)
}

// generateVersion makes version of key ref from random material and
// stores it.
func (h *HSM) generateVersion(ctx context.Context, req KeyRequest, ref string, version int) (KeyInfo, error) {
	rec, err := h.newRecord(req, ref, version)
	if err != nil {
		return KeyInfo{}, err
	}
	raw, err := h.randomKey(rec.Spec)
	if err != nil {
		return KeyInfo{}, err
	}
	defer raw.Wipe()
	return h.storeKey(ctx, rec, raw)
}

// ImportRequest is a key entered as clear components at a key ceremony
// (sandbox and portfolio migration). Each custodian enters one component;
// the key is their XOR.
type ImportRequest struct {
	KeyRequest
	// Components are the clear components (at least 2 for TDES and AES keys;
	// 1 is accepted only for HMAC and EC keys, which are not split).
	Components []emv.SecretBytes
	// ComponentKCVs, when given, must hold one check value per component
	// (6 hex digits, as printed on the component forms).
	ComponentKCVs []string
	// KCV is the check value of the combined key; it is required.
	KCV string
}

// DecodeComponents turns clear key components typed in hex (spaces allowed
// between groups) into key material for [ImportRequest.Components]. Errors
// name the component's position, never its value, and wipe what was
// decoded.
func DecodeComponents(in []string) ([]emv.SecretBytes, error) {
	out := make([]emv.SecretBytes, 0, len(in))
	for i, c := range in {
		b, err := hex.DecodeString(strings.ReplaceAll(strings.TrimSpace(c), " ", ""))
		if err != nil || len(b) == 0 {
			for _, o := range out {
				o.Wipe()
			}
			return nil, fmt.Errorf("component %d is not hex", i+1)
		}
		out = append(out, emv.SecretBytes(b))
	}
	return out, nil
}

// ImportComponents combines clear key components by XOR, checks every
// stated check value and stores the key under a new reference. TDES keys
// are set to odd parity after combination; a TDES key whose halves are
// equal is refused (ErrWeakKey). Nothing is stored on a mismatch
// (ErrKCVMismatch). The components are wiped before return.
func (h *HSM) ImportComponents(ctx context.Context, req ImportRequest) (KeyInfo, error) {
	defer func() {
		for _, c := range req.Components {
			c.Wipe()
		}
	}()
	ref, err := h.newRef()
	if err != nil {
		return KeyInfo{}, err
	}
	rec, err := h.newRecord(req.KeyRequest, ref, 1)
	if err != nil {
		return KeyInfo{}, err
	}
	n := specLen[rec.Spec]
	split := isTDES(rec.Spec) || isAES(rec.Spec)
	if len(req.Components) == 0 || (split && len(req.Components) < 2) {
		return KeyInfo{}, fmt.Errorf("importing key: %d components: %w", len(req.Components), ErrInvalidInput)
	}
	if len(req.ComponentKCVs) != 0 && len(req.ComponentKCVs) != len(req.Components) {
		return KeyInfo{}, fmt.Errorf("importing key: %d check values for %d components: %w", len(req.ComponentKCVs), len(req.Components), ErrInvalidInput)
	}
	if req.KCV == "" {
		return KeyInfo{}, fmt.Errorf("importing key: combined check value required: %w", ErrInvalidInput)
	}
	key := make(emv.SecretBytes, n)
	defer key.Wipe()
	for i, c := range req.Components {
		if len(c) != n {
			return KeyInfo{}, fmt.Errorf("importing key: component %d has %d bytes, want %d: %w", i+1, len(c), n, ErrKeySpec)
		}
		if len(req.ComponentKCVs) != 0 {
			kcv, err := checkValue(rec.Spec, c)
			if err != nil {
				return KeyInfo{}, err
			}
			if !kcvEqual(kcv, req.ComponentKCVs[i]) {
				return KeyInfo{}, fmt.Errorf("importing key: component %d: %w", i+1, ErrKCVMismatch)
			}
		}
		subtle.XORBytes(key, key, c)
	}
	if isTDES(rec.Spec) {
		adj := emv.AdjustParity(key)
		copy(key, adj)
		emv.SecretBytes(adj).Wipe()
		if singleLength(key) {
			return KeyInfo{}, fmt.Errorf("importing key: %w", ErrWeakKey)
		}
	}
	kcv, err := checkValue(rec.Spec, key)
	if err != nil {
		return KeyInfo{}, err
	}
	if !kcvEqual(kcv, req.KCV) {
		return KeyInfo{}, fmt.Errorf("importing key: combined key: %w", ErrKCVMismatch)
	}
	return h.storeKey(ctx, rec, key)
}

func kcvEqual(have, stated string) bool {
	stated = strings.ToUpper(strings.ReplaceAll(strings.TrimSpace(stated), " ", ""))
	return len(stated) >= 4 && strings.HasPrefix(have, stated)
}

// Rotate creates a new active version of ref with fresh material of the
// same type, spec, tenant and label, and retires the previous active
// version. The retired version still verifies and opens until retireUntil;
// zero means its own expiry, or now + Config.RetireOverlap when it has
// none. It returns the new version's info.
func (h *HSM) Rotate(ctx context.Context, ref string, retireUntil time.Time) (KeyInfo, error) {
	recs, err := h.store.ListKeys(ctx, emv.KeyFilter{Ref: ref})
	if err != nil {
		return KeyInfo{}, fmt.Errorf("rotating key %s: %w", ref, err)
	}
	if len(recs) == 0 {
		return KeyInfo{}, fmt.Errorf("rotating key %s: %w", ref, ErrKeyNotFound)
	}
	if t, ok := tenantFrom(ctx); ok && recs[0].Tenant != "" && recs[0].Tenant != t {
		return KeyInfo{}, fmt.Errorf("rotating key %s: %w", ref, ErrKeyNotFound)
	}
	last := recs[len(recs)-1]
	var prev *emv.KeyRecord
	for i := len(recs) - 1; i >= 0; i-- {
		if recs[i].Status == emv.KeyActive {
			prev = &recs[i]
			break
		}
	}
	req := KeyRequest{Type: last.Type, Spec: last.Spec, Tenant: last.Tenant, Label: last.Label}
	if !last.Expires.IsZero() {
		req.Expires = h.clock().Add(last.Expires.Sub(last.Activated))
	}
	info, err := h.generateVersion(ctx, req, ref, last.Version+1)
	if err != nil {
		return KeyInfo{}, err
	}
	if prev != nil {
		until := retireUntil.UTC()
		if until.IsZero() {
			until = prev.Expires
		}
		if until.IsZero() {
			until = h.clock().Add(h.overlap)
		}
		if err := h.store.UpdateKeyStatus(ctx, ref, prev.Version, emv.KeyRetired, until); err != nil {
			return info, fmt.Errorf("retiring key %s v%d: %w", ref, prev.Version, err)
		}
	}
	h.forget(ref)
	return info, nil
}

// Retire retires every version of ref now, leaving each usable for
// verification until until (zero: not at all).
func (h *HSM) Retire(ctx context.Context, ref string, until time.Time) error {
	recs, err := h.store.ListKeys(ctx, emv.KeyFilter{Ref: ref})
	if err != nil {
		return fmt.Errorf("retiring key %s: %w", ref, err)
	}
	if len(recs) == 0 {
		return fmt.Errorf("retiring key %s: %w", ref, ErrKeyNotFound)
	}
	for _, r := range recs {
		if r.Status == emv.KeyActive {
			if err := h.store.UpdateKeyStatus(ctx, ref, r.Version, emv.KeyRetired, until.UTC()); err != nil {
				return fmt.Errorf("retiring key %s v%d: %w", ref, r.Version, err)
			}
		}
	}
	h.forget(ref)
	return nil
}

// ListKeys lists key versions (never their material). With a tenant in
// ctx (WithTenant) it lists that tenant's keys and the shared ones.
func (h *HSM) ListKeys(ctx context.Context, f emv.KeyFilter) ([]KeyInfo, error) {
	recs, err := h.store.ListKeys(ctx, f)
	if err != nil {
		return nil, fmt.Errorf("listing keys: %w", err)
	}
	t, scoped := tenantFrom(ctx)
	out := make([]KeyInfo, 0, len(recs))
	for _, r := range recs {
		if scoped && r.Tenant != "" && r.Tenant != t {
			continue
		}
		out = append(out, infoOf(r))
	}
	return out, nil
}

// KeyInfo returns the metadata of version v of ref (0: the active one).
func (h *HSM) KeyInfo(ctx context.Context, ref string, v int) (KeyInfo, error) {
	f, err := h.resolve(ctx, ref)
	if err != nil {
		return KeyInfo{}, err
	}
	if v == 0 {
		v = f.active
	}
	rec, err := h.store.GetKey(ctx, ref, v)
	if err != nil {
		return KeyInfo{}, fmt.Errorf("getting key %s v%d: %w", ref, v, err)
	}
	return infoOf(rec), nil
}
