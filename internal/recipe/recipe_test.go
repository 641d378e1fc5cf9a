package recipe_test

import (
	"bytes"
	"context"
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/attune-dev/attune/internal/errs"
	"github.com/attune-dev/attune/internal/recipe"
)

func TestParseParams(t *testing.T) {
	specs := []recipe.Hyperparameter{
		recipe.IntParam("hidden_dimension", 64, 4, 512, true),
		recipe.FloatParam("alpha", 5, 0.001, 100, true),
		recipe.BoolParam("recency_mask", true, true),
		{Name: "event_weights", Kind: recipe.KindCategorical},
	}
	tests := []struct {
		name    string
		in      recipe.Params
		wantErr bool
		dim     int
		alpha   float64
		recency bool
	}{
		{name: "defaults", in: nil, dim: 64, alpha: 5, recency: true},
		{name: "given", in: recipe.Params{"hidden_dimension": " 32 ", "alpha": "1.5", "recency_mask": "FALSE"}, dim: 32, alpha: 1.5},
		{name: "unknown", in: recipe.Params{"hidden_dim": "32"}, wantErr: true},
		{name: "not integer", in: recipe.Params{"hidden_dimension": "3.5"}, wantErr: true},
		{name: "below range", in: recipe.Params{"hidden_dimension": "2"}, wantErr: true},
		{name: "above range", in: recipe.Params{"alpha": "101"}, wantErr: true},
		{name: "NaN", in: recipe.Params{"alpha": "NaN"}, wantErr: true},
		{name: "bad bool", in: recipe.Params{"recency_mask": "yes"}, wantErr: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			v, err := recipe.ParseParams(specs, tc.in)
			if tc.wantErr {
				if errs.KindOf(err) != errs.Invalid {
					t.Fatalf("ParseParams(%v) error = %v, want Invalid", tc.in, err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if v.Int("hidden_dimension") != tc.dim || v.Float("alpha") != tc.alpha || v.Bool("recency_mask") != tc.recency {
				t.Errorf("ParseParams(%v) = %d %g %v, want %d %g %v", tc.in, v.Int("hidden_dimension"), v.Float("alpha"),
					v.Bool("recency_mask"), tc.dim, tc.alpha, tc.recency)
			}
		})
	}
}

func TestParseEventWeights(t *testing.T) {
	types := []string{"VIEWED", "PURCHASED", ""}
	tests := []struct {
		in      string
		want    []float32
		wantErr bool
	}{
		{in: "", want: []float32{1, 1, 1}},
		{in: "PURCHASED=3, viewed=0.5", want: []float32{0.5, 3, 1}},
		{in: "CLICKED=2", want: []float32{1, 1, 1}},
		{in: "PURCHASED", wantErr: true},
		{in: "PURCHASED=-1", wantErr: true},
		{in: "PURCHASED=x", wantErr: true},
	}
	for _, tc := range tests {
		got, err := recipe.ParseEventWeights("event_weights", tc.in, types)
		if tc.wantErr != (err != nil) || (err == nil && !slices.Equal(got, tc.want)) {
			t.Errorf("ParseEventWeights(%q) = %v, %v; want %v (error %v)", tc.in, got, err, tc.want, tc.wantErr)
		}
	}
}

// TestTopKMatchesSort checks the heap selection against a full sort on
// random scores with ties, exclusions and candidate lists.
func TestTopKMatchesSort(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for trial := 0; trial < 200; trial++ {
		m := 1 + rng.IntN(300)
		scores := make([]float32, m)
		for i := range scores {
			scores[i] = float32(rng.IntN(20)) // many ties
		}
		n := rng.IntN(40)
		q := recipe.Query{Exclude: func(it int32) bool { return it%7 == 3 }}
		if trial%2 == 1 {
			q.Candidates = []int32{int32(rng.IntN(m)), int32(rng.IntN(m)), int32(m - 1), 0}
			q.Candidates = slices.Compact(slices.Sorted(slices.Values(q.Candidates)))
		}
		got := recipe.SelectDense(scores, n, &q)
		var want []recipe.Scored
		pool := q.Candidates
		if pool == nil {
			for i := range scores {
				pool = append(pool, int32(i))
			}
		}
		for _, it := range pool {
			if !q.Exclude(it) {
				want = append(want, recipe.Scored{Item: it, Score: scores[it]})
			}
		}
		slices.SortStableFunc(want, func(a, b recipe.Scored) int {
			if a.Score != b.Score {
				if a.Score > b.Score {
					return -1
				}
				return 1
			}
			return int(a.Item) - int(b.Item)
		})
		want = want[:min(n, len(want))]
		if !slices.Equal(got, want) {
			t.Fatalf("trial %d: SelectDense = %v, want %v", trial, got, want)
		}
	}
}

func TestFillPopular(t *testing.T) {
	q := recipe.Query{Exclude: func(it int32) bool { return it == 2 }}
	out := recipe.FillPopular([]recipe.Scored{{Item: 5, Score: 0.5}}, []int32{5, 2, 1, 0, 3}, 3, &q)
	items := []int32{out[0].Item, out[1].Item, out[2].Item}
	if !slices.Equal(items, []int32{5, 1, 0}) || out[1].Score >= out[0].Score || out[2].Score >= out[1].Score {
		t.Errorf("FillPopular = %v, want items [5 1 0] with descending scores", out)
	}
}

func TestBuildCSR(t *testing.T) {
	row := []int32{1, 0, 1, 1, 2, 0}
	col := []int32{3, 2, 0, 3, 1, 2}
	w := []float32{1, 2, 3, 4, 0, 5}
	m := recipe.BuildCSR(3, row, col, func(i int) float32 { return w[i] })
	if !slices.Equal(m.Ptr, []int64{0, 1, 3, 3}) || !slices.Equal(m.Idx, []int32{2, 0, 3}) || !slices.Equal(m.Val, []float32{7, 3, 5}) {
		t.Fatalf("BuildCSR = %v %v %v, want [0 1 3 3] [2 0 3] [7 3 5]", m.Ptr, m.Idx, m.Val)
	}
	tr := m.Transpose(4)
	// Transposing twice gives the matrix back.
	back := tr.Transpose(3)
	if !slices.Equal(back.Ptr, m.Ptr) || !slices.Equal(back.Idx, m.Idx) || !slices.Equal(back.Val, m.Val) {
		t.Errorf("Transpose twice = %v, want %v", back, m)
	}
	if idx, val := tr.Row(3); !slices.Equal(idx, []int32{1}) || val[0] != 5 {
		t.Errorf("Transpose row 3 = %v %v, want [1] [5]", idx, val)
	}
}

func TestDecay(t *testing.T) {
	tests := []struct {
		t, end int64
		half   float64
		want   float64
	}{
		{100, 100, 10, 1}, {90, 100, 10, 0.5}, {80, 100, 10, 0.25}, {120, 100, 10, 1}, {0, 100, 0, 1},
	}
	for _, tc := range tests {
		if got := recipe.Decay(tc.t, tc.end, tc.half); math.Abs(float64(got)-tc.want) > 1e-6 {
			t.Errorf("Decay(%d, %d, %g) = %g, want %g", tc.t, tc.end, tc.half, got, tc.want)
		}
	}
}

func TestCodecRoundTrip(t *testing.T) {
	var buf bytes.Buffer
	e := recipe.NewEncoder(&buf, "kind-a", 2)
	e.Strings([]string{"a", "", "ccc"})
	e.F32s([]float32{1.5, float32(math.Inf(-1)), -0})
	e.I32s([]int32{-1, 7})
	e.I64s([]int64{math.MinInt64, 3})
	e.F64(math.Pi)
	if err := e.Close(); err != nil {
		t.Fatal(err)
	}
	raw := buf.Bytes()
	d := recipe.NewDecoder(bytes.NewReader(raw), "kind-a", 2)
	ss, fs, is, ls, pi := d.Strings(), d.F32s(), d.I32s(), d.I64s(), d.F64()
	if err := d.Err(); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(ss, []string{"a", "", "ccc"}) || !slices.Equal(fs, []float32{1.5, float32(math.Inf(-1)), 0}) ||
		!slices.Equal(is, []int32{-1, 7}) || !slices.Equal(ls, []int64{math.MinInt64, 3}) || pi != math.Pi {
		t.Errorf("round trip = %v %v %v %v %v", ss, fs, is, ls, pi)
	}
	bad := []struct {
		name    string
		data    []byte
		kind    string
		version uint16
	}{
		{"wrong kind", raw, "kind-b", 2},
		{"newer version", raw, "kind-a", 1},
		{"bad magic", append([]byte("X"), raw[1:]...), "kind-a", 2},
		{"truncated", raw[:len(raw)-3], "kind-a", 2},
	}
	for _, tc := range bad {
		t.Run(tc.name, func(t *testing.T) {
			d := recipe.NewDecoder(bytes.NewReader(tc.data), tc.kind, tc.version)
			d.Strings()
			d.F32s()
			d.I32s()
			d.I64s()
			d.F64()
			if errs.KindOf(d.Err()) != errs.Invalid {
				t.Errorf("decode error = %v, want Invalid", d.Err())
			}
		})
	}
}

func TestCholeskySolve(t *testing.T) {
	// A = [[4,2],[2,3]], b = [2,1] -> x = [0.5, 0].
	a := []float64{4, 2, 2, 3}
	b := []float64{2, 1}
	if !recipe.CholeskySolve(a, b, 2) || math.Abs(b[0]-0.5) > 1e-12 || math.Abs(b[1]) > 1e-12 {
		t.Errorf("CholeskySolve = %v, want [0.5 0]", b)
	}
	if recipe.CholeskySolve([]float64{1, 2, 2, 1}, []float64{1, 1}, 2) {
		t.Error("CholeskySolve of an indefinite matrix succeeded")
	}
}

func TestInvertSPD(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	const n = 40
	// A = MᵀM + I is symmetric positive definite.
	mm := make([]float64, n*n)
	for i := range mm {
		mm[i] = rng.NormFloat64()
	}
	a := make([]float64, n*n)
	for i := 0; i < n; i++ {
		for j := 0; j < n; j++ {
			for k := 0; k < n; k++ {
				a[i*n+j] += mm[k*n+i] * mm[k*n+j]
			}
		}
		a[i*n+i]++
	}
	for _, workers := range []int{1, 3} {
		inv := slices.Clone(a)
		ok, err := recipe.InvertSPD(context.Background(), inv, n, workers)
		if !ok || err != nil {
			t.Fatalf("InvertSPD = %v, %v", ok, err)
		}
		for i := 0; i < n; i++ {
			for j := 0; j < n; j++ {
				var s float64
				for k := 0; k < n; k++ {
					s += a[i*n+k] * inv[k*n+j]
				}
				want := 0.0
				if i == j {
					want = 1
				}
				if math.Abs(s-want) > 1e-8 {
					t.Fatalf("workers %d: (A·A⁻¹)[%d][%d] = %g, want %g", workers, i, j, s, want)
				}
			}
		}
	}
}
