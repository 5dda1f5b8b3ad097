package issuance

// Slugs of catalog, certificate and request-signing rejections; each has a
// row in the REST adapter's slug table.
const (
	// SlugTemplateNotFound: a product names a data prep template the
	// tenant does not have.
	SlugTemplateNotFound = "template_not_found"
	// SlugLayoutNotFound: a product names a card layout the tenant does not
	// have.
	SlugLayoutNotFound = "layout_not_found"
	// SlugEmbosserNotFound: a product names an embosser the tenant does not
	// have.
	SlugEmbosserNotFound = "embosser_not_found"
	// SlugKeyNotConfigured: a platform key (CA, ECDH, ...) has no key
	// assigned to its role (`cardhost keys assign`); the operation cannot
	// run until an operator assigns one.
	SlugKeyNotConfigured = "key_not_configured"
	// SlugSigningKeyNotFound: the tenant has no request-signing key to
	// show or delete.
	SlugSigningKeyNotFound = "signing_key_not_found"
)
