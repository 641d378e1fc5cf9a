package eval

import (
	"cmp"
	"math"
	"math/rand/v2"
	"slices"

	"github.com/attune-dev/attune/internal/errs"
	"github.com/attune-dev/attune/internal/recipe"
)

// Split is a division of one interactions set for offline evaluation. The
// three parts share the id tables (UserIDs, ItemIDs, EventTypes) of the
// input, so an index means the same user or item in each of them.
type Split struct {
	// Train is what the recipe fits on.
	Train *recipe.Interactions
	// Fed is the history given to the model at query time for the test
	// users (Personalize split). It is nil when the test users' history is
	// their part of Train (stratified split).
	Fed *recipe.Interactions
	// Truth holds the test users' ground-truth interactions.
	Truth *recipe.Interactions
}

// TestSet returns the test set of the split: see NewTestSet.
func (s Split) TestSet() TestSet { return NewTestSet(s.Train, s.Fed, s.Truth) }

// newRand returns the split's own random source: seeded, never the global one.
func newRand(seed int64) *rand.Rand {
	return rand.New(rand.NewPCG(uint64(seed), 0x9e3779b97f4a7c15))
}

// byUser groups interaction indexes by user index: rows[u] lists the
// interactions of user u in input order.
func byUser(d *recipe.Interactions) [][]int {
	rows := make([][]int, len(d.UserIDs))
	for i, u := range d.User {
		rows[u] = append(rows[u], i)
	}
	return rows
}

// subset returns the interactions of d at the given indexes, in that order,
// sharing d's id tables.
func subset(d *recipe.Interactions, idx []int) *recipe.Interactions {
	out := &recipe.Interactions{
		UserIDs: d.UserIDs, ItemIDs: d.ItemIDs, EventTypes: d.EventTypes,
		User:  make([]int32, len(idx)),
		Item:  make([]int32, len(idx)),
		Time:  make([]int64, len(idx)),
		Event: make([]uint16, len(idx)),
		Value: make([]float32, len(idx)),
	}
	for j, i := range idx {
		out.User[j], out.Item[j], out.Time[j] = d.User[i], d.Item[i], d.Time[i]
		if i < len(d.Event) {
			out.Event[j] = d.Event[i]
		}
		if i < len(d.Value) {
			out.Value[j] = d.Value[i]
		} else {
			out.Value[j] = float32(math.NaN())
		}
	}
	return out
}

// PersonalizeSplit splits d as Personalize does for solution metrics:
//
//   - 10% of the users (rounded, at least 1) are held out, drawn with the
//     seed. Only users with at least 2 interactions can be drawn, since a
//     held-out user needs both a history and a target; the others always train.
//   - A held-out user's interactions are ordered by time; the oldest 90%
//     (at least 1) become Fed and the newest ceil(10%) (at least 1) Truth.
//     Interactions with equal timestamps have no meaningful order (a basket,
//     or a data set without times, where every TIMESTAMP is 0), so they are
//     shuffled with the seed before the stable sort by time; that makes the
//     target a random subset of the tied interactions rather than, say, the
//     highest item ids.
//   - Train is every interaction of the other users, in input order.
//
// The result depends only on d and seed.
func PersonalizeSplit(d *recipe.Interactions, seed int64) Split {
	rng := newRand(seed)
	rows := byUser(d)
	var active, eligible []int32
	for u, r := range rows {
		if len(r) > 0 {
			active = append(active, int32(u))
		}
		if len(r) >= 2 {
			eligible = append(eligible, int32(u))
		}
	}
	n := min(max((len(active)+5)/10, 1), len(eligible))
	rng.Shuffle(len(eligible), func(i, j int) { eligible[i], eligible[j] = eligible[j], eligible[i] })
	held := eligible[:n]
	slices.Sort(held) // users come out in index order, whatever the draw

	isHeld := make([]bool, len(d.UserIDs))
	var fed, truth []int
	for _, u := range held {
		isHeld[u] = true
		r := slices.Clone(rows[u])
		rng.Shuffle(len(r), func(i, j int) { r[i], r[j] = r[j], r[i] })
		slices.SortStableFunc(r, func(a, b int) int { return cmp.Compare(d.Time[a], d.Time[b]) })
		nTruth := (len(r) + 9) / 10 // ceil(10%); ≥1, and ≤ len-1 since len ≥ 2
		fed = append(fed, r[:len(r)-nTruth]...)
		truth = append(truth, r[len(r)-nTruth:]...)
	}
	var train []int
	for i, u := range d.User {
		if !isHeld[u] {
			train = append(train, i)
		}
	}
	return Split{Train: subset(d, train), Fed: subset(d, fed), Truth: subset(d, truth)}
}

// StratifiedSplit splits each user's interactions at random into a training
// part of round(ratio·n) interactions and a test part of the rest, like
// Microsoft Recommenders' python_stratified_split (ratio 0.75 is its ML-100K
// protocol; rounding is half to even, as numpy's). Two deliberate
// differences for users with few interactions:
//
//   - a user with 1 interaction keeps it in Train and is not tested (there is
//     no history to recommend from and nothing left to hit);
//   - a user with n ≥ 2 interactions keeps at least 1 on each side, so the
//     rounding never leaves them with an empty test or training part.
//
// Fed is nil: a test user's history is their part of Train. The result
// depends only on d, ratio and seed. A ratio outside (0, 1) is errs.Invalid.
func StratifiedSplit(d *recipe.Interactions, ratio float64, seed int64) (Split, error) {
	if !(ratio > 0 && ratio < 1) {
		return Split{}, errs.E(errs.Invalid, "stratified split: ratio %v is not in (0, 1)", ratio)
	}
	rng := newRand(seed)
	var train, test []int
	for _, r := range byUser(d) {
		if len(r) == 0 {
			continue
		}
		if len(r) == 1 {
			train = append(train, r[0])
			continue
		}
		r = slices.Clone(r)
		rng.Shuffle(len(r), func(i, j int) { r[i], r[j] = r[j], r[i] })
		nTrain := min(max(int(math.RoundToEven(ratio*float64(len(r)))), 1), len(r)-1)
		train = append(train, r[:nTrain]...)
		test = append(test, r[nTrain:]...)
	}
	// Train in input order, so a recipe sees the same row order as without
	// a split (some break ties by position).
	slices.Sort(train)
	return Split{Train: subset(d, train), Truth: subset(d, test)}, nil
}

// TestUser is one user to score.
type TestUser struct {
	ID string
	// User is the user's index in the training data, or -1 when the user has
	// no training interactions (the model must fold in History).
	User int32
	// History is what the model is given, oldest first; its items are
	// excluded from the recommendations. Items unknown to the model are -1.
	History []recipe.Event
	// Relevant lists the distinct ground-truth items not already in History.
	// Indexes ≥ TestSet.Catalog are items the model does not know: they
	// count as relevant but can never be hit.
	Relevant []int32
}

// TestSet is what Evaluate scores a model on.
type TestSet struct {
	// Catalog is the number of items the model knows (indexes 0..Catalog-1),
	// the denominator of coverage.
	Catalog int
	Users   []TestUser
	// Dropped counts users whose every ground-truth item was already in
	// their history: excluded from the recommendations, they could never be
	// hit, so they are not scored.
	Dropped int
}

// NewTestSet builds the test set of the users in truth. A user's history is
// their interactions in fed, or, when fed is nil, their interactions in
// train; it is sorted by time (stable, so the order of equal times is kept).
// A user counts as known to the model (TestUser.User ≥ 0) only when they
// have interactions in train, because a user index with no training data
// carries no learned state.
//
// truth and fed may use id tables that extend train's (as
// ReadInteractionsCSVOnto makes them): indexes below len(train.ItemIDs) must
// mean the same items. Items beyond the training catalogue are -1 in
// History and kept in Relevant (see TestUser).
func NewTestSet(train, fed, truth *recipe.Interactions) TestSet {
	catalog := len(train.ItemIDs)
	known := make([]bool, len(train.UserIDs))
	for _, u := range train.User {
		known[u] = true
	}
	hist := train
	if fed != nil {
		hist = fed
	}
	histRows := byUser(hist)
	truthRows := byUser(truth)

	ts := TestSet{Catalog: catalog}
	for u, rows := range truthRows {
		if len(rows) == 0 {
			continue
		}
		tu := TestUser{ID: truth.UserIDs[u], User: -1}
		if u < len(known) && known[u] {
			tu.User = int32(u)
		}
		var seen map[int32]bool
		if u < len(histRows) {
			hr := slices.Clone(histRows[u])
			slices.SortStableFunc(hr, func(a, b int) int { return cmp.Compare(hist.Time[a], hist.Time[b]) })
			seen = make(map[int32]bool, len(hr))
			for _, i := range hr {
				ev := recipe.Event{Item: hist.Item[i], Time: hist.Time[i]}
				if i < len(hist.Event) {
					ev.Event = hist.Event[i]
				}
				if int(ev.Item) >= catalog {
					ev.Item = -1
				} else {
					seen[ev.Item] = true
				}
				tu.History = append(tu.History, ev)
			}
		}
		for _, i := range rows {
			it := truth.Item[i]
			if !seen[it] && !slices.Contains(tu.Relevant, it) {
				tu.Relevant = append(tu.Relevant, it)
			}
		}
		if len(tu.Relevant) == 0 {
			ts.Dropped++
			continue
		}
		ts.Users = append(ts.Users, tu)
	}
	return ts
}
