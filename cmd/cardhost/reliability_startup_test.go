package main

import (
	"context"
	"net/http"
	"testing"
	"time"

	pgxv5 "github.com/jackc/pgx/v5"
)

// TestReliabilityStartWhileAnotherInstanceMigrates: instances started
// together take turns on the migrations (an advisory lock); one that waits
// longer than CARDHOST_DB_TIMEOUT, the statement bound meant for
// authorizations, must keep waiting and then start, not fail. Here the
// test holds the migration lock for 2 s while cardhost starts with a
// 300 ms statement timeout.
func TestReliabilityStartWhileAnotherInstanceMigrates(t *testing.T) {
	env := testEnv(t)
	env["CARDHOST_DB_TIMEOUT"] = "300ms"
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := pgxv5.Connect(ctx, env["DATABASE_URL"])
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	const key = `hashtext('cardhost.migrate.' || current_schema())` // postgres.lockKey("migrate")
	if _, err := conn.Exec(ctx, `SELECT pg_advisory_lock(`+key+`)`); err != nil {
		t.Fatal(err)
	}
	const hold = 2 * time.Second
	released := make(chan error, 1)
	go func() {
		time.Sleep(hold)
		_, err := conn.Exec(ctx, `SELECT pg_advisory_unlock(`+key+`)`)
		released <- err
	}()
	start := time.Now()
	app := startApp(t, env)
	if err := <-released; err != nil {
		t.Fatal(err)
	}
	if took := time.Since(start); took < hold {
		t.Fatalf("started after %v, while the migration lock was held for %v", took, hold)
	}
	if status, _, body := httpGet(t, http.DefaultClient, "http://"+app.HTTPAddr()+"/readyz", ""); status != 200 {
		t.Fatalf("/readyz: %d %s", status, body)
	}
}
