package issuance

// Actor is who asks for an operation that is audited or restricted: the
// API key (and its scopes), the request id, and whether sandbox rules
// apply (the tenant or the whole server is in sandbox mode).
type Actor struct {
	APIKeyID  string
	RequestID string
	Scopes    []string
	Sandbox   bool
	// KeyTenantID is the tenant of the API key when it acts for one of its
	// sub-accounts (x-on-behalf-of); "" when the key's own tenant acts.
	KeyTenantID string
}

// has reports whether the actor's key carries scope.
func (a Actor) has(scope string) bool {
	for _, s := range a.Scopes {
		if s == scope {
			return true
		}
	}
	return false
}

// audit returns an audit entry for action on a card.
func (a Actor) audit(action string, c *Card, s *Service) *AuditEntry {
	now := s.now()
	return &AuditEntry{ID: NewID("aud", now), TenantID: c.TenantID, CardID: c.ID, Action: action, APIKeyID: a.APIKeyID, KeyTenantID: a.KeyTenantID, RequestID: a.RequestID, At: now}
}
