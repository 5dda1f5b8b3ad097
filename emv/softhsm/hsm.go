package softhsm

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"errors"
	"fmt"
	"hash"
	"io"
	"sort"
	"sync"
	"time"

	"github.com/cardhost/cardhost/emv"
)

// HSM is the software HSM: an agent that performs cryptographic operations
// on keys named by reference and never hands out a clear key. Keys are
// stored wrapped in a KeyStore; unwrapped keys are cached for
// Config.CacheTTL.
//
// An HSM is safe for concurrent use by multiple goroutines. Each cached key
// has its own read-write lock: operations hold it for reading while they
// use the key, and eviction takes it for writing before wiping the key, so
// no operation ever sees a wiped key.
type HSM struct {
	store    KeyStore
	master   *masterKey
	ttl      time.Duration
	overlap  time.Duration
	validity time.Duration
	now      func() time.Time
	rand     io.Reader

	mu       sync.Mutex
	keys     map[memKey]*key
	families map[string]*family
}

// key is one unwrapped key version in memory.
type key struct {
	mu      sync.RWMutex
	dead    bool // wiped: reload
	expires time.Time

	rec   emv.KeyRecord // metadata; Wrapped is nil
	raw   emv.SecretBytes
	block cipher.Block      // TDES or AES keys
	aead  cipher.AEAD       // PAN-DEK
	ec    *ecdsa.PrivateKey // CA, ECDH
	index hash.Cloner       // PAN-IDX: HMAC-SHA-256 keyed, the index's domain written (panIndex)
}

// family is the cached version list of one reference.
type family struct {
	expires time.Time
	active  int   // active version (0: none)
	verify  []int // versions usable for verification, active first
	tenant  string
	typ     emv.KeyType
}

// New returns an HSM that keeps its keys in store, wrapped under the
// master key that cfg names. It fails with ErrNoMasterKey or ErrMasterKey
// when the master key is missing or malformed.
func New(cfg Config, store KeyStore) (*HSM, error) {
	if store == nil {
		return nil, errors.New("softhsm: nil key store")
	}
	mk, err := loadMasterKey(cfg)
	if err != nil {
		return nil, err
	}
	h := &HSM{
		store:    store,
		master:   mk,
		ttl:      cfg.CacheTTL,
		overlap:  cfg.RetireOverlap,
		validity: cfg.CertValidity,
		now:      cfg.Now,
		rand:     cfg.Rand,
		keys:     make(map[memKey]*key),
		families: make(map[string]*family),
	}
	if h.ttl == 0 {
		h.ttl = DefaultCacheTTL
	}
	if h.overlap <= 0 {
		h.overlap = DefaultRetireOverlap
	}
	if h.validity <= 0 {
		h.validity = DefaultCertValidity
	}
	if h.now == nil {
		h.now = time.Now
	}
	if h.rand == nil {
		h.rand = rand.Reader
	}
	return h, nil
}

// MasterKCV returns the master key's check value (6 hex digits), which
// operators compare with the value recorded at the key ceremony.
func (h *HSM) MasterKCV() string { return h.master.kcv }

// clock is the HSM's time, at microsecond precision: key records keep it in
// their authenticated header, and PostgreSQL stores microseconds.
func (h *HSM) clock() time.Time { return h.now().UTC().Truncate(time.Microsecond) }

// Purge wipes and forgets every cached key. Call it on shutdown.
func (h *HSM) Purge() {
	h.mu.Lock()
	keys := h.keys
	h.keys = make(map[memKey]*key)
	h.families = make(map[string]*family)
	h.mu.Unlock()
	for _, k := range keys {
		k.wipe()
	}
}

func (k *key) wipe() {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.dead = true
	k.raw.Wipe()
	k.raw = nil
	k.block, k.aead, k.ec, k.index = nil, nil, nil, nil
}

type tenantCtxKey struct{}

// WithTenant returns a context that scopes key look-ups to tenant: a key
// that belongs to another tenant then answers ErrKeyNotFound. Keys with no
// tenant are shared and visible to all.
func WithTenant(ctx context.Context, tenant string) context.Context {
	return context.WithValue(ctx, tenantCtxKey{}, tenant)
}

func tenantFrom(ctx context.Context) (string, bool) {
	t, ok := ctx.Value(tenantCtxKey{}).(string)
	return t, ok
}

// resolve returns the cached family of ref, loading it when missing or
// stale.
func (h *HSM) resolve(ctx context.Context, ref string) (*family, error) {
	now := h.clock()
	h.mu.Lock()
	f, ok := h.families[ref]
	h.mu.Unlock()
	if !ok || !now.Before(f.expires) {
		recs, err := h.store.ListKeys(ctx, emv.KeyFilter{Ref: ref})
		if err != nil {
			return nil, fmt.Errorf("listing key %s: %w", ref, err)
		}
		if len(recs) == 0 {
			return nil, fmt.Errorf("resolving key %s: %w", ref, ErrKeyNotFound)
		}
		f = &family{expires: now.Add(h.ttl), tenant: recs[0].Tenant, typ: recs[0].Type}
		sort.Slice(recs, func(i, j int) bool { return recs[i].Version > recs[j].Version })
		var retired []int
		for _, r := range recs {
			switch r.Status {
			case emv.KeyActive:
				if f.active == 0 {
					f.active = r.Version
				}
			case emv.KeyRetired:
				retired = append(retired, r.Version)
			}
		}
		if f.active != 0 {
			f.verify = append(f.verify, f.active)
		}
		f.verify = append(f.verify, retired...)
		if h.ttl > 0 {
			h.mu.Lock()
			h.families[ref] = f
			h.mu.Unlock()
		}
	}
	if t, ok := tenantFrom(ctx); ok && f.tenant != "" && f.tenant != t {
		return nil, fmt.Errorf("resolving key %s: %w", ref, ErrKeyNotFound)
	}
	return f, nil
}

// forget drops cached state for ref (after a ceremony changed it).
func (h *HSM) forget(ref string) {
	h.mu.Lock()
	delete(h.families, ref)
	var stale []*key
	for k, v := range h.keys {
		if k.ref == ref {
			stale = append(stale, v)
			delete(h.keys, k)
		}
	}
	h.mu.Unlock()
	for _, k := range stale {
		k.wipe()
	}
}

// load returns version v of ref unwrapped, read-locked: the caller must
// call k.mu.RUnlock when done.
func (h *HSM) load(ctx context.Context, ref string, v int) (*key, error) {
	mk := memKey{ref, v}
	now := h.clock()
	for attempt := 0; attempt < 3; attempt++ {
		h.mu.Lock()
		k, ok := h.keys[mk]
		if ok && !now.Before(k.expires) {
			delete(h.keys, mk)
			h.mu.Unlock()
			k.wipe()
			ok = false
		} else {
			h.mu.Unlock()
		}
		if !ok {
			var err error
			k, err = h.unwrapRecord(ctx, ref, v)
			if err != nil {
				return nil, err
			}
			k.expires = now.Add(h.ttl)
			if h.ttl > 0 {
				h.mu.Lock()
				if old, raced := h.keys[mk]; raced && now.Before(old.expires) {
					h.mu.Unlock()
					k.wipe()
					k = old
				} else {
					h.keys[mk] = k
					h.mu.Unlock()
				}
			}
		}
		k.mu.RLock()
		if !k.dead {
			return k, nil
		}
		k.mu.RUnlock()
	}
	return nil, fmt.Errorf("loading key %s v%d: cache contention", ref, v)
}

// release ends the use of a key returned by load. Uncached keys (CacheTTL
// negative) are wiped at once.
func (h *HSM) release(k *key) {
	k.mu.RUnlock()
	if h.ttl < 0 {
		k.wipe()
	}
}

func (h *HSM) unwrapRecord(ctx context.Context, ref string, v int) (*key, error) {
	rec, err := h.store.GetKey(ctx, ref, v)
	if err != nil {
		return nil, fmt.Errorf("loading key %s v%d: %w", ref, v, err)
	}
	raw, err := h.master.unwrap(&rec)
	if err != nil {
		return nil, err
	}
	rec.Wrapped = nil
	k, err := newKey(rec, raw)
	if err != nil {
		raw.Wipe()
		return nil, err
	}
	return k, nil
}

// newKey builds the in-memory form of a key (expanded ciphers).
func newKey(rec emv.KeyRecord, raw emv.SecretBytes) (*key, error) {
	if n, ok := specLen[rec.Spec]; !ok || n != len(raw) {
		return nil, fmt.Errorf("loading key %s v%d: %w", rec.Ref, rec.Version, ErrKeySpec)
	}
	k := &key{rec: rec, raw: raw}
	var err error
	switch {
	case isTDES(rec.Spec):
		k.block, err = emv.NewTDES(raw)
	case isAES(rec.Spec):
		k.block, err = aes.NewCipher(raw)
		if err == nil && rec.Type == emv.KeyPANDEK {
			k.aead, err = cipher.NewGCM(k.block)
		}
	case rec.Spec == emv.KeySpecECP256:
		k.ec, err = ecdsa.ParseRawPrivateKey(elliptic.P256(), raw)
	}
	if err == nil && rec.Type == emv.KeyPANIDX {
		k.index, err = newPANIndexer(raw)
	}
	if err != nil {
		return nil, fmt.Errorf("loading key %s v%d: %w", rec.Ref, rec.Version, ErrKeySpec)
	}
	return k, nil
}

// checkUsable checks the version's type against the operation and its
// dates against now. forCreate means the operation makes something new
// (only active versions may).
func (h *HSM) checkUsable(k *key, o op, forCreate bool) error {
	r := &k.rec
	if !o.allows(r.Type) {
		return fmt.Errorf("using key %s (%s): %w", r.Ref, r.Type, ErrKeyUsage)
	}
	now := h.clock()
	if now.Before(r.Activated) {
		return fmt.Errorf("using key %s v%d: %w", r.Ref, r.Version, ErrKeyExpired)
	}
	switch r.Status {
	case emv.KeyActive:
		if !r.Expires.IsZero() && !now.Before(r.Expires) {
			return fmt.Errorf("using key %s v%d: %w", r.Ref, r.Version, ErrKeyExpired)
		}
	case emv.KeyRetired:
		if forCreate {
			return fmt.Errorf("using retired key %s v%d to create: %w", r.Ref, r.Version, ErrKeyUsage)
		}
		if !now.Before(r.UsableUntil) {
			return fmt.Errorf("using key %s v%d: %w", r.Ref, r.Version, ErrKeyExpired)
		}
	default:
		return fmt.Errorf("using key %s v%d: status %q: %w", r.Ref, r.Version, r.Status, ErrKeyUsage)
	}
	return nil
}

// withActive runs fn with the active version of ref after checking that it
// may perform o.
func (h *HSM) withActive(ctx context.Context, ref string, o op, fn func(*key) error) error {
	f, err := h.resolve(ctx, ref)
	if err != nil {
		return err
	}
	if !o.allows(f.typ) {
		return fmt.Errorf("using key %s (%s): %w", ref, f.typ, ErrKeyUsage)
	}
	if f.active == 0 {
		return fmt.Errorf("using key %s: no active version: %w", ref, ErrKeyExpired)
	}
	k, err := h.load(ctx, ref, f.active)
	if err != nil {
		return err
	}
	defer h.release(k)
	if err := h.checkUsable(k, o, true); err != nil {
		return err
	}
	return fn(k)
}

// withVersion runs fn with version v of ref (0: the active one) for an
// operation that only verifies or opens.
func (h *HSM) withVersion(ctx context.Context, ref string, v int, o op, fn func(*key) error) error {
	f, err := h.resolve(ctx, ref)
	if err != nil {
		return err
	}
	if !o.allows(f.typ) {
		return fmt.Errorf("using key %s (%s): %w", ref, f.typ, ErrKeyUsage)
	}
	if v == 0 {
		v = f.active
	}
	k, err := h.load(ctx, ref, v)
	if err != nil {
		return err
	}
	defer h.release(k)
	if err := h.checkUsable(k, o, false); err != nil {
		return err
	}
	return fn(k)
}

// checkType fails with ErrKeyUsage unless ref's type allows o. Operations
// that take two keys call it for the second before using the first, so
// nothing is deciphered for a call that cannot succeed.
func (h *HSM) checkType(ctx context.Context, ref string, o op) error {
	f, err := h.resolve(ctx, ref)
	if err != nil {
		return err
	}
	if !o.allows(f.typ) {
		return fmt.Errorf("using key %s (%s): %w", ref, f.typ, ErrKeyUsage)
	}
	return nil
}

// eachVerifiable runs fn on every version of ref usable for verification,
// active first, until fn reports done. It returns the version that
// reported done (0 if none).
func (h *HSM) eachVerifiable(ctx context.Context, ref string, o op, fn func(*key) (bool, error)) (int, error) {
	f, err := h.resolve(ctx, ref)
	if err != nil {
		return 0, err
	}
	if !o.allows(f.typ) {
		return 0, fmt.Errorf("using key %s (%s): %w", ref, f.typ, ErrKeyUsage)
	}
	tried := 0
	var lastErr error
	for _, v := range f.verify {
		k, err := h.load(ctx, ref, v)
		if err != nil {
			return 0, err
		}
		if err := h.checkUsable(k, o, false); err != nil {
			h.release(k)
			lastErr = err
			continue
		}
		tried++
		done, err := fn(k)
		h.release(k)
		if err != nil {
			return 0, err
		}
		if done {
			return v, nil
		}
	}
	if tried == 0 {
		if lastErr == nil {
			lastErr = fmt.Errorf("using key %s: no usable version: %w", ref, ErrKeyExpired)
		}
		return 0, lastErr
	}
	return 0, nil
}
