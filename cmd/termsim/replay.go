package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/cardhost/cardhost/cmd/termsim/scenario"
)

// runReplay implements `termsim replay FILE|DIR...`. Exit 0: every
// expectation of every scenario held; 1: a step failed (or a setup); 2: a
// scenario file is invalid (nothing is sent) or the flags are.
func runReplay(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := newFlags("replay", "termsim replay [--host host:port] [--api URL --key KEY] [--kafka BROKERS] [--parallel 4] FILE|DIR...", stderr)
	tf := newTerminalFlags(fs)
	apiURL := fs.String("api", "", "REST API `URL` (e.g. http://127.0.0.1:8080) to set the scenarios' cards up")
	apiKey := fs.String("key", "", "API key for --api (default $CARDHOST_API_KEY)")
	kafka := fs.String("kafka", "", "Kafka `brokers` (comma-separated, e.g. 127.0.0.1:9092) to read the events scenarios expect")
	topic := fs.String("topic", scenario.DefaultEventsTopic, "Kafka topic of cardhost's events")
	tkey := fs.String("transport-key", "", "transport key in clear `hex` that opens the cards' personalisation exports (default: the sandbox key)")
	parallel := fs.Int("parallel", 4, "scenarios run at once")
	jsonFile := fs.String("json", "", "also write the results as JSON to `file`")
	check := fs.Bool("check", false, "only check the scenario files; send nothing")
	verbose := fs.Bool("verbose", false, "list every check of every step (by default only those of failing steps)")
	if code, stop := parseFlags(fs, args); stop {
		return code
	}
	fail := func(err error) int { return reportErr(stderr, "replay", err) }
	if fs.NArg() == 0 {
		return fail(usagef("give scenario files or folders"))
	}
	if *parallel < 1 {
		return fail(usagef("--parallel must be at least 1"))
	}
	tcfg, err := tf.terminalConfig()
	if err != nil {
		return fail(err)
	}
	files, err := scenarioFiles(fs.Args())
	if err != nil {
		return fail(err)
	}
	// Every file is read and checked before anything is sent.
	var scenarios []*scenario.Scenario
	var invalid []string
	needAPI, needKafka := false, false
	for _, f := range files {
		sc, err := scenario.LoadScenario(f)
		if err != nil {
			invalid = append(invalid, err.Error())
			continue
		}
		a, k := sc.Needs()
		needAPI, needKafka = needAPI || a, needKafka || k
		scenarios = append(scenarios, sc)
	}
	if len(invalid) > 0 {
		fmt.Fprintln(stderr, strings.Join(invalid, "\n"))
		fmt.Fprintf(stderr, "termsim replay: %d of %d scenario files are invalid; nothing was sent\n", len(invalid), len(files))
		return exitUsage
	}
	if *check {
		fmt.Fprintf(stdout, "%d scenario files are valid\n", len(files))
		return exitOK
	}
	if *apiKey == "" {
		*apiKey = os.Getenv("CARDHOST_API_KEY")
	}
	r := &scenario.Runner{Addr: tf.host, Terminal: tcfg, Timeout: tf.timeout}
	switch {
	case needAPI && *apiURL == "":
		return fail(usagef("these scenarios create cards through the REST API: give --api URL and --key KEY"))
	case needKafka && *kafka == "":
		return fail(usagef("these scenarios expect events: give --kafka BROKERS"))
	}
	if *apiURL != "" {
		if r.API, err = scenario.NewAPI(*apiURL, *apiKey, tf.timeout); err != nil {
			return fail(usagef("%v", err))
		}
	}
	if r.TransportKey, err = transportKey(*tkey); err != nil {
		return fail(err)
	}
	if *kafka != "" {
		w, err := scenario.WatchEvents(ctx, strings.Split(*kafka, ","), *topic)
		if err != nil {
			return fail(err)
		}
		defer w.Close()
		r.Events = w
	}

	start := time.Now()
	results := make([]*scenario.ScenarioResult, len(scenarios))
	var mu sync.Mutex
	sem := make(chan struct{}, *parallel)
	var wg sync.WaitGroup
	var alone sync.RWMutex // held for writing by a scenario that must run alone
	for i, sc := range scenarios {
		wg.Go(func() {
			sem <- struct{}{}
			defer func() { <-sem }()
			if sc.Exclusive() {
				alone.Lock()
				defer alone.Unlock()
			} else {
				alone.RLock()
				defer alone.RUnlock()
			}
			res, _ := r.Run(ctx, sc)
			results[i] = res
			var b bytes.Buffer
			res.Write(&b, *verbose)
			mu.Lock()
			stdout.Write(b.Bytes())
			mu.Unlock()
		})
	}
	wg.Wait()
	passed, steps, failedSteps := 0, 0, 0
	var failed []string
	for _, res := range results {
		if res.Pass {
			passed++
		} else {
			failed = append(failed, res.File)
		}
		for _, s := range res.Steps {
			steps++
			if !s.Pass {
				failedSteps++
			}
		}
	}
	fmt.Fprintf(stdout, "\n%d scenarios: %d passed, %d failed; %d steps, %d failed; %v\n",
		len(results), passed, len(results)-passed, steps, failedSteps, time.Since(start).Round(time.Millisecond))
	for _, f := range failed {
		fmt.Fprintf(stdout, "  failed: %s\n", f)
	}
	if *jsonFile != "" {
		data, err := json.MarshalIndent(results, "", "  ")
		if err == nil {
			err = os.WriteFile(*jsonFile, append(data, '\n'), 0o644)
		}
		if err != nil {
			return fail(fmt.Errorf("writing JSON results: %w", err))
		}
	}
	if ctx.Err() != nil || passed < len(results) {
		return exitFail
	}
	return exitOK
}

// scenarioFiles expands folders into their scenario files (*.yaml, *.yml,
// *.json), in name order.
func scenarioFiles(args []string) ([]string, error) {
	var out []string
	for _, a := range args {
		st, err := os.Stat(a)
		if err != nil {
			return nil, usagef("%v", err)
		}
		if !st.IsDir() {
			out = append(out, a)
			continue
		}
		var in []string
		for _, pat := range []string{"*.yaml", "*.yml", "*.json"} {
			m, _ := filepath.Glob(filepath.Join(a, pat))
			in = append(in, m...)
		}
		slices.Sort(in)
		out = append(out, in...)
	}
	if len(out) == 0 {
		return nil, usagef("no scenario files found")
	}
	return out, nil
}
