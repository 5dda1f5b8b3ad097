package issuance

import "strconv"

// Cursor pagination (DESIGN.md "Lists"): a list returns at most Limit
// objects, newest first; StartingAfter names the last object of the
// previous page, and the next page holds the objects created before it.
// Ids sort by creation time (NewID), so the cursor is the id itself.

// Page sizes.
const (
	DefaultPageLimit = 20
	MaxPageLimit     = 100
)

// PageRequest asks for one page of a list. The zero value is the first page
// of DefaultPageLimit objects.
type PageRequest struct {
	// Limit is the page size, 1 to MaxPageLimit; 0 means DefaultPageLimit.
	Limit int
	// StartingAfter is the id of the last object of the previous page; ""
	// for the first page.
	StartingAfter string
}

// Size returns the effective page size.
func (p PageRequest) Size() int {
	if p.Limit <= 0 {
		return DefaultPageLimit
	}
	if p.Limit > MaxPageLimit {
		return MaxPageLimit
	}
	return p.Limit
}

// ValidatePage checks a page request for ids with the given prefix.
func ValidatePage(v *Validator, p PageRequest, prefix string) {
	v.Check(p.Limit >= 0 && p.Limit <= MaxPageLimit, "limit", "out_of_range", "between 1 and "+strconv.Itoa(MaxPageLimit))
	v.Check(p.StartingAfter == "" || ValidID(prefix, p.StartingAfter), "starting_after", "invalid", "an id returned by this list")
}
