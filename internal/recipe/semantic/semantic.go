// Package semantic is the aws-semantic-similarity recipe: related items by
// the similarity of their text. Personalize embeds item descriptions with a
// language model; Attune ships no such model (it must run here, on CPU,
// without downloads), so this recipe is lexical, and says so in its
// description: each item's text (the Items schema's textual and itemName
// fields, plus its categorical values) becomes a TF-IDF vector of words,
// and an item's neighbours are the items of highest cosine similarity. It
// finds items that share words ("ceramic heart mug" ~ "heart mug, red"),
// not synonyms ("cup" is not "mug"). Pure: stdlib and recipe only.
package semantic

import (
	"context"
	"io"
	"math"
	"slices"
	"sort"
	"strings"
	"unicode"

	"github.com/attune-dev/attune/internal/errs"
	"github.com/attune-dev/attune/internal/recipe"
)

// Name is the recipe's Personalize name.
const Name = "aws-semantic-similarity"

// Recipe is aws-semantic-similarity.
type Recipe struct{}

// New returns the recipe.
func New() Recipe { return Recipe{} }

// Name returns aws-semantic-similarity.
func (Recipe) Name() string { return Name }

// Type returns RELATED_ITEMS: GetRecommendations with an itemId.
func (Recipe) Type() recipe.Type { return recipe.RelatedItems }

// Description says what the recipe does, and that it is lexical.
func (Recipe) Description() string {
	return "Related items by text similarity of item metadata (textual and itemName fields, categorical values). " +
		"Attune's version is lexical, not a language-model embedding: TF-IDF word vectors compared by cosine, " +
		"so items sharing words are related, synonyms are not. Items without text get popular items."
}

const (
	pNeighbors = "neighbors"
	pMaxDF     = "max_document_frequency"
)

// Hyperparameters returns the neighbours kept per item and the document
// frequency above which a word is ignored as too common.
func (Recipe) Hyperparameters() []recipe.Hyperparameter {
	return []recipe.Hyperparameter{
		recipe.IntParam(pNeighbors, 100, 1, 1000, false),
		recipe.FloatParam(pMaxDF, 0.5, 0.001, 1, false),
	}
}

// maxPosting caps the items compared through one word, so a word shared by
// a large share of a big catalogue costs a bounded amount per item.
const maxPosting = 5000

// Fit builds the TF-IDF vectors and each item's neighbours.
func (r Recipe) Fit(ctx context.Context, data *recipe.Data, params recipe.Params, opts recipe.FitOptions) (recipe.Model, error) {
	v, err := recipe.ParseParams(r.Hyperparameters(), params)
	if err != nil {
		return nil, err
	}
	if err := recipe.ValidateData(data); err != nil {
		return nil, err
	}
	in := data.Interactions
	ni := len(in.ItemIDs)
	if data.Items == nil || len(data.Items.Text) == 0 {
		return nil, errs.E(errs.Invalid, "%s needs an Items dataset whose schema has a textual field (\"textual\": true) "+
			"or an item name field (\"itemName\": true): the recipe relates items by their text", Name)
	}
	docs := documents(data.Items, ni)
	vec := vectorize(docs, v.Float(pMaxDF))
	k := v.Int(pNeighbors)
	nb := &recipe.CSR{Ptr: make([]int64, ni+1)}
	acc := make([]float32, ni)
	var touched []int32
	for i := range ni {
		if i%1024 == 0 {
			if err := ctx.Err(); err != nil {
				return nil, err
			}
			if opts.Progress != nil {
				opts.Progress(float64(i) / float64(ni))
			}
		}
		touched = touched[:0]
		terms, weights := vec.row(i)
		for p, t := range terms {
			for _, j := range vec.postings[t] {
				if int(j) == i {
					continue
				}
				if acc[j] == 0 {
					touched = append(touched, j)
				}
				acc[j] += weights[p] * vec.weightOf(j, t)
			}
		}
		top := recipe.NewTopK(k)
		for _, j := range touched {
			top.Push(j, acc[j])
			acc[j] = 0
		}
		for _, s := range top.Result() {
			nb.Idx = append(nb.Idx, s.Item)
			nb.Val = append(nb.Val, s.Score)
		}
		nb.Ptr[i+1] = int64(len(nb.Idx))
	}
	if opts.Progress != nil {
		opts.Progress(1)
	}
	return recipe.NewNeighborModel(Name, in.ItemIDs, in.UserIDs, nb, recipe.RankByCount(recipe.UserCounts(in))), nil
}

// Decode reads a model written by its Encode.
func (Recipe) Decode(rd io.Reader) (recipe.Model, error) {
	return recipe.DecodeNeighborModel(rd, Name)
}

// documents returns each item's words: its text fields and its categorical
// values that are not text fields, in field order.
func documents(meta *recipe.ItemMeta, ni int) [][]string {
	fields := make([]string, 0, len(meta.Text))
	for f := range meta.Text {
		fields = append(fields, f)
	}
	sort.Strings(fields)
	cats := make([]string, 0, len(meta.Categorical))
	for f := range meta.Categorical {
		if _, text := meta.Text[f]; !text {
			cats = append(cats, f)
		}
	}
	sort.Strings(cats)
	docs := make([][]string, ni)
	for i := range ni {
		var words []string
		for _, f := range fields {
			if col := meta.Text[f]; i < len(col) {
				words = appendWords(words, col[i])
			}
		}
		for _, f := range cats {
			if col := meta.Categorical[f]; i < len(col) {
				for _, val := range col[i] {
					words = appendWords(words, val)
				}
			}
		}
		docs[i] = words
	}
	return docs
}

// stopwords are English function words, which relate everything to
// everything.
var stopwords = map[string]bool{}

func init() {
	for _, w := range strings.Fields(`a an and are as at be but by for from has have in into is it its of on or
		that the this to was were will with without not no your our you we they their there than then so such
		can all any each per via up out off over under more most very`) {
		stopwords[w] = true
	}
}

// appendWords appends the words of s: runs of letters and digits, lower
// case, at least two characters, not stopwords, with a plural "s" dropped
// from words longer than three letters (not "ss").
func appendWords(words []string, s string) []string {
	for _, w := range strings.FieldsFunc(strings.ToLower(s), func(r rune) bool { return !unicode.IsLetter(r) && !unicode.IsDigit(r) }) {
		if len([]rune(w)) < 2 || stopwords[w] {
			continue
		}
		if len(w) > 3 && strings.HasSuffix(w, "s") && !strings.HasSuffix(w, "ss") {
			w = w[:len(w)-1]
		}
		words = append(words, w)
	}
	return words
}

// vectors are the items' L2-normalized TF-IDF vectors, rows sorted by term
// id, with an inverted index.
type vectors struct {
	rows     *recipe.CSR // item -> (term id, weight)
	postings [][]int32   // term id -> items having it (at most maxPosting)
}

func (v *vectors) row(i int) ([]int32, []float32) { return v.rows.Row(i) }

// weightOf returns item j's weight of term t (0 when absent).
func (v *vectors) weightOf(j, t int32) float32 {
	terms, weights := v.rows.Row(int(j))
	if p, ok := slices.BinarySearch(terms, t); ok {
		return weights[p]
	}
	return 0
}

// vectorize weighs words by (1 + ln tf)·idf with idf = ln((N+1)/(df+1)) + 1
// and normalizes each item's vector; words in more than maxDF of the
// documents that have any text are dropped.
func vectorize(docs [][]string, maxDF float64) *vectors {
	ids := map[string]int32{}
	var df []int
	withText := 0
	counts := make([]map[int32]int, len(docs))
	for i, words := range docs {
		if len(words) == 0 {
			continue
		}
		withText++
		c := map[int32]int{}
		for _, w := range words {
			id, ok := ids[w]
			if !ok {
				id = int32(len(df))
				ids[w] = id
				df = append(df, 0)
			}
			if c[id] == 0 {
				df[id]++
			}
			c[id]++
		}
		counts[i] = c
	}
	limit := max(3, int(maxDF*float64(withText)))
	idf := make([]float64, len(df))
	for t, d := range df {
		idf[t] = math.Log(float64(withText+1)/float64(d+1)) + 1
	}
	v := &vectors{rows: &recipe.CSR{Ptr: make([]int64, len(docs)+1)}, postings: make([][]int32, len(df))}
	for i, c := range counts {
		terms := make([]int32, 0, len(c))
		for t := range c {
			if df[t] <= limit && df[t] > 1 { // a word only one item has relates it to nothing
				terms = append(terms, t)
			}
		}
		slices.Sort(terms)
		var norm float64
		start := len(v.rows.Val)
		for _, t := range terms {
			w := (1 + math.Log(float64(c[t]))) * idf[t]
			norm += w * w
			v.rows.Idx = append(v.rows.Idx, t)
			v.rows.Val = append(v.rows.Val, float32(w))
		}
		if norm > 0 {
			inv := float32(1 / math.Sqrt(norm))
			for p := start; p < len(v.rows.Val); p++ {
				v.rows.Val[p] *= inv
			}
		}
		v.rows.Ptr[i+1] = int64(len(v.rows.Idx))
		for _, t := range terms {
			if len(v.postings[t]) < maxPosting {
				v.postings[t] = append(v.postings[t], int32(i))
			}
		}
	}
	return v
}
