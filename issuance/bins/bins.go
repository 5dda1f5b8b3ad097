package bins

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/cardhost/cardhost/iso/digit"
)

// Prefix lengths of a range: an IIN as ISO/IEC 7812-1 assigns it (6 or 8
// digits; 7 for a block of ten 8-digit IINs).
const (
	MinPrefix = 6
	MaxPrefix = 8
)

// Problem slugs of the rules on BIN ranges (issuance.Error slugs; the REST
// API maps them in its one problem table).
const (
	// SlugPANOutside: an imported PAN is not in any of the tenant's
	// ranges (422). The same answer whatever exists elsewhere.
	SlugPANOutside = "pan_outside_bin_ranges"
	// SlugIINOutside: a data prep template's IIN is not in any of the
	// tenant's ranges (422): another tenant's IIN answers exactly as one
	// nobody holds.
	SlugIINOutside = "iin_outside_bin_ranges"
	// SlugConflict: an operator's assignment would overlap another range,
	// or another tenant's template or cards (CLI only).
	SlugConflict = "bin_range_conflict"
	// SlugInUse: an operator's removal of a range the tenant still has
	// templates or cards in (CLI only).
	SlugInUse = "bin_range_in_use"
	// SlugNotFound: the tenant has no such range (CLI only).
	SlugNotFound = "bin_range_not_found"
)

// Range is one BIN range of a tenant.
type Range struct {
	Prefix    string    `json:"prefix" doc:"the range: every card number starting with these 6 to 8 digits"`
	TenantID  string    `json:"-"`
	CreatedAt time.Time `json:"created_at"`
	// Inherited marks a range of the tenant's parent, listed for a
	// sub-account: its templates may take IINs in it, its imports may not.
	Inherited bool `json:"inherited,omitempty" doc:"a range of the parent tenant, listed for a sub-account: its data prep templates may use it, its imported PANs may not"`
}

// Own returns the ranges of rs that are the tenant's own (not inherited
// from its parent).
func Own(rs []Range) []Range {
	var out []Range
	for _, r := range rs {
		if !r.Inherited {
			out = append(out, r)
		}
	}
	return out
}

// ValidPrefix reports whether p is a range prefix: 6 to 8 digits.
func ValidPrefix(p string) bool {
	return len(p) >= MinPrefix && len(p) <= MaxPrefix && digit.All(p)
}

// Overlap reports whether two prefixes share card numbers: one starts
// with the other.
func Overlap(a, b string) bool { return strings.HasPrefix(a, b) || strings.HasPrefix(b, a) }

// Covers reports whether digits (a PAN, or an IIN every PAN of which must
// be inside) lie in one of the ranges: some range's prefix starts them.
// An IIN shorter than a range's prefix is not covered by it (it would make
// card numbers outside it).
func Covers(rs []Range, digits string) bool {
	for _, r := range rs {
		if r.Prefix != "" && strings.HasPrefix(digits, r.Prefix) {
			return true
		}
	}
	return false
}

// Store keeps the ranges. Implementations must be safe for concurrent use
// and keep ranges disjoint even under concurrent assignments.
type Store interface {
	// AssignBINRange stores a range of a tenant. A *Conflict when it
	// would overlap a range (of any tenant), or hold a data prep template
	// or a card of another tenant; ErrTenantNotFound when the tenant does
	// not exist.
	AssignBINRange(ctx context.Context, r Range) error
	// RemoveBINRange deletes one of a tenant's ranges: ErrNotFound when
	// the tenant has none with this prefix, ErrInUse while the tenant (or
	// one of its sub-accounts) has a data prep template or a card in it.
	RemoveBINRange(ctx context.Context, tenantID, prefix string) error
	// BINRanges lists a tenant's ranges by prefix ("" lists every
	// tenant's, for the operator); for a sub-account, its parent's
	// ranges too, marked Inherited.
	BINRanges(ctx context.Context, tenantID string) ([]Range, error)
}

// Errors of Store.
var (
	ErrNotFound       = errors.New("no such BIN range for this tenant")
	ErrInUse          = errors.New("the tenant has data prep templates or cards in this BIN range")
	ErrTenantNotFound = errors.New("no such tenant")
)

// Conflict is an assignment refused because the range would overlap what
// another range or another tenant holds. It names the other tenant: it is
// for the operator, never for a tenant's API answer.
type Conflict struct {
	Prefix   string // the range, the template's IIN or the cards' BIN it overlaps
	What     string // "BIN range", "data prep template" or "cards"
	TenantID string // who holds it
}

func (c *Conflict) Error() string {
	return fmt.Sprintf("overlaps %s %s of tenant %s", c.What, c.Prefix, c.TenantID)
}
