package eval

import (
	"bufio"
	"compress/gzip"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"strconv"
	"strings"
	"time"

	"github.com/attune-dev/attune/internal/errs"
	"github.com/attune-dev/attune/internal/recipe"
)

// The loaders below read the public benchmark data sets for the quality
// benchmark only (MovieLens and Last.fm are licensed for research, not for
// shipping). Each takes the data set's own directory as an fs.FS, so this
// package never opens files itself.

// LoadMovieLens100K reads u.data of MovieLens 100K: tab-separated user id,
// item id, rating, timestamp, no header. Every rating is an interaction
// (the Microsoft Recommenders protocol counts all of them), with event type
// "RATING" and the rating as EVENT_VALUE.
func LoadMovieLens100K(fsys fs.FS) (*recipe.Interactions, error) {
	b := newBuilder()
	err := eachLine(fsys, "u.data", false, func(line int, f []string) error {
		if len(f) != 4 {
			return fmt.Errorf("line %d: %d fields, want 4", line, len(f))
		}
		ts, err1 := strconv.ParseInt(f[3], 10, 64)
		rating, err2 := strconv.ParseFloat(f[2], 32)
		if err := errors.Join(err1, err2); err != nil {
			return fmt.Errorf("line %d: %w", line, err)
		}
		return b.add(f[0], f[1], ts, "RATING", float32(rating))
	})
	if err != nil {
		return nil, fmt.Errorf("movielens-100k: %w", err)
	}
	return b.d, nil
}

// LoadLastFM reads user_artists.dat of Last.fm HetRec 2011: tab-separated
// userID, artistID, weight (play count) with a header line. The file has no
// times, so every TIMESTAMP is 0 and the play count is EVENT_VALUE (event
// type "LISTEN"). PersonalizeSplit orders equal timestamps at random (seeded),
// so a held-out user's target is a random 10% of their top artists.
func LoadLastFM(fsys fs.FS) (*recipe.Interactions, error) {
	b := newBuilder()
	err := eachLine(fsys, "user_artists.dat", true, func(line int, f []string) error {
		if len(f) != 3 {
			return fmt.Errorf("line %d: %d fields, want 3", line, len(f))
		}
		w, err := strconv.ParseFloat(f[2], 32)
		if err != nil {
			return fmt.Errorf("line %d: %w", line, err)
		}
		return b.add(f[0], f[1], 0, "LISTEN", float32(w))
	})
	if err != nil {
		return nil, fmt.Errorf("lastfm: %w", err)
	}
	return b.d, nil
}

// eachLine calls fn with the tab-separated fields of every line of name,
// after the header when header is set. Trailing CRs (Last.fm's CRLF) and
// empty lines are dropped.
func eachLine(fsys fs.FS, name string, header bool, fn func(line int, fields []string) error) error {
	f, err := fsys.Open(name)
	if err != nil {
		return err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		text := strings.TrimRight(sc.Text(), "\r")
		if (header && n == 1) || text == "" {
			continue
		}
		if err := fn(n, strings.Split(text, "\t")); err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
	}
	if err := sc.Err(); err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	return nil
}

// LoadOnlineRetail reads online_retail.csv.gz of the UCI Online Retail data
// set as PURCHASE interactions, following its README: rows with a
// CustomerID, a positive Quantity and an invoice that is not a cancellation
// (C…) or bad-debt adjustment (A…); StockCode is the item, InvoiceDate (wall
// clock, read as UTC) the time and Quantity the EVENT_VALUE. Stock codes
// that are not products (postage, fees, discounts, vouchers: see
// nonProduct) are dropped, since recommending "POSTAGE" is not a
// recommendation and it would flatter popularity.
func LoadOnlineRetail(fsys fs.FS) (*recipe.Interactions, error) {
	const name = "online_retail.csv.gz"
	f, err := fsys.Open(name)
	if err != nil {
		return nil, fmt.Errorf("online retail: %w", err)
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		return nil, fmt.Errorf("online retail: %s: %w", name, err)
	}
	d, err := readOnlineRetail(zr)
	if err != nil {
		return nil, fmt.Errorf("online retail: %s: %w", name, err)
	}
	return d, nil
}

func readOnlineRetail(r io.Reader) (*recipe.Interactions, error) {
	cr := csv.NewReader(r)
	cr.ReuseRecord = true
	header, err := cr.Read()
	if err != nil {
		return nil, fmt.Errorf("header: %w", err)
	}
	col := map[string]int{}
	for i, h := range header {
		col[h] = i
	}
	for _, c := range []string{"InvoiceNo", "StockCode", "Quantity", "InvoiceDate", "CustomerID"} {
		if _, ok := col[c]; !ok {
			return nil, errs.E(errs.Invalid, "header has no %s column", c)
		}
	}
	b := newBuilder()
	for {
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			return b.d, nil
		}
		if err != nil {
			return nil, err
		}
		inv, item, cust := rec[col["InvoiceNo"]], rec[col["StockCode"]], rec[col["CustomerID"]]
		if cust == "" || strings.HasPrefix(inv, "C") || strings.HasPrefix(inv, "A") || nonProduct(item) {
			continue
		}
		line, _ := cr.FieldPos(0)
		qty, err := strconv.Atoi(rec[col["Quantity"]])
		if err != nil {
			return nil, fmt.Errorf("line %d: Quantity: %w", line, err)
		}
		if qty <= 0 {
			continue
		}
		t, err := time.Parse(time.DateTime, rec[col["InvoiceDate"]])
		if err != nil {
			return nil, fmt.Errorf("line %d: InvoiceDate: %w", line, err)
		}
		if err := b.add(cust, item, t.Unix(), "PURCHASE", float32(qty)); err != nil {
			return nil, err
		}
	}
}

// nonProduct reports whether an Online Retail stock code is a charge or
// adjustment rather than a product, per the data set's README.
func nonProduct(code string) bool {
	switch code {
	case "POST", "DOT", "M", "m", "D", "C2", "S", "B", "BANK CHARGES", "AMAZONFEE", "CRUK", "PADS":
		return true
	}
	return strings.HasPrefix(code, "DCGS") || strings.HasPrefix(code, "gift_")
}
