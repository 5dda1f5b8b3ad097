package host

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/cardhost/cardhost/emv/pinblock"
)

// Acquirer is an institution that sends ISO 8583 traffic, as the host uses
// it: known by its field 32, with its zone keys and security settings
// (docs/operations.md, "Acquirers"; docs/iso8583.md sections 5.9 and 5.15).
type Acquirer struct {
	ID string // field 32, 1 to 11 digits, matched exactly as sent
	// ZPKRef is the zone PIN key field 52 arrives under ("" none: a PIN
	// block is declined security_violation).
	ZPKRef string
	// ZAKRef is the zone MAC key ("" none: its messages carry no MAC).
	ZAKRef string
	// MACRequired: every message must carry a MAC (fields 64/128); only
	// with a ZAKRef. Without it a MAC is still verified when present.
	MACRequired bool
	// PINFormats are the ISO 9564-1 formats field 52 may be in; empty
	// means DefaultPINFormats.
	PINFormats []pinblock.Format
}

// DefaultPINFormats are the PIN block formats accepted from an acquirer
// that names none: 0 and 3, the 8-byte formats bound to the PAN. Format 1
// (not bound to the PAN) must be allowed per acquirer; format 4 (16
// bytes) does not fit field 52's 8.
var DefaultPINFormats = []pinblock.Format{pinblock.Format0, pinblock.Format3}

// FieldPINFormats are the formats an acquirer may be configured for: the
// 8-byte formats field 52 can carry.
var FieldPINFormats = []pinblock.Format{pinblock.Format0, pinblock.Format1, pinblock.Format3}

// AcceptedPINFormats returns a's PIN block formats (DefaultPINFormats
// when it names none).
func (a Acquirer) AcceptedPINFormats() []pinblock.Format {
	if len(a.PINFormats) == 0 {
		return DefaultPINFormats
	}
	return a.PINFormats
}

// MACs reports whether the host MACs its answers to a's messages: when a
// requires MACs, or when the request carried one (macPresent).
func (a Acquirer) MACs(macPresent bool) bool {
	return a.ZAKRef != "" && (a.MACRequired || macPresent)
}

// CheckPINFormats reports whether fs is a valid PIN format setting: one to
// three distinct formats of FieldPINFormats.
func CheckPINFormats(fs []pinblock.Format) error {
	if len(fs) == 0 {
		return fmt.Errorf("at least one PIN block format is needed")
	}
	for i, f := range fs {
		if !slices.Contains(FieldPINFormats, f) {
			return fmt.Errorf("PIN block format %d cannot arrive in field 52 (8 bytes): use 0, 1 or 3", int(f))
		}
		if slices.Contains(fs[:i], f) {
			return fmt.Errorf("PIN block format %d given twice", int(f))
		}
	}
	return nil
}

// acquirerBook is the engine's copy of the acquirers (Ledger.Acquirers),
// read whole and kept in memory, so that no request waits for the database
// to learn its acquirer's keys and settings (there are few acquirers).
// It is read again when it is older than its TTL, and at most once a
// second when a request names an acquirer it does not hold (a new
// acquirer is served at once). Safe for concurrent use.
type acquirerBook struct {
	load func(ctx context.Context) ([]Acquirer, error)
	ttl  time.Duration
	now  func() time.Time

	mu  sync.Mutex // held while loading
	cur atomic.Pointer[acquirerSnapshot]
}

type acquirerSnapshot struct {
	byID   map[string]Acquirer
	loaded time.Time
}

// acquirerMissInterval bounds how often a request for an acquirer the book
// does not hold reads the table again.
const acquirerMissInterval = time.Second

func newAcquirerBook(load func(context.Context) ([]Acquirer, error), ttl time.Duration, now func() time.Time) *acquirerBook {
	return &acquirerBook{load: load, ttl: ttl, now: now}
}

// get returns the acquirer with field 32 id, or ErrNotFound.
func (b *acquirerBook) get(ctx context.Context, id string) (Acquirer, error) {
	now := b.now()
	s := b.cur.Load()
	if s != nil && now.Sub(s.loaded) < b.ttl {
		if a, ok := s.byID[id]; ok {
			return a, nil
		}
		if now.Sub(s.loaded) < acquirerMissInterval {
			return Acquirer{}, ErrNotFound
		}
	}
	s, err := b.reload(ctx, s)
	if err != nil {
		return Acquirer{}, err
	}
	if a, ok := s.byID[id]; ok {
		return a, nil
	}
	return Acquirer{}, ErrNotFound
}

// reload reads the acquirers again unless another request did since seen
// was current.
func (b *acquirerBook) reload(ctx context.Context, seen *acquirerSnapshot) (*acquirerSnapshot, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if s := b.cur.Load(); s != seen && s != nil {
		return s, nil
	}
	as, err := b.load(ctx)
	if err != nil {
		return nil, fmt.Errorf("reading acquirers: %w", err)
	}
	s := &acquirerSnapshot{byID: make(map[string]Acquirer, len(as)), loaded: b.now()}
	for _, a := range as {
		s.byID[a.ID] = a
	}
	b.cur.Store(s)
	return s, nil
}
