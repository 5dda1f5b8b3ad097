package rest

import (
	"context"
	"encoding/json"
	"net/http"
	"sync"
	"time"

	"github.com/gofiber/fiber/v2"
)

type healthResponse struct {
	Status  string `json:"status" enum:"ok"`
	Version string `json:"version,omitempty"`
}

type readyResponse struct {
	Status string            `json:"status" enum:"ready,not_ready"`
	Checks map[string]string `json:"checks" doc:"each dependency: ok or its error"`
	// Warnings never make the instance not ready.
	Warnings map[string]string `json:"warnings,omitempty" doc:"ways this instance runs that an operator should know about, each with its reason (kafka: production on the embedded in-memory broker); absent when none"`
}

func (s *Server) healthz(c *fiber.Ctx) error {
	return c.JSON(healthResponse{Status: "ok", Version: s.cfg.Version})
}

func (s *Server) readyz(c *fiber.Ctx) error {
	ctx, cancel := context.WithTimeout(c.UserContext(), 2*time.Second)
	defer cancel()
	res := readyResponse{Status: "ready", Checks: map[string]string{}, Warnings: s.cfg.ReadyWarnings}
	var mu sync.Mutex
	var wg sync.WaitGroup
	for _, chk := range s.deps.Ready {
		wg.Add(1)
		go func() {
			defer wg.Done()
			v := "ok"
			if err := chk.Check(ctx); err != nil {
				v = err.Error()
			}
			mu.Lock()
			res.Checks[chk.Name] = v
			if v != "ok" {
				res.Status = "not_ready"
			}
			mu.Unlock()
		}()
	}
	wg.Wait()
	status := http.StatusOK
	if res.Status != "ready" {
		status = http.StatusServiceUnavailable
	}
	return c.Status(status).JSON(res)
}

func (s *Server) serveOpenAPI(c *fiber.Ctx) error {
	b, err := json.MarshalIndent(s.openAPI(c.BaseURL()), "", "  ")
	if err != nil {
		return err
	}
	c.Set(fiber.HeaderContentType, fiber.MIMEApplicationJSON)
	return c.Send(append(b, '\n'))
}
