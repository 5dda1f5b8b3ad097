package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cardhost/cardhost/cmd/cardhost/seedwalk"
	"github.com/cardhost/cardhost/kafka"
	"github.com/cardhost/cardhost/kafka/consume"
)

// seedWalkFiles are the five seed guides' walks, in the guides' order
// (shared/reference/seeds 000 to 004).
var seedWalkFiles = []string{"qpay", "offblocks", "uqpay", "pismo", "pintopay"}

// loadSeedWalks reads the path mapping table and every walk, failing the
// test on the first malformed file.
func loadSeedWalks(t *testing.T) (*seedwalk.Mapping, []*seedwalk.Walk) {
	t.Helper()
	dir := filepath.Join("..", "..", "testdata", "seeds")
	raw, err := os.ReadFile(filepath.Join(dir, "paths.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	m, err := seedwalk.ParseMapping("testdata/seeds/paths.yaml", raw)
	if err != nil {
		t.Fatal(err)
	}
	files, _ := filepath.Glob(filepath.Join(dir, "*.yaml"))
	if len(files) != len(seedWalkFiles)+1 {
		t.Fatalf("testdata/seeds holds %d YAML files, want paths.yaml and the %d walks %v", len(files), len(seedWalkFiles), seedWalkFiles)
	}
	var walks []*seedwalk.Walk
	for _, seed := range seedWalkFiles {
		name := "testdata/seeds/" + seed + ".yaml"
		raw, err := os.ReadFile(filepath.Join(dir, seed+".yaml"))
		if err != nil {
			t.Fatal(err)
		}
		w, err := seedwalk.ParseWalk(name, raw)
		if err != nil {
			t.Fatal(err)
		}
		if w.Seed != seed {
			t.Fatalf("%s: seed %q, want %q", name, w.Seed, seed)
		}
		walks = append(walks, w)
	}
	return m, walks
}

// TestSeedWalks runs each seed guide's walk (testdata/seeds/<seed>.yaml),
// request by request, against the real app: its REST API over HTTP on a
// free port, a fresh PostgreSQL schema and the embedded Kafka broker. Guide
// paths go through the path mapping table (testdata/seeds/paths.yaml);
// every step whose answer differs from what the guide says is reported,
// with the answer, and later steps still run.
func TestSeedWalks(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the app against PostgreSQL")
	}
	m, walks := loadSeedWalks(t)
	env := testEnv(t)
	app := startApp(t, env)
	status, body := app.get(t, app.SandboxKey, "/v1/tenant")
	var sandbox struct{ ID string }
	if err := json.Unmarshal(body, &sandbox); status != 200 || err != nil || sandbox.ID == "" {
		t.Fatalf("GET /v1/tenant with the sandbox key: %d %s", status, body)
	}
	cards := map[string]bool{} // the cards the walks made, by id
	for _, w := range walks {
		t.Run(w.Seed, func(t *testing.T) {
			id, key := sandbox.ID, app.SandboxKey
			if w.Tenant == "new" {
				id, key = cliTenant(t, env, "Seed walk "+w.Seed, true)
			}
			r := &seedwalk.Runner{
				Base: app.base(), Key: key, Mapping: m,
				Vars: map[string]string{"tenant_id": id},
				CLI: func(_ context.Context, args []string) (string, error) {
					code, out, errs := cli(t, getenvOf(env), args...)
					if code != 0 {
						return out + errs, fmt.Errorf("exit %d", code)
					}
					return out, nil
				},
			}
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
			defer cancel()
			results := r.Run(ctx, w)
			for _, v := range r.Captured() {
				if strings.HasPrefix(v, "crd_") {
					cards[v] = true
				}
			}
			failed := 0
			for _, res := range results {
				switch {
				case res.Passed() && res.Step.Pending != "":
					t.Errorf("%s\n    it passes: remove its pending (%s)", res, res.Step.Pending)
				case res.Passed():
					t.Log(res.String())
				case res.Step.Pending != "":
					t.Logf("pending (%s): %s", res.Step.Pending, res)
				default:
					failed++
					t.Error(res.String())
				}
			}
			if n := len(w.Steps); n == 0 || len(results) != len(w.Setup)+n {
				t.Fatalf("%d results for %d setup steps and %d guide steps", len(results), len(w.Setup), n)
			}
			if failed > 0 {
				t.Logf("%s: %d of %d steps fail", w.File, failed, len(results))
			}
		})
	}

	// Every card a walk made reached Kafka: its card.created event is read
	// back from the embedded broker with a franz-go consumer.
	if len(cards) == 0 {
		t.Fatal("the walks made no card")
	}
	ids := make([]string, 0, len(cards))
	for id := range cards {
		ids = append(ids, id)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	events, err := consume.Collect(ctx, app.Brokers(), kafka.Topic, len(ids), consume.All(consume.Types(kafka.TypeCardCreated), consume.Subjects(ids...)))
	if err != nil {
		t.Fatalf("reading the walks' card.created events: %v", err)
	}
	for _, ev := range events {
		delete(cards, ev.Subject)
	}
	if len(cards) > 0 {
		t.Errorf("no card.created event on %s for %d of the walks' cards", kafka.Topic, len(cards))
	}
}

// TestSeedDocs keeps docs/seeds in step with the walks: the README's path
// mapping table is testdata/seeds/paths.yaml row by row, every mapped
// route is used by its seed's walk, and each seed's page names every
// request of its walk (method and path as the guide writes them).
func TestSeedDocs(t *testing.T) {
	m, walks := loadSeedWalks(t)
	readme, err := os.ReadFile(filepath.Join("..", "..", "docs", "seeds", "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	if want := seedwalk.MappingTable(m); !strings.Contains(string(readme), want) {
		t.Errorf("docs/seeds/README.md does not hold the path mapping table of testdata/seeds/paths.yaml; it should contain:\n%s", want)
	}
	for _, w := range walks {
		page, err := os.ReadFile(filepath.Join("..", "..", "docs", "seeds", w.Seed+".md"))
		if err != nil {
			t.Errorf("%s: %v", w.Seed, err)
			continue
		}
		used := map[string]bool{}
		for _, s := range w.Steps {
			if s.Native {
				continue
			}
			route, ok := seedwalk.RouteOf(m, w.Seed, s)
			if !ok {
				t.Errorf("%s line %d: %s %s has no mapping", w.File, s.Line, s.Method, s.Path)
				continue
			}
			used[route.GuideMethod+" "+route.GuidePath] = true
			if !strings.Contains(string(page), "`"+route.GuideMethod+" "+route.GuidePath+"`") {
				t.Errorf("docs/seeds/%s.md does not name the guide request `%s %s` (%s line %d)", w.Seed, route.GuideMethod, route.GuidePath, w.File, s.Line)
			}
			if !strings.Contains(string(page), "`"+route.NativeMethod+" "+route.NativePath+"`") {
				t.Errorf("docs/seeds/%s.md does not name cardhost's `%s %s`", w.Seed, route.NativeMethod, route.NativePath)
			}
			if !strings.Contains(string(page), s.Name) {
				t.Errorf("docs/seeds/%s.md does not list the step %q (%s line %d)", w.Seed, s.Name, w.File, s.Line)
			}
		}
		for _, r := range m.Seeds[w.Seed] {
			if !used[r.GuideMethod+" "+r.GuidePath] {
				t.Errorf("testdata/seeds/paths.yaml line %d: %s %s is used by no step of %s", r.Line, r.GuideMethod, r.GuidePath, w.File)
			}
		}
	}
}
