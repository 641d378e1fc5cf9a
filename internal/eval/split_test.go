package eval

import (
	"fmt"
	"math"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/attune-dev/attune/internal/errs"
	"github.com/attune-dev/attune/internal/recipe"
)

// usersWith builds a data set where user i has counts[i] interactions with
// items "i0", "i1", ... at times 100, 200, ... (all 7 when tied is set).
func usersWith(counts []int, tied bool) *recipe.Interactions {
	b := newBuilder()
	for u, n := range counts {
		for j := range n {
			ts := int64(100 * (j + 1))
			if tied {
				ts = 7
			}
			if err := b.add(fmt.Sprintf("u%02d", u), fmt.Sprintf("i%d", j), ts, "", float32(j)); err != nil {
				panic(err)
			}
		}
	}
	return b.d
}

func rowsOf(d *recipe.Interactions, user int32) []int {
	var r []int
	for i, u := range d.User {
		if u == user {
			r = append(r, i)
		}
	}
	return r
}

func TestPersonalizeSplit(t *testing.T) {
	// 20 users with 2..21 interactions: 2 held out.
	counts := make([]int, 20)
	for i := range counts {
		counts[i] = i + 2
	}
	d := usersWith(counts, false)
	s := PersonalizeSplit(d, 42)

	if &s.Train.UserIDs[0] != &d.UserIDs[0] || &s.Truth.ItemIDs[0] != &d.ItemIDs[0] || &s.Fed.ItemIDs[0] != &d.ItemIDs[0] {
		t.Error("split parts do not share the input's id tables")
	}
	held := map[int32]bool{}
	for _, u := range s.Truth.User {
		held[u] = true
	}
	if len(held) != 2 {
		t.Fatalf("held-out users = %d, want 2 (10%% of 20)", len(held))
	}
	// ceil(10%) of n is the target, the rest is fed.
	wantTruth := func(n int) int { return (n + 9) / 10 }
	for u := range held {
		n := counts[u]
		fed, truth := rowsOf(s.Fed, u), rowsOf(s.Truth, u)
		if len(truth) != wantTruth(n) || len(fed) != n-wantTruth(n) {
			t.Errorf("user %d with %d interactions: fed %d truth %d, want %d and %d", u, n, len(fed), len(truth), n-wantTruth(n), wantTruth(n))
		}
		for _, i := range truth {
			for _, j := range fed {
				if s.Truth.Time[i] < s.Fed.Time[j] {
					t.Errorf("user %d: target at %d is older than history at %d", u, s.Truth.Time[i], s.Fed.Time[j])
				}
			}
		}
		if len(rowsOf(s.Train, u)) != 0 {
			t.Errorf("held-out user %d has training interactions", u)
		}
	}
	if want := d.Len() - s.Fed.Len() - s.Truth.Len(); s.Train.Len() != want {
		t.Errorf("Train.Len() = %d, want %d", s.Train.Len(), want)
	}
	if !slices.IsSorted(s.Train.User) {
		t.Error("Train is not in input order")
	}

	again := PersonalizeSplit(d, 42)
	if !reflect.DeepEqual(s, again) {
		t.Error("PersonalizeSplit is not deterministic for a seed")
	}
	differs := false
	for seed := int64(1); seed < 10 && !differs; seed++ {
		differs = !slices.Equal(PersonalizeSplit(d, seed).Truth.User, s.Truth.User)
	}
	if !differs {
		t.Error("the held-out users do not depend on the seed")
	}

	ts := s.TestSet()
	if len(ts.Users) != 2 || ts.Catalog != len(d.ItemIDs) {
		t.Fatalf("TestSet: %d users, catalogue %d; want 2 and %d", len(ts.Users), ts.Catalog, len(d.ItemIDs))
	}
	for _, tu := range ts.Users {
		if tu.User != -1 {
			t.Errorf("held-out user %s: User = %d, want -1 (unknown to the model)", tu.ID, tu.User)
		}
		var u int32 = -1
		fmt.Sscanf(tu.ID, "u%d", &u)
		if len(tu.History) != counts[u]-wantTruth(counts[u]) {
			t.Errorf("user %s: %d history events, want %d", tu.ID, len(tu.History), counts[u]-wantTruth(counts[u]))
		}
	}
}

func TestPersonalizeSplitEligibility(t *testing.T) {
	// Ten users with one interaction cannot be held out; round(11/10) = 1 user is.
	d := usersWith([]int{1, 1, 1, 1, 1, 3, 1, 1, 1, 1, 1}, false)
	for seed := range int64(5) {
		s := PersonalizeSplit(d, seed)
		if got := slices.Compact(slices.Clone(s.Truth.User)); !slices.Equal(got, []int32{5}) {
			t.Errorf("seed %d: held-out users %v, want [5]", seed, got)
		}
	}
}

func TestPersonalizeSplitTies(t *testing.T) {
	// With all times equal, the target is a seeded random pick, not the
	// last rows of the file.
	d := usersWith([]int{10}, true)
	picks := map[int32]bool{}
	for seed := range int64(20) {
		s := PersonalizeSplit(d, seed)
		if s.Truth.Len() != 1 || s.Fed.Len() != 9 {
			t.Fatalf("seed %d: truth %d fed %d, want 1 and 9", seed, s.Truth.Len(), s.Fed.Len())
		}
		picks[s.Truth.Item[0]] = true
	}
	if len(picks) < 3 {
		t.Errorf("20 seeds picked only %d distinct targets among 10 tied interactions", len(picks))
	}
}

func TestStratifiedSplit(t *testing.T) {
	tests := []struct {
		n, train int
	}{
		{1, 1},   // not testable: all in training
		{2, 1},   // at least one each side
		{3, 2},   // round(2.25)
		{4, 3},   // exactly 75%
		{6, 4},   // round half to even: 4.5 → 4
		{10, 8},  // round(7.5) = 8
		{20, 15}, // exactly 75%
	}
	counts := make([]int, len(tests))
	for i, tc := range tests {
		counts[i] = tc.n
	}
	d := usersWith(counts, false)
	s, err := StratifiedSplit(d, 0.75, 3)
	if err != nil {
		t.Fatal(err)
	}
	if s.Fed != nil {
		t.Error("Fed is not nil")
	}
	for u, tc := range tests {
		tr, te := len(rowsOf(s.Train, int32(u))), len(rowsOf(s.Truth, int32(u)))
		if tr != tc.train || te != tc.n-tc.train {
			t.Errorf("StratifiedSplit(user with %d) = %d/%d, want %d/%d", tc.n, tr, te, tc.train, tc.n-tc.train)
		}
	}
	// Every interaction lands on exactly one side.
	var all []string
	for _, p := range []*recipe.Interactions{s.Train, s.Truth} {
		for i := range p.User {
			all = append(all, fmt.Sprintf("%d/%d", p.User[i], p.Item[i]))
		}
	}
	slices.Sort(all)
	if len(all) != d.Len() || len(slices.Compact(all)) != d.Len() {
		t.Errorf("train+test hold %d distinct of %d interactions", len(slices.Compact(all)), d.Len())
	}
	again, _ := StratifiedSplit(d, 0.75, 3)
	if !reflect.DeepEqual(s, again) {
		t.Error("StratifiedSplit is not deterministic for a seed")
	}
	other, _ := StratifiedSplit(d, 0.75, 4)
	if reflect.DeepEqual(s.Truth.Item, other.Truth.Item) {
		t.Error("StratifiedSplit ignores the seed")
	}
	for _, ratio := range []float64{0, 1, -0.5, math.NaN()} {
		if _, err := StratifiedSplit(d, ratio, 1); !errs.Is(err, errs.Invalid) {
			t.Errorf("StratifiedSplit(ratio %v) error = %v, want Invalid", ratio, err)
		}
	}
}

func TestNewTestSetFromFiles(t *testing.T) {
	train, err := ReadInteractionsCSV(strings.NewReader("USER_ID,ITEM_ID,TIMESTAMP\nu0,a,2\nu0,b,1\nu1,c,5\nu1,d,6\n"))
	if err != nil {
		t.Fatal(err)
	}
	test, err := ReadInteractionsCSVOnto(strings.NewReader("user_id,item_id\nu0,b\nu0,d\nu0,d\nu1,c\nu2,a\nu2,x\n"), train)
	if err != nil {
		t.Fatal(err)
	}
	got := NewTestSet(train, nil, test)
	want := TestSet{
		Catalog: 4,
		Dropped: 1, // u1's only target, c, is in its history
		Users: []TestUser{
			// b was seen, d counts once; history sorted by time.
			{ID: "u0", User: 0, History: []recipe.Event{{Item: 1, Time: 1}, {Item: 0, Time: 2}}, Relevant: []int32{3}},
			// unknown user; x (index 4) is beyond the catalogue but still relevant.
			{ID: "u2", User: -1, Relevant: []int32{0, 4}},
		},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("NewTestSet = %+v, want %+v", got, want)
	}
}

func TestNewTestSetUnknownHistoryItem(t *testing.T) {
	train, _ := ReadInteractionsCSV(strings.NewReader("USER_ID,ITEM_ID\nu0,a\n"))
	fed, _ := ReadInteractionsCSVOnto(strings.NewReader("USER_ID,ITEM_ID,TIMESTAMP\nu1,zz,3\nu1,a,4\n"), train)
	truth, _ := ReadInteractionsCSVOnto(strings.NewReader("USER_ID,ITEM_ID\nu1,a\nu1,q\n"), fed)
	got := NewTestSet(train, fed, truth)
	want := []TestUser{{ID: "u1", User: -1, History: []recipe.Event{{Item: -1, Time: 3}, {Item: 0, Time: 4}}, Relevant: []int32{2}}}
	if !reflect.DeepEqual(got.Users, want) {
		t.Errorf("NewTestSet users = %+v, want %+v", got.Users, want)
	}
}
