// Package decider is termsim's local authorization decision endpoint
// (docs/webhooks.md, "Authorization decisions"): an HTTP server that
// answers cardhost's decision requests by simple rules (approve, decline
// above an amount, approve part, sleep, fail), for scenarios
// (`decider:` steps) and for `termsim decider` beside a load run. It
// verifies each request's Standard Webhooks signature when it knows the
// secret, and counts what it saw.
package decider

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/cardhost/cardhost/issuance/whsig"
)

// Rules say how the decider answers. The zero value approves everything
// at once.
type Rules struct {
	// DeclineAbove declines (approved:false) a request whose card_amount
	// is above it; 0: never.
	DeclineAbove int64 `yaml:"decline_above" json:"decline_above,omitempty"`
	// Reason is sent with a decline (insufficient_funds, suspected_fraud,
	// do_not_honor or none).
	Reason string `yaml:"reason" json:"reason,omitempty"`
	// Partial approves at most this amount (card currency); 0: all.
	Partial int64 `yaml:"partial" json:"partial,omitempty"`
	// Sleep is waited before answering (a timeout when longer than the
	// endpoint's timeout_ms).
	Sleep time.Duration `yaml:"sleep" json:"sleep,omitempty"`
	// Status answers this HTTP status instead of 200 (an error).
	Status int `yaml:"status" json:"status,omitempty"`
}

// Answer is what the rules answer a request for cardAmount.
func (r Rules) Answer(cardAmount int64) map[string]any {
	if r.DeclineAbove > 0 && cardAmount > r.DeclineAbove {
		a := map[string]any{"approved": false}
		if r.Reason != "" {
			a["reason"] = r.Reason
		}
		return a
	}
	a := map[string]any{"approved": true}
	if r.Partial > 0 && r.Partial < cardAmount {
		a["amount"] = r.Partial
	}
	return a
}

// Server is a running decider. Safe for concurrent use.
type Server struct {
	ln  net.Listener
	srv *http.Server

	mu     sync.Mutex
	rules  Rules
	secret whsig.Secret

	// Requests counts the decision requests received; BadSignatures those
	// whose signature did not verify under the secret (when one is set).
	Requests, BadSignatures atomic.Int64
}

// Start listens on addr ("127.0.0.1:0" for any free port) and serves.
func Start(addr string, r Rules) (*Server, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("decider: %w", err)
	}
	s := &Server{ln: ln, rules: r}
	s.srv = &http.Server{Handler: s, ReadHeaderTimeout: 5 * time.Second}
	go s.srv.Serve(ln)
	return s, nil
}

// URL is where cardhost is to POST (PUT /v1/authorization-decision).
func (s *Server) URL() string { return "http://" + s.ln.Addr().String() + "/decide" }

// Set changes the rules.
func (s *Server) Set(r Rules) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.rules = r
}

// SetSecret sets the whsec_ secret requests must be signed with.
func (s *Server) SetSecret(secret string) error {
	sec, err := whsig.ParseSecret(secret)
	if err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.secret = sec
	return nil
}

// Close stops the server.
func (s *Server) Close() error {
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	if err := s.srv.Shutdown(ctx); err != nil && !errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	return s.srv.Close()
}

// ServeHTTP answers one decision request.
func (s *Server) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	body, err := io.ReadAll(io.LimitReader(req.Body, 1<<20))
	if err != nil || req.Method != http.MethodPost {
		http.Error(w, "a POST with a body", http.StatusBadRequest)
		return
	}
	s.Requests.Add(1)
	s.mu.Lock()
	r, secret := s.rules, s.secret
	s.mu.Unlock()
	if secret != nil && whsig.Verify(req.Header, body, time.Now(), 5*time.Minute, secret) != nil {
		s.BadSignatures.Add(1)
		http.Error(w, "bad signature", http.StatusUnauthorized)
		return
	}
	var q struct {
		CardAmount int64 `json:"card_amount"`
	}
	if err := json.Unmarshal(body, &q); err != nil {
		http.Error(w, "not JSON", http.StatusBadRequest)
		return
	}
	if r.Sleep > 0 {
		select {
		case <-time.After(r.Sleep):
		case <-req.Context().Done():
			return
		}
	}
	if r.Status != 0 && r.Status != http.StatusOK {
		http.Error(w, "configured failure", r.Status)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(r.Answer(q.CardAmount))
}
