package filter

import (
	"math/rand/v2"
	"strconv"
	"testing"

	"github.com/attune-dev/attune/internal/schema"
)

// bigEnv is a 100k-item catalogue with a categorical genre, a brand and a
// price, the size the serving benchmark scans.
func bigEnv(b *testing.B, n int, opts EnvOptions) *Env {
	b.Helper()
	r := rand.New(rand.NewPCG(7, 7))
	fields := []schema.Field{
		{Name: "GENRE", Type: schema.String, Categorical: true},
		{Name: "BRAND", Type: schema.String},
		{Name: "PRICE", Type: schema.Double},
	}
	ids := make([]string, n)
	rows := make(map[string][]schema.Value, n)
	for i := range ids {
		ids[i] = "item" + strconv.Itoa(i)
		rows[ids[i]] = []schema.Value{
			{Str: "g" + strconv.Itoa(r.IntN(30)) + "|g" + strconv.Itoa(r.IntN(30))},
			{Str: "b" + strconv.Itoa(r.IntN(2000))},
			{Float: float64(r.IntN(10000)) / 100},
		}
	}
	users := NewCatalog([]string{"u"}, []schema.Field{{Name: "AGE", Type: schema.Int}},
		func(string) []schema.Value { return []schema.Value{{Int: 30}} })
	return NewEnv(NewCatalog(ids, fields, func(id string) []schema.Value { return rows[id] }), users, nil, opts)
}

// purchases is a request context with 100 latest purchases and 100 views.
func purchases(n int) Context {
	r := rand.New(rand.NewPCG(1, 1))
	ctx := Context{UserID: "u", ItemID: "item42", Events: map[string][]int32{}}
	for range 100 {
		ctx.Events["purchase"] = append(ctx.Events["purchase"], int32(r.IntN(n)))
		ctx.Events["view"] = append(ctx.Events["view"], int32(r.IntN(n)))
	}
	return ctx
}

var benchFilters = []struct{ name, expr string }{
	// Removes nothing ($NONE is never bound): the cost of the call itself.
	{"baseline", `EXCLUDE ItemID WHERE Items.GENRE IN ($NONE)`},
	{"items", `INCLUDE ItemID WHERE Items.GENRE IN ($G) AND Items.PRICE <= $P | EXCLUDE ItemID WHERE Items.BRAND IN ("b1", "b2")`},
	{"purchased", `EXCLUDE ItemID WHERE Interactions.EVENT_TYPE IN ("purchase")`},
	{"items+purchased+IF", `INCLUDE ItemID WHERE Items.GENRE IN ($G) IF CurrentUser.AGE > 18 | EXCLUDE ItemID WHERE Interactions.EVENT_TYPE IN ("purchase")`},
	{"CurrentItem", `INCLUDE ItemID WHERE Items.GENRE IN (CurrentItem.GENRE) AND Items.PRICE < CurrentItem.PRICE`},
}

var benchValues = map[string][]string{"G": {"g1", "g2", "g3"}, "P": {"50"}}

// BenchmarkAllowed100k is what a filter adds to a GetRecommendations that
// scans 100k candidates: building the request's test, then one call per
// candidate.
func BenchmarkAllowed100k(b *testing.B) {
	const n = 100_000
	env := bigEnv(b, n, EnvOptions{})
	ctx := purchases(n)
	for _, bf := range benchFilters {
		b.Run(bf.name, func(b *testing.B) {
			f, err := Parse(bf.expr)
			if err != nil {
				b.Fatal(err)
			}
			c, err := f.Compile(env, benchValues)
			if err != nil {
				b.Fatal(err)
			}
			kept := 0
			b.ReportAllocs()
			for b.Loop() {
				allowed := c.Allowed(ctx)
				kept = 0
				for i := range int32(n) {
					if allowed(i) {
						kept++
					}
				}
			}
			b.ReportMetric(float64(kept)/n, "kept/candidate")
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/n, "ns/candidate")
		})
	}
}

// BenchmarkCompile100k is the cost of a cache miss: binding new parameter
// values and precomputing the bitmaps over 100k items.
func BenchmarkCompile100k(b *testing.B) {
	const n = 100_000
	env := bigEnv(b, n, EnvOptions{CacheSize: -1})
	for _, bf := range benchFilters {
		b.Run(bf.name, func(b *testing.B) {
			f, err := Parse(bf.expr)
			if err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			for b.Loop() {
				if _, err := f.Compile(env, benchValues); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkCompileCached is the usual path: the filter and values were seen.
func BenchmarkCompileCached(b *testing.B) {
	env := bigEnv(b, 100_000, EnvOptions{})
	f, err := Parse(benchFilters[1].expr)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := f.Compile(env, benchValues); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkParse(b *testing.B) {
	expr := benchFilters[3].expr
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Parse(expr); err != nil {
			b.Fatal(err)
		}
	}
}
