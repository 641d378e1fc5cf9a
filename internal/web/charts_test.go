package web

import (
	"encoding/json"
	"os/exec"
	"testing"

	"github.com/attune-dev/attune/internal/testenv"
)

// chartsScript loads assets/charts.js into a fresh context and prints, as
// JSON, the p99 latency and rates it computes for a scripted series of
// samples (the chart drawing itself needs a DOM and is left out).
const chartsScript = `
const vm = require("vm"), fs = require("fs");
const ctx = vm.createContext({ REFRESH_MS: 5000, out: null });
vm.runInContext(fs.readFileSync("assets/charts.js", "utf8") + ";" + process.argv[1], ctx);
process.stdout.write(JSON.stringify(ctx.out));
`

func TestChartArithmetic(t *testing.T) {
	node, err := exec.LookPath("node")
	if err != nil {
		testenv.Missing(t, "node is not installed (apt-get install nodejs): the console chart arithmetic is tested with it")
	}
	bounds := `[0.001, 0.01, 0.1]`
	cases := []struct {
		name string
		expr string // sets out
		want any
	}{
		// 100 requests in between: 50 under 1 ms, 49 more under 10 ms, 1
		// more under 100 ms. The 99th is the last of the second bucket.
		{"p99 at a bucket edge", `out = quantile(0.99, {bounds: ` + bounds + `, cumulative: [10, 10, 10, 10]},
			{bounds: ` + bounds + `, cumulative: [60, 109, 110, 110]})`, 0.01},
		// 200 requests, all in (1 ms, 10 ms]: rank 198 of 200, interpolated.
		{"p99 interpolated", `out = quantile(0.99, {bounds: ` + bounds + `, cumulative: [0, 0, 0, 0]},
			{bounds: ` + bounds + `, cumulative: [0, 200, 200, 200]})`, 0.001 + 0.009*0.99},
		{"p99 beyond the last bound", `out = quantile(0.99, {bounds: ` + bounds + `, cumulative: [0, 0, 0, 0]},
			{bounds: ` + bounds + `, cumulative: [0, 0, 0, 5]})`, 0.1},
		{"no requests", `out = quantile(0.99, {bounds: ` + bounds + `, cumulative: [3, 3, 3, 3]},
			{bounds: ` + bounds + `, cumulative: [3, 3, 3, 3]})`, nil},
		// Rates over 5 s between samples; a counter reset (restart) is skipped.
		{"rates", `samples = [
			{time: 0, requests: 0, events: 0, bounds: ` + bounds + `, cumulative: [0, 0, 0, 0]},
			{time: 5000, requests: 50, events: 100, bounds: ` + bounds + `, cumulative: [50, 50, 50, 50]},
			{time: 10000, requests: 5, events: 0, bounds: ` + bounds + `, cumulative: [5, 5, 5, 5]},
			{time: 15000, requests: 30, events: 10, bounds: ` + bounds + `, cumulative: [25, 30, 30, 30]}];
			const s = series(); out = [s.rate.map((p) => p[1]), s.events.map((p) => p[1]), s.p99.length]`,
			[]any{[]any{10.0, 5.0}, []any{20.0, 2.0}, 2.0}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			cmd := exec.Command(node, "-e", chartsScript, tc.expr)
			out, err := cmd.Output()
			if err != nil {
				t.Fatalf("node: %v", err)
			}
			var got any
			if err := json.Unmarshal(out, &got); err != nil {
				t.Fatalf("node printed %q: %v", out, err)
			}
			gotJSON, _ := json.Marshal(got)
			wantJSON, _ := json.Marshal(tc.want)
			if g, ok := got.(float64); ok {
				if w, ok := tc.want.(float64); ok && g-w < 1e-12 && w-g < 1e-12 {
					return
				}
			}
			if string(gotJSON) != string(wantJSON) {
				t.Errorf("%s = %s, want %s", tc.name, gotJSON, wantJSON)
			}
		})
	}
}
