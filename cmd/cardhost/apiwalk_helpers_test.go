package main

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"net/http"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	pgxv5 "github.com/jackc/pgx/v5"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
)

// This file holds what the host isolation, secrets and crash tests share: a
// REST client that keeps every answer, the OpenAPI operation list, tenant
// creation through the CLI and whole-database dumps.

// apiAnswer is one REST answer as received.
type apiAnswer struct {
	Method, Path string
	Request      []byte // the request body sent
	Status       int
	Header       http.Header
	Body         []byte
}

// decode unmarshals the body into v, failing the test on bad JSON.
func (a apiAnswer) decode(t *testing.T, v any) {
	t.Helper()
	if err := json.Unmarshal(a.Body, v); err != nil {
		t.Fatalf("%s %s: decoding %d answer %s: %v", a.Method, a.Path, a.Status, a.Body, err)
	}
}

// slug is the problem slug of an error answer ("" for other answers).
func (a apiAnswer) slug() string {
	var p struct {
		Slug string `json:"slug"`
	}
	if strings.HasPrefix(a.Header.Get("Content-Type"), "application/problem+json") {
		_ = json.Unmarshal(a.Body, &p)
	}
	return p.Slug
}

// must fails the test unless the answer has the status.
func (a apiAnswer) must(t *testing.T, status int) apiAnswer {
	t.Helper()
	if a.Status != status {
		t.Fatalf("%s %s: %d %s, want %d", a.Method, a.Path, a.Status, a.Body, status)
	}
	return a
}

// answerLog keeps answers for later searches; safe for concurrent use.
type answerLog struct {
	mu      sync.Mutex
	answers []apiAnswer
}

func (l *answerLog) add(a apiAnswer) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.answers = append(l.answers, a)
}

func (l *answerLog) all() []apiAnswer {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]apiAnswer(nil), l.answers...)
}

// apiClient calls a running cardhost's REST API as one tenant.
type apiClient struct {
	t    *testing.T
	base string
	key  string
	hc   *http.Client
	log  *answerLog // when set, every answer is kept
	// skipLog decides which answers are not kept (by design carriers of
	// card data: reveal, perso export).
	skipLog func(method, path string) bool
	seq     int
	mu      sync.Mutex
}

func newAPIClient(t *testing.T, base, key string) *apiClient {
	return &apiClient{t: t, base: base, key: key, hc: &http.Client{Timeout: 20 * time.Second}}
}

// idemKey returns a fresh Idempotency-Key.
func (c *apiClient) idemKey() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.seq++
	return fmt.Sprintf("walk-%d-%d", time.Now().UnixNano(), c.seq)
}

// do sends a request. body is JSON-encoded unless it is nil, a string or
// []byte; headers are name, value pairs. A POST gets a fresh
// Idempotency-Key unless headers name one ("" sends none).
func (c *apiClient) do(method, path string, body any, headers ...string) apiAnswer {
	c.t.Helper()
	var rd io.Reader
	var sent []byte
	switch b := body.(type) {
	case nil:
	case string:
		sent = []byte(b)
	case []byte:
		sent = b
	default:
		raw, err := json.Marshal(b)
		if err != nil {
			c.t.Fatal(err)
		}
		sent = raw
	}
	if body != nil {
		rd = bytes.NewReader(sent)
	}
	req, err := http.NewRequest(method, c.base+path, rd)
	if err != nil {
		c.t.Fatal(err)
	}
	if c.key != "" {
		req.Header.Set("Authorization", "Bearer "+c.key)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	idem := method == http.MethodPost
	for i := 0; i+1 < len(headers); i += 2 {
		if strings.EqualFold(headers[i], "Idempotency-Key") {
			idem = false
			if headers[i+1] == "" {
				continue
			}
		}
		req.Header.Set(headers[i], headers[i+1])
	}
	if idem {
		req.Header.Set("Idempotency-Key", c.idemKey())
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		c.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		c.t.Fatalf("%s %s: reading the answer: %v", method, path, err)
	}
	a := apiAnswer{Method: method, Path: path, Request: sent, Status: resp.StatusCode, Header: resp.Header, Body: raw}
	if c.log != nil && (c.skipLog == nil || !c.skipLog(method, path)) {
		c.log.add(a)
	}
	return a
}

// apiOperation is one operation of the running app's /openapi.json.
type apiOperation struct {
	ID, Method, Path string // Path in OpenAPI form: /v1/cards/{id}
}

// openAPIOperations reads the operations the running app publishes, in
// path and method order.
func openAPIOperations(t *testing.T, base string) []apiOperation {
	t.Helper()
	resp, err := http.Get(base + "/openapi.json")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var doc struct {
		Paths map[string]map[string]struct {
			OperationID string `json:"operationId"`
		} `json:"paths"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&doc); err != nil {
		t.Fatalf("decoding /openapi.json: %v", err)
	}
	var ops []apiOperation
	for path, methods := range doc.Paths {
		for method, o := range methods {
			ops = append(ops, apiOperation{ID: o.OperationID, Method: strings.ToUpper(method), Path: path})
		}
	}
	sort.Slice(ops, func(i, j int) bool {
		if ops[i].Path != ops[j].Path {
			return ops[i].Path < ops[j].Path
		}
		return ops[i].Method < ops[j].Method
	})
	if len(ops) < 40 {
		t.Fatalf("/openapi.json lists %d operations: the walk would prove little", len(ops))
	}
	return ops
}

// cliTenant creates a tenant with `cardhost tenants create` and returns
// its id and API key.
func cliTenant(t *testing.T, env map[string]string, name string, sandbox bool) (id, key string) {
	t.Helper()
	args := []string{"tenants", "create", "--name", name}
	if sandbox {
		args = append(args, "--sandbox")
	}
	out := cliOK(t, getenvOf(env), args...)
	key = apiKeyRE.FindString(out)
	f := strings.Fields(out)
	if key == "" || len(f) < 2 || !strings.HasPrefix(f[1], "ten_") {
		t.Fatalf("tenants create printed no tenant or key: %q", out)
	}
	return f[1], key
}

// newCSR returns a P-256 key and its PKCS #10 request (PEM).
func newCSR(t *testing.T, cn string) (*ecdsa.PrivateKey, string) {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{
		Subject: pkix.Name{CommonName: cn, Organization: []string{"Walk Issuer"}, Country: []string{"BR"}}}, k)
	if err != nil {
		t.Fatal(err)
	}
	return k, string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE REQUEST", Bytes: der}))
}

// dbConn connects straight to the test database until the test ends.
func dbConn(t *testing.T, url string) *pgxv5.Conn {
	t.Helper()
	conn := connectDirect(t, url)
	t.Cleanup(func() { conn.Close(context.Background()) })
	return conn
}

// connectDirect connects straight to the test database (not through a
// fault proxy); the caller closes the connection.
func connectDirect(t *testing.T, url string) *pgxv5.Conn {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	conn, err := pgxv5.Connect(ctx, url)
	if err != nil {
		t.Fatalf("connecting to the database: %v", err)
	}
	return conn
}

// tableDump is one table's rows, each as JSON text (row_to_json), in a
// stable order.
type tableDump struct {
	Name      string
	HasTenant bool
	Rows      []string
}

// dumpTables returns every table of the current schema, each row as
// text. With tenantID set, only tables with a tenant_id column, and only
// that tenant's rows.
func dumpTables(t *testing.T, conn *pgxv5.Conn, tenantID string) []tableDump {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	rows, err := conn.Query(ctx, `SELECT c.table_name, bool_or(c.column_name = 'tenant_id')
		FROM information_schema.columns c JOIN information_schema.tables tb
		  ON tb.table_schema = c.table_schema AND tb.table_name = c.table_name AND tb.table_type = 'BASE TABLE'
		WHERE c.table_schema = current_schema() GROUP BY 1 ORDER BY 1`)
	if err != nil {
		t.Fatalf("listing tables: %v", err)
	}
	type tbl struct {
		name   string
		tenant bool
	}
	var tables []tbl
	for rows.Next() {
		var x tbl
		if err := rows.Scan(&x.name, &x.tenant); err != nil {
			t.Fatal(err)
		}
		tables = append(tables, x)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	if len(tables) < 10 {
		t.Fatalf("the schema has %d tables: wrong schema?", len(tables))
	}
	var out []tableDump
	for _, x := range tables {
		q := `SELECT row_to_json(t)::text AS r FROM ` + pgxv5.Identifier{x.name}.Sanitize() + ` t`
		var args []any
		if tenantID != "" {
			if !x.tenant {
				continue
			}
			q += ` WHERE t.tenant_id = $1`
			args = append(args, tenantID)
		}
		r, err := conn.Query(ctx, q+` ORDER BY 1`, args...)
		if err != nil {
			t.Fatalf("dumping %s: %v", x.name, err)
		}
		texts, err := pgxv5.CollectRows(r, pgxv5.RowTo[string])
		if err != nil {
			t.Fatalf("dumping %s: %v", x.name, err)
		}
		out = append(out, tableDump{Name: x.name, HasTenant: x.tenant, Rows: texts})
	}
	return out
}

// kafkaRecord is one record read back from the topic.
type kafkaRecord = kgo.Record

// readTopic reads every record of topic from the start up to the end
// offsets it had when called, partition by partition in offset order.
func readTopic(ctx context.Context, brokers []string, topic string) ([]kafkaRecord, error) {
	cl, err := kgo.NewClient(kgo.SeedBrokers(brokers...), kgo.ConsumeTopics(topic),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	if err != nil {
		return nil, err
	}
	defer cl.Close()
	ends, err := kadm.NewClient(cl).ListEndOffsets(ctx, topic)
	if err != nil {
		return nil, fmt.Errorf("listing end offsets: %w", err)
	}
	want := map[int32]int64{}
	ends.Each(func(o kadm.ListedOffset) {
		if o.Offset > 0 {
			want[o.Partition] = o.Offset
		}
	})
	var out []kafkaRecord
	for len(want) > 0 {
		fs := cl.PollFetches(ctx)
		if err := ctx.Err(); err != nil {
			return out, fmt.Errorf("%d partitions not read to their end: %w", len(want), err)
		}
		if errs := fs.Errors(); len(errs) > 0 {
			return out, fmt.Errorf("fetching: %v", errs[0].Err)
		}
		fs.EachRecord(func(r *kgo.Record) {
			out = append(out, *r)
			if end, ok := want[r.Partition]; ok && r.Offset+1 >= end {
				delete(want, r.Partition)
			}
		})
	}
	return out, nil
}
