package catalog

import (
	"context"
	"errors"
	"fmt"

	"github.com/cardhost/cardhost/issuance"
	"github.com/cardhost/cardhost/issuance/bins"
)

// BIN ranges: the operator assigns them (`cardhost tenants add-bin`); a
// tenant reads its own (GET /v1/bin-ranges) and makes templates (and
// imports PANs, package issuance) only inside them.

// BINRanges lists a tenant's BIN ranges by prefix.
func (s *Service) BINRanges(ctx context.Context, tenantID string) ([]bins.Range, error) {
	if tenantID == "" {
		return nil, issuance.ErrNotFound
	}
	return s.d.Catalog.BINRanges(ctx, tenantID)
}

// AllBINRanges lists every tenant's BIN ranges by prefix (operator).
func (s *Service) AllBINRanges(ctx context.Context) ([]bins.Range, error) {
	return s.d.Catalog.BINRanges(ctx, "")
}

// AssignBINRange gives a tenant a BIN range (operator). Rejections:
// validation_failed (not 6 to 8 digits), not_found (no such tenant),
// bin_range_conflict (the range overlaps another range, or another
// tenant's data prep template or cards: the message names them, for the
// operator only).
func (s *Service) AssignBINRange(ctx context.Context, tenantID, prefix string) (bins.Range, error) {
	var v issuance.Validator
	v.Check(bins.ValidPrefix(prefix), "prefix", "invalid", "6 to 8 digits")
	if err := v.Err(); err != nil {
		return bins.Range{}, err
	}
	r := bins.Range{Prefix: prefix, TenantID: tenantID, CreatedAt: s.now()}
	err := s.d.Catalog.AssignBINRange(ctx, r)
	var c *bins.Conflict
	switch {
	case errors.As(err, &c):
		return bins.Range{}, issuance.Errorf(bins.SlugConflict, "BIN range %s %s", prefix, c)
	case errors.Is(err, bins.ErrTenantNotFound):
		return bins.Range{}, issuance.Errorf(issuance.SlugNotFound, "no tenant %s", tenantID)
	case err != nil:
		return bins.Range{}, err
	}
	return r, nil
}

// RemoveBINRange takes a range back from a tenant (operator), for a range
// assigned by mistake. Rejections: bin_range_not_found, bin_range_in_use
// (the tenant has a data prep template or cards in it: its cards stay its
// own, so the range cannot go to anyone else).
func (s *Service) RemoveBINRange(ctx context.Context, tenantID, prefix string) error {
	err := s.d.Catalog.RemoveBINRange(ctx, tenantID, prefix)
	switch {
	case errors.Is(err, bins.ErrNotFound):
		return issuance.Errorf(bins.SlugNotFound, "tenant %s has no BIN range %s", tenantID, prefix)
	case errors.Is(err, bins.ErrInUse):
		return issuance.Errorf(bins.SlugInUse, "tenant %s has data prep templates or cards in BIN range %s", tenantID, prefix)
	case err != nil:
		return fmt.Errorf("removing BIN range: %w", err)
	}
	return nil
}

// checkIIN answers iin_outside_bin_ranges unless every PAN of the IIN lies
// in one of the tenant's ranges. Another tenant's IIN answers exactly as an
// IIN nobody holds: the check reads only the tenant's own ranges.
func (s *Service) checkIIN(ctx context.Context, tenantID, iin string) error {
	rs, err := s.d.Catalog.BINRanges(ctx, tenantID)
	if err != nil {
		return fmt.Errorf("reading BIN ranges: %w", err)
	}
	if !bins.Covers(rs, iin) {
		return &issuance.Error{Slug: bins.SlugIINOutside, Message: "the IIN is not in any of this tenant's BIN ranges",
			Fields: []issuance.FieldError{{Field: "iin", Code: "outside_bin_ranges", Message: "see GET /v1/bin-ranges"}}}
	}
	return nil
}
