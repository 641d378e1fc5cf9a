package model

import (
	"bytes"
	"context"
	"testing"
	"time"

	"github.com/attune-dev/attune/internal/blob/local"
	"github.com/attune-dev/attune/internal/errs"
	"github.com/attune-dev/attune/internal/recipe"
	"github.com/attune-dev/attune/internal/recipe/popularity"
)

func TestWriteReadRoundTrip(t *testing.T) {
	ctx := context.Background()
	b, err := local.New(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	r := popularity.NewPopularityCount()
	data := &recipe.Data{Interactions: &recipe.Interactions{UserIDs: []string{"u1", "u2"}, ItemIDs: []string{"a", "b"}, EventTypes: []string{""},
		User: []int32{0, 1, 1}, Item: []int32{0, 0, 1}, Time: []int64{1, 2, 3}, Event: []uint16{0, 0, 0}, Value: []float32{0, 0, 0}}}
	m, err := r.Fit(ctx, data, nil, recipe.FitOptions{Now: time.Unix(3, 0)})
	if err != nil {
		t.Fatal(err)
	}
	va := "arn:aws:personalize:us-east-1:000000000000:solution/s/0a1b2c3d"
	key := Key(va)
	if key != "models/s/0a1b2c3d.model" {
		t.Fatalf("Key = %s", key)
	}
	meta := Meta{Recipe: r.Name(), RecipeType: r.Type(), SolutionVersionARN: va, TrainedThrough: 42, Metrics: map[string]float64{"coverage": 0.5}}
	if err := Write(ctx, b, key, meta, m); err != nil {
		t.Fatal(err)
	}
	got, m2, err := Read(ctx, b, key, recipe.NewRegistry(r))
	if err != nil {
		t.Fatal(err)
	}
	if got.TrainedThrough != 42 || got.Metrics["coverage"] != 0.5 || got.Recipe != r.Name() {
		t.Errorf("meta = %+v", got)
	}
	a, c := m.Recommend(recipe.Query{User: -1, Item: -1}, 2), m2.Recommend(recipe.Query{User: -1, Item: -1}, 2)
	if len(a) != 2 || len(c) != 2 || a[0] != c[0] || a[1] != c[1] {
		t.Errorf("decoded model recommends %v, original %v", c, a)
	}
	// Damaged and foreign files are refused with Invalid, never a panic.
	for name, content := range map[string][]byte{"empty": nil, "foreign": []byte("PK\x03\x04 zip file here"), "truncated": []byte(magic + "\x01\x00\x00\x00\xff\xff")} {
		if err := b.Put(ctx, name, bytes.NewReader(content)); err != nil {
			t.Fatal(err)
		}
		if _, _, err := Read(ctx, b, name, recipe.NewRegistry(r)); errs.KindOf(err) != errs.Invalid {
			t.Errorf("Read(%s) = %v, want Invalid", name, err)
		}
	}
	if _, _, err := Read(ctx, b, key, recipe.NewRegistry()); errs.KindOf(err) != errs.Invalid {
		t.Errorf("Read with an unknown recipe = %v, want Invalid", err)
	}
}
