package semantic

import (
	"bytes"
	"slices"
	"testing"
	"time"

	"github.com/attune-dev/attune/internal/errs"
	"github.com/attune-dev/attune/internal/recipe"
)

// catalogue is a small gift shop: item names (itemName) and a category.
var catalogue = []struct{ id, name, category string }{
	{"mug-heart", "White ceramic heart mug", "kitchen"},
	{"mug-red", "Red heart mug with spoon", "kitchen"},
	{"lantern-white", "White metal lantern", "garden"},
	{"lantern-garden", "Garden lantern, black metal", "garden"},
	{"candle", "Heart candle holder", "home"},
	{"plain", "", ""},                      // no text: popular items
	{"cold-mug", "Ceramic mug", "kitchen"}, // no interactions: still related by text
}

func fixture() *recipe.Data {
	in := &recipe.Interactions{EventTypes: []string{""}}
	meta := &recipe.ItemMeta{Categorical: map[string][][]string{"CATEGORY": {}}, Numeric: map[string][]float64{},
		Text: map[string][]string{"ITEM_NAME": {}}}
	for _, c := range catalogue {
		in.ItemIDs = append(in.ItemIDs, c.id)
		meta.Text["ITEM_NAME"] = append(meta.Text["ITEM_NAME"], c.name)
		var cat []string
		if c.category != "" {
			cat = []string{c.category}
		}
		meta.Categorical["CATEGORY"] = append(meta.Categorical["CATEGORY"], cat)
		meta.Created = append(meta.Created, 0)
	}
	// Users buy the first six items; "plain" is the most popular.
	for u := range 12 {
		in.UserIDs = append(in.UserIDs, "u"+string(rune('a'+u)))
		for _, it := range []int32{5, int32(u % 5)} {
			in.User = append(in.User, int32(u))
			in.Item = append(in.Item, it)
			in.Time = append(in.Time, int64(1700000000+u))
			in.Event = append(in.Event, 0)
			in.Value = append(in.Value, float32(0))
		}
	}
	return &recipe.Data{Interactions: in, Items: meta}
}

func ids(m recipe.Model, got []recipe.Scored) []string {
	var out []string
	for _, s := range got {
		out = append(out, m.Items()[s.Item])
	}
	return out
}

func TestRelatedByText(t *testing.T) {
	m, err := New().Fit(t.Context(), fixture(), nil, recipe.FitOptions{Now: time.Unix(1700000100, 0)})
	if err != nil {
		t.Fatal(err)
	}
	idx := func(id string) int32 { return int32(slices.Index(m.Items(), id)) }
	cases := []struct {
		anchor string
		first  []string // the leading items, in any order
	}{
		{"mug-heart", []string{"cold-mug", "mug-red"}},
		{"lantern-white", []string{"lantern-garden"}},
		{"cold-mug", []string{"mug-heart", "mug-red"}},
		{"plain", []string{"plain"}}, // placeholder, checked below
	}
	for _, tc := range cases[:3] {
		got := ids(m, m.Recommend(recipe.Query{User: -1, Item: idx(tc.anchor)}, 4))
		if len(got) != 4 || slices.Contains(got, tc.anchor) {
			t.Fatalf("Recommend(%s) = %v, want 4 items without the anchor", tc.anchor, got)
		}
		lead := slices.Clone(got[:len(tc.first)])
		slices.Sort(lead)
		if !slices.Equal(lead, tc.first) {
			t.Errorf("Recommend(%s) = %v, want %v first", tc.anchor, got, tc.first)
		}
	}
	// An item without text has no neighbours: popular items, flagged so.
	got := m.Recommend(recipe.Query{User: -1, Item: idx("plain")}, 3)
	if len(got) != 3 || !got[0].Popular || slices.Contains(ids(m, got), "plain") {
		t.Errorf("Recommend(plain) = %+v, want 3 popular items other than itself", got)
	}
	// Exclude and Candidates are honoured.
	got = m.Recommend(recipe.Query{User: -1, Item: idx("mug-heart"), Exclude: func(i int32) bool { return i == idx("cold-mug") },
		Candidates: []int32{idx("cold-mug"), idx("mug-red"), idx("lantern-white")}}, 5)
	if g := ids(m, got); len(g) != 2 || g[0] != "mug-red" || g[1] != "lantern-white" {
		t.Errorf("Recommend with Exclude and Candidates = %v, want [mug-red lantern-white]", g)
	}
	// Encode / Decode round trip answers the same.
	var buf bytes.Buffer
	if err := m.Encode(&buf); err != nil {
		t.Fatal(err)
	}
	m2, err := New().Decode(&buf)
	if err != nil {
		t.Fatal(err)
	}
	for i := range m.Items() {
		a, b := m.Recommend(recipe.Query{User: -1, Item: int32(i)}, 5), m2.Recommend(recipe.Query{User: -1, Item: int32(i)}, 5)
		if !slices.Equal(a, b) {
			t.Errorf("item %d: decoded model answers %v, want %v", i, b, a)
		}
	}
}

func TestNeedsText(t *testing.T) {
	d := fixture()
	d.Items.Text = nil
	if _, err := New().Fit(t.Context(), d, nil, recipe.FitOptions{}); errs.KindOf(err) != errs.Invalid {
		t.Errorf("Fit without text fields = %v, want Invalid", err)
	}
	d.Items = nil
	if _, err := New().Fit(t.Context(), d, nil, recipe.FitOptions{}); errs.KindOf(err) != errs.Invalid {
		t.Errorf("Fit without Items = %v, want Invalid", err)
	}
	if _, err := New().Fit(t.Context(), fixture(), recipe.Params{"neighbors": "0"}, recipe.FitOptions{}); errs.KindOf(err) != errs.Invalid {
		t.Errorf("Fit with neighbors=0 = %v, want Invalid", err)
	}
}

func TestAppendWords(t *testing.T) {
	got := appendWords(nil, "WHITE HANGING HEART T-LIGHT HOLDER, set of 3 glass bowls & Café")
	want := []string{"white", "hanging", "heart", "light", "holder", "set", "glass", "bowl", "café"}
	if !slices.Equal(got, want) {
		t.Errorf("appendWords = %q, want %q", got, want)
	}
}

func FuzzAppendWords(f *testing.F) {
	f.Add("WHITE HANGING HEART T-LIGHT HOLDER")
	f.Add("ünïcödé wörds, 12 pcs\x00\xff")
	f.Fuzz(func(t *testing.T, s string) {
		for _, w := range appendWords(nil, s) {
			if w == "" || stopwords[w] {
				t.Errorf("appendWords(%q) has word %q", s, w)
			}
		}
	})
}

func FuzzDecode(f *testing.F) {
	m, err := New().Fit(f.Context(), fixture(), nil, recipe.FitOptions{})
	if err != nil {
		f.Fatal(err)
	}
	var buf bytes.Buffer
	if err := m.Encode(&buf); err != nil {
		f.Fatal(err)
	}
	f.Add(buf.Bytes())
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := New().Decode(bytes.NewReader(b))
		if err != nil {
			return
		}
		for i := range m.Items() {
			m.Recommend(recipe.Query{User: -1, Item: int32(i)}, 3)
		}
	})
}
