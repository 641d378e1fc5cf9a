package mf

import (
	"context"
	"math"
	"slices"
	"sort"

	"github.com/attune-dev/attune/internal/recipe"
)

// transitionOptions configure the item-to-item transition component.
type transitionOptions struct {
	Window int     // how many following events of the same user each event links to
	Beta   float64 // popularity discount of the destination: count^-Beta
	Keep   int     // neighbours kept per item
}

// userSequences returns, for every user, their interacted items in time
// order (ties by input order) as one flat array with per-user offsets. It
// uses 4 bytes per interaction plus the offsets.
func userSequences(in *recipe.Interactions, use func(i int) bool) (ptr []int64, seq []int32) {
	nu := len(in.UserIDs)
	ptr = make([]int64, nu+1)
	for i, u := range in.User {
		if use(i) {
			ptr[u+1]++
		}
	}
	for u := 0; u < nu; u++ {
		ptr[u+1] += ptr[u]
	}
	seq = make([]int32, ptr[nu])
	next := slices.Clone(ptr[:nu])
	for i, u := range in.User {
		if use(i) {
			seq[next[u]] = int32(i)
			next[u]++
		}
	}
	if len(in.Time) == len(in.User) {
		for u := 0; u < nu; u++ {
			s := seq[ptr[u]:ptr[u+1]]
			sort.SliceStable(s, func(a, b int) bool { return in.Time[s[a]] < in.Time[s[b]] })
		}
	}
	for p, i := range seq {
		seq[p] = in.Item[i]
	}
	return ptr, seq
}

// buildTransitions counts, for every item i, how often each item j follows
// it within the next Window events of a user (a follower d steps later
// counts 1/d), turns the counts into P(j | i) discounted by j's popularity
// and keeps the Keep strongest followers as a sparse row.
func buildTransitions(ctx context.Context, in *recipe.Interactions, use func(i int) bool, o transitionOptions) (*recipe.CSR, error) {
	ni := len(in.ItemIDs)
	uptr, seq := userSequences(in, use)
	if len(seq) >= math.MaxInt32 {
		return nil, nil // positions would overflow int32; the component is optional
	}
	// occ lists the positions of every item in seq.
	optr := make([]int64, ni+1)
	for _, it := range seq {
		optr[it+1]++
	}
	for i := 0; i < ni; i++ {
		optr[i+1] += optr[i]
	}
	occ := make([]int32, len(seq))
	next := slices.Clone(optr[:ni])
	for p, it := range seq {
		occ[next[it]] = int32(p)
		next[it]++
	}
	next = nil
	pop := make([]float32, ni)
	for i := range pop {
		pop[i] = float32(math.Pow(float64(optr[i+1]-optr[i])+1, -o.Beta))
	}
	acc := make([]float32, ni)
	var touched []int32
	out := &recipe.CSR{Ptr: make([]int64, ni+1)}
	top := recipe.NewTopK(o.Keep)
	for i := 0; i < ni; i++ {
		if i%1024 == 0 {
			if err := ctx.Err(); err != nil {
				return nil, err
			}
		}
		for _, p := range occ[optr[i]:optr[i+1]] {
			// The user whose sequence holds position p ends at uptr[u+1].
			u := sort.Search(len(uptr)-1, func(u int) bool { return uptr[u+1] > int64(p) })
			end := uptr[u+1]
			for d := 1; d <= o.Window && int64(p)+int64(d) < end; d++ {
				j := seq[int(p)+d]
				if int(j) == i {
					continue
				}
				if acc[j] == 0 {
					touched = append(touched, j)
				}
				acc[j] += 1 / float32(d)
			}
		}
		var total float32
		for _, j := range touched {
			total += acc[j]
		}
		for _, j := range touched {
			top.Push(j, acc[j]/total*pop[j])
			acc[j] = 0
		}
		touched = touched[:0]
		row := top.Result()
		slices.SortFunc(row, func(a, b recipe.Scored) int { return int(a.Item) - int(b.Item) })
		for _, s := range row {
			out.Idx = append(out.Idx, s.Item)
			out.Val = append(out.Val, s.Score)
		}
		out.Ptr[i+1] = int64(len(out.Idx))
	}
	return out, nil
}
