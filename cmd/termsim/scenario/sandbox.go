package scenario

import (
	"cmp"
	"context"
	"fmt"
	"sync"

	"github.com/cardhost/cardhost/cmd/termsim/terminal"
)

// Issuer creates cards through the REST API and becomes them through the
// sandbox personalisation export: the way termsim gets cards it can act
// as without reading cardhost's database. It is safe for concurrent use.
type Issuer struct {
	// API is the REST client.
	API *API
	// TransportKey is the clear transport key the exports are sealed
	// under (DefaultTransportKeyHex in the sandbox).
	TransportKey []byte
}

// NewCard creates a card from r, sets its PIN through the sandbox
// simulator when pin is not empty, exports its personalisation record and
// opens it. The returned card has the API's card id.
func (is *Issuer) NewCard(ctx context.Context, r CardRequest, pin string) (*terminal.Card, CardInfo, error) {
	info, err := is.API.CreateCard(ctx, r)
	if err != nil {
		return nil, CardInfo{}, err
	}
	if pin != "" {
		if info, err = is.API.SetSandboxPIN(ctx, info.CardID, pin); err != nil {
			return nil, info, err
		}
	}
	c, err := is.Become(ctx, info.CardID)
	return c, info, err
}

// Become exports card id's personalisation record and opens it.
func (is *Issuer) Become(ctx context.Context, id string) (*terminal.Card, error) {
	p, err := is.API.ExportPerso(ctx, id)
	if err != nil {
		return nil, err
	}
	c, err := p.Open(is.TransportKey)
	if err != nil {
		return nil, fmt.Errorf("opening the personalisation record of %s: %w", id, err)
	}
	return c, nil
}

// NewCards creates n cards like r (each with the sandbox PIN pin when not
// empty), parallel at a time, and becomes them. It stops at the first
// error.
func (is *Issuer) NewCards(ctx context.Context, n, parallel int, r CardRequest, pin string) ([]*terminal.Card, error) {
	if parallel < 1 {
		parallel = 1
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	cards := make([]*terminal.Card, n)
	errs := make(chan error, n)
	sem := make(chan struct{}, parallel)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			select {
			case sem <- struct{}{}:
			case <-ctx.Done():
				return
			}
			defer func() { <-sem }()
			c, _, err := is.NewCard(ctx, r, pin)
			if err != nil {
				errs <- fmt.Errorf("card %d of %d: %w", i+1, n, err)
				cancel()
				return
			}
			cards[i] = c
		})
	}
	wg.Wait()
	close(errs)
	if err := <-errs; err != nil {
		return nil, err
	}
	return cards, nil
}

// DefaultProduct returns the product cards are created from when none is
// named: the first ACTIVE VIRTUAL LIMIT product (the sandbox's seeded one:
// a funded product's cards need money first), or else the first ACTIVE
// one.
func (is *Issuer) DefaultProduct(ctx context.Context) (Product, error) {
	ps, err := is.API.Products(ctx)
	if err != nil {
		return Product{}, err
	}
	var first *Product
	for i := range ps {
		if ps[i].Status != "ACTIVE" {
			continue
		}
		if ps[i].CardType == "VIRTUAL" && (ps[i].FundingMode == "" || ps[i].FundingMode == "LIMIT") {
			return ps[i], nil
		}
		if first == nil {
			first = &ps[i]
		}
	}
	if first == nil {
		return Product{}, fmt.Errorf("%w: the tenant has no ACTIVE card product", ErrAPIConfig)
	}
	return *first, nil
}

// LoadCVV2MaxTries is the CVV2 tries limit of LoadProduct's products:
// the most a product may allow.
const LoadCVV2MaxTries = 99

// LoadProduct returns the tenant's product for load runs in the funding
// mode (LIMIT, SHARED or PREPAID; docs/ledger.md), made like model but
// allowing LoadCVV2MaxTries consecutive wrong CVV2s: a card declines every
// card-not-present request 82 once it reaches its limit (docs/iso8583.md),
// and with the default of 5 a mix with a share of wrong CVV2s would reach
// it by chance and turn its right ones into declines. An ACTIVE product of
// the same name is reused.
func (is *Issuer) LoadProduct(ctx context.Context, model Product, mode string) (Product, error) {
	name := "termsim load " + mode
	ps, err := is.API.Products(ctx)
	if err != nil {
		return Product{}, err
	}
	for _, p := range ps {
		if p.Name == name && p.Status == "ACTIVE" && p.CVV2MaxTries == LoadCVV2MaxTries {
			return p, nil
		}
	}
	funding := mode
	if mode == "LIMIT" {
		funding = ""
	}
	return is.API.CreateProduct(ctx, ProductRequest{Name: name, LayoutID: model.LayoutID, TemplateID: model.TemplateID,
		DefaultEmbosserID: model.DefaultEmbosserID, Currency: model.Currency, CardType: "VIRTUAL", FundingMode: funding,
		CVV2Policy: cmp.Or(model.CVV2Policy, "REQUIRED"), CVV2MaxTries: LoadCVV2MaxTries})
}

// NewFundedCards creates n cards of LoadProduct's product of the funding
// mode (SHARED or PREPAID, docs/ledger.md) made like model, with balance
// each: a sandbox deposit of it all, moved to each PREPAID card (SHARED
// cards spend the tenant's program balance).
func (is *Issuer) NewFundedCards(ctx context.Context, n int, mode string, model Product, r CardRequest, pin string, balance int64) ([]*terminal.Card, error) {
	p, err := is.LoadProduct(ctx, model, mode)
	if err != nil {
		return nil, err
	}
	r.ProductID = p.ID
	cards, err := is.NewCards(ctx, n, 8, r, pin)
	if err != nil {
		return nil, err
	}
	if err := is.API.Deposit(ctx, model.Currency, balance*int64(n)); err != nil {
		return nil, err
	}
	for _, c := range cards {
		if mode != "PREPAID" {
			break
		}
		if err := is.API.Recharge(ctx, c.ID, balance); err != nil {
			return nil, err
		}
	}
	return cards, nil
}
