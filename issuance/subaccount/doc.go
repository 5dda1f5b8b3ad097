// Package subaccount is the room of sub-accounts (issue 15, point 5;
// docs/api.md "Sub-accounts"): a tenant may own sub-tenants, tenants in
// their own right (cards, products, keys, balances, events) linked to it,
// and act for one by sending its id in the x-on-behalf-of header, as in
// UQPay's master account and sub-account model. One level deep: a
// sub-account owns none and acts for no other tenant.
//
// It is a domain room beside package issuance, as issuance/catalog is: it
// imports issuance (tenants, errors, ids, pages) and kafka (the
// tenant.created event), and declares the Store it needs, which the
// PostgreSQL adapter implements. It must not import an adapter.
package subaccount
