package eval

import (
	"reflect"
	"strings"
	"testing"

	"github.com/attune-dev/attune/internal/recipe"
)

func sc(item int32, score float32) recipe.Scored { return recipe.Scored{Item: item, Score: score} }

func TestCooccurrence(t *testing.T) {
	// a co-occurs with b for u1 and u2, with c for u1, with d for u3; the
	// repeated u1,a row must not count twice.
	d, err := ReadInteractionsCSV(strings.NewReader("USER_ID,ITEM_ID\nu1,a\nu1,b\nu1,c\nu1,a\nu2,a\nu2,b\nu3,a\nu3,d\nu4,b\nu4,c\n"))
	if err != nil {
		t.Fatal(err)
	}
	const a, b, c, dd = 0, 1, 2, 3
	c0 := NewCooccurrence(d)
	tests := []struct {
		name string
		q    recipe.Query
		n    int
		want []recipe.Scored
	}{
		{"anchor a", recipe.Query{Item: a}, 10, []recipe.Scored{sc(b, 2), sc(c, 1), sc(dd, 1)}},
		{"top 1", recipe.Query{Item: a}, 1, []recipe.Scored{sc(b, 2)}},
		{"exclude", recipe.Query{Item: a, Exclude: func(it int32) bool { return it == c }}, 10, []recipe.Scored{sc(b, 2), sc(dd, 1)}},
		{"candidates", recipe.Query{Item: a, Candidates: []int32{dd, c}}, 10, []recipe.Scored{sc(c, 1), sc(dd, 1)}},
		{"anchor b", recipe.Query{Item: b}, 10, []recipe.Scored{sc(a, 2), sc(c, 2)}},
		{"no anchor", recipe.Query{Item: -1}, 10, nil},
		{"anchor out of range", recipe.Query{Item: 99}, 10, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := c0.Recommend(tc.q, tc.n); !reflect.DeepEqual(got, tc.want) {
				t.Errorf("Recommend(%+v, %d) = %v, want %v", tc.q, tc.n, got, tc.want)
			}
		})
	}
}
