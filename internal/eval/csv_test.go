package eval

import (
	"math"
	"reflect"
	"strconv"
	"strings"
	"testing"

	"github.com/attune-dev/attune/internal/errs"
	"github.com/attune-dev/attune/internal/recipe"
)

func TestReadInteractionsCSV(t *testing.T) {
	nan := float32(math.NaN())
	tests := []struct {
		name string
		in   string
		want *recipe.Interactions
	}{
		{
			name: "all columns, any case and order, extra columns ignored",
			in: "\ufeffEvent_Type,item_id,DEVICE,User_Id,timestamp,EVENT_VALUE\n" +
				"VIEW,i1,\"Mobile, iOS\",u1,100,1.5\n" +
				"BUY,i2,Desktop,u1,200,\n" +
				"VIEW,i1,x,u2,150.0,2\n",
			want: &recipe.Interactions{
				UserIDs: []string{"u1", "u2"}, ItemIDs: []string{"i1", "i2"}, EventTypes: []string{"VIEW", "BUY"},
				User: []int32{0, 0, 1}, Item: []int32{0, 1, 0}, Time: []int64{100, 200, 150},
				Event: []uint16{0, 1, 0}, Value: []float32{1.5, nan, 2},
			},
		},
		{
			name: "only the required columns",
			in:   "USER_ID,ITEM_ID\nu1,i1\nu2,i1\n",
			want: &recipe.Interactions{
				UserIDs: []string{"u1", "u2"}, ItemIDs: []string{"i1"}, EventTypes: []string{""},
				User: []int32{0, 1}, Item: []int32{0, 0}, Time: []int64{0, 0},
				Event: []uint16{0, 0}, Value: []float32{nan, nan},
			},
		},
		{
			name: "header only",
			in:   "USER_ID,ITEM_ID,TIMESTAMP\n",
			want: &recipe.Interactions{},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ReadInteractionsCSV(strings.NewReader(tc.in))
			if err != nil {
				t.Fatalf("ReadInteractionsCSV: %v", err)
			}
			// NaN != NaN, so compare values by their text.
			if g, w := fmtValues(got.Value), fmtValues(tc.want.Value); g != w {
				t.Errorf("Value = %s, want %s", g, w)
			}
			got.Value, tc.want.Value = nil, nil
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("ReadInteractionsCSV = %+v, want %+v", got, tc.want)
			}
		})
	}
}

func fmtValues(v []float32) string {
	var b strings.Builder
	for _, x := range v {
		b.WriteString(strconv.FormatFloat(float64(x), 'g', -1, 32) + ";")
	}
	return b.String()
}

func TestReadInteractionsCSVErrors(t *testing.T) {
	tests := []struct {
		name, in string
		where    string // the position the message must name
	}{
		{"empty file", "", "line 1"},
		{"no ITEM_ID column", "USER_ID,ITEMID\nu,i\n", "line 1"},
		{"duplicate column", "USER_ID,ITEM_ID,user_id\nu,i,u\n", "line 1"},
		{"empty user", "USER_ID,ITEM_ID\nu1,i1\n,i2\n", "line 3, column 1 (USER_ID)"},
		{"short line", "USER_ID,ITEM_ID,TIMESTAMP\nu1,i1,5\nu2\n", "line 3, column 2 (ITEM_ID)"},
		{"bad timestamp", "USER_ID,ITEM_ID,TIMESTAMP\nu1,i1,5\nu1,i2,yesterday\n", "line 3, column 3 (TIMESTAMP)"},
		{"fractional timestamp", "USER_ID,ITEM_ID,TIMESTAMP\nu1,i1,5.5\n", "line 2, column 3 (TIMESTAMP)"},
		{"empty timestamp", "TIMESTAMP,USER_ID,ITEM_ID\n,u1,i1\n", "line 2, column 1 (TIMESTAMP)"},
		{"bad event value", "USER_ID,ITEM_ID,EVENT_VALUE\nu1,i1,1\nu1,i1,1\nu1,i1,lots\n", "line 4, column 3 (EVENT_VALUE)"},
		{"bad quoting", "USER_ID,ITEM_ID\nu1,i1\nu\"2,i1\n", "line 3"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ReadInteractionsCSV(strings.NewReader(tc.in))
			if !errs.Is(err, errs.Invalid) {
				t.Fatalf("ReadInteractionsCSV error = %v, want Invalid", err)
			}
			if msg := errs.Message(err); !strings.Contains(msg, tc.where) {
				t.Errorf("ReadInteractionsCSV error %q does not name %q", msg, tc.where)
			}
		})
	}
}

func TestReadInteractionsCSVOnto(t *testing.T) {
	base, err := ReadInteractionsCSV(strings.NewReader("USER_ID,ITEM_ID,EVENT_TYPE\nu1,i1,VIEW\nu2,i2,BUY\n"))
	if err != nil {
		t.Fatal(err)
	}
	baseItems := append([]string(nil), base.ItemIDs...)
	got, err := ReadInteractionsCSVOnto(strings.NewReader("USER_ID,ITEM_ID,EVENT_TYPE\nu3,i2,BUY\nu1,i9,CLICK\n"), base)
	if err != nil {
		t.Fatal(err)
	}
	want := struct {
		users, items, types []string
		user, item          []int32
		event               []uint16
	}{
		[]string{"u1", "u2", "u3"}, []string{"i1", "i2", "i9"}, []string{"VIEW", "BUY", "CLICK"},
		[]int32{2, 0}, []int32{1, 2}, []uint16{1, 2},
	}
	if !reflect.DeepEqual(got.UserIDs, want.users) || !reflect.DeepEqual(got.ItemIDs, want.items) ||
		!reflect.DeepEqual(got.EventTypes, want.types) || !reflect.DeepEqual(got.User, want.user) ||
		!reflect.DeepEqual(got.Item, want.item) || !reflect.DeepEqual(got.Event, want.event) {
		t.Errorf("ReadInteractionsCSVOnto = %+v, want %+v", got, want)
	}
	if !reflect.DeepEqual(base.ItemIDs, baseItems) || len(base.UserIDs) != 2 {
		t.Errorf("ReadInteractionsCSVOnto changed base: %+v", base)
	}
}
