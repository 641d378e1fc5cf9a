// Package demo generates a realistic demo data set shaped like the seed
// sample: an IT-services catalogue, business users, and VIEWED /
// TRIAL_STARTED / PURCHASED events whose choices follow each user's
// industry, role and the services' categories (so models have structure to
// learn, and "users who run cloud migrations also buy network security"
// holds). It is deterministic for a seed and writes Personalize-style CSVs.
package demo

import (
	"bufio"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"sort"
	"strings"
)

// Options size the data set.
type Options struct {
	Users        int   // 0 means 400
	Interactions int   // 0 means 12000
	Seed         int64 // same seed, same data
	// End is the epoch second of the newest event; events span the 180 days before it.
	End int64
}

// Item is a catalogue service.
type Item struct {
	ID, Name, Category, Tier, PriceRange string
	Popularity                           float64
	Created                              int64
	Industries                           []string
}

// User is a business user.
type User struct {
	ID, Role, Industry, CompanySize, Region, Experience string
	Age                                                 int
}

// Event is one interaction.
type Event struct {
	User, Item, Type string
	Time             int64
}

// Dataset is a generated data set.
type Dataset struct {
	Items  []Item
	Users  []User
	Events []Event
}

var (
	categories = []struct {
		name     string
		services []string
		industry []string
	}{
		{"Cloud", []string{"Cloud Migration Service", "Multi-Cloud Management", "Cloud Cost Optimisation", "Serverless Modernisation"}, []string{"IT", "Finance", "SaaS"}},
		{"Network Security", []string{"Network Security Solutions", "Zero Trust Access", "Managed Firewall", "Security Operations Centre"}, []string{"Banking", "IT", "Healthcare"}},
		{"Digital Commerce", []string{"Digital Commerce Solutions", "Headless Storefront", "Payments Integration", "Marketplace Platform"}, []string{"Retail", "E-commerce"}},
		{"Consulting", []string{"IT Consulting Services", "Enterprise Architecture Review", "Digital Strategy Workshop"}, []string{"All industries"}},
		{"Data & AI", []string{"Data Platform Build", "Machine Learning Ops", "Business Intelligence Dashboards", "Data Governance"}, []string{"Finance", "Retail", "Healthcare"}},
		{"DevOps", []string{"CI/CD Pipeline Setup", "Kubernetes Platform", "Infrastructure as Code", "Site Reliability Engineering"}, []string{"SaaS", "E-commerce", "IT"}},
		{"Managed Services", []string{"24x7 Managed Support", "Backup and Disaster Recovery", "Endpoint Management"}, []string{"Healthcare", "Banking", "Manufacturing"}},
	}
	tiers       = []string{"Standard", "Premium", "Enterprise"}
	industries  = []string{"Finance", "Banking", "IT", "SaaS", "Retail", "E-commerce", "Healthcare", "Manufacturing"}
	roles       = []string{"IT Manager", "Cloud Architect", "Startup Founder", "DevOps Engineer", "CTO", "Security Analyst", "Data Scientist", "Procurement Lead"}
	sizes       = []string{"Small", "Mid-size", "Large", "Enterprise"}
	regions     = []string{"North America", "Europe", "Asia", "South America", "Oceania"}
	experiences = []string{"Junior", "Mid-Level", "Senior"}
	// roleAffinity makes roles prefer categories (on top of industry).
	roleAffinity = map[string][]string{
		"Cloud Architect": {"Cloud", "DevOps"}, "DevOps Engineer": {"DevOps", "Cloud"}, "Security Analyst": {"Network Security", "Managed Services"},
		"Data Scientist": {"Data & AI"}, "Startup Founder": {"Digital Commerce", "Cloud"}, "IT Manager": {"Managed Services", "Network Security", "Consulting"},
		"CTO": {"Consulting", "Data & AI", "Cloud"}, "Procurement Lead": {"Managed Services", "Consulting"},
	}
	// nextCategory is what buyers of one category go on to need.
	nextCategory = map[string]string{"Cloud": "Network Security", "Digital Commerce": "Data & AI", "DevOps": "Cloud",
		"Data & AI": "Cloud", "Network Security": "Managed Services", "Consulting": "Cloud", "Managed Services": "Network Security"}
)

// Generate builds a data set.
func Generate(o Options) *Dataset {
	if o.Users <= 0 {
		o.Users = 400
	}
	if o.Interactions <= 0 {
		o.Interactions = 12000
	}
	if o.End == 0 {
		o.End = 1742000000
	}
	rng := rand.New(rand.NewPCG(uint64(o.Seed), 0xa77e))
	start := o.End - 180*86400
	d := &Dataset{}
	n := 0
	for _, c := range categories {
		for _, svc := range c.services {
			for ti, tier := range tiers {
				n++
				price := []string{"Low", "Medium", "High"}[ti]
				d.Items = append(d.Items, Item{ID: fmt.Sprintf("srv_%03d", n), Name: svc + " (" + tier + ")", Category: c.name, Tier: tier,
					PriceRange: price, Popularity: math.Round((6+4*rng.Float64())*10) / 10,
					Created: start - int64(rng.IntN(700))*86400, Industries: c.industry})
			}
		}
	}
	byCat := map[string][]int{}
	for i, it := range d.Items {
		byCat[it.Category] = append(byCat[it.Category], i)
	}
	for u := 1; u <= o.Users; u++ {
		d.Users = append(d.Users, User{ID: fmt.Sprintf("usr_%04d", u), Role: roles[rng.IntN(len(roles))],
			Industry: industries[rng.IntN(len(industries))], CompanySize: sizes[rng.IntN(len(sizes))],
			Region: regions[rng.IntN(len(regions))], Experience: experiences[rng.IntN(len(experiences))], Age: 24 + rng.IntN(40)})
	}
	// Each user gets a Zipf-ish share of the events.
	weights := make([]float64, o.Users)
	var total float64
	for i := range weights {
		weights[i] = 1 / math.Pow(float64(i+1), 0.6)
		total += weights[i]
	}
	perm := rng.Perm(o.Users)
	for pi, ui := range perm {
		u := d.Users[ui]
		k := max(3, int(math.Round(float64(o.Interactions)*weights[pi]/total)))
		d.Events = append(d.Events, sessionEvents(rng, d, byCat, u, k, start, o.End)...)
	}
	sort.SliceStable(d.Events, func(i, j int) bool { return d.Events[i].Time < d.Events[j].Time })
	return d
}

// sessionEvents draws k events for one user: mostly from the categories the
// user's role and industry favour, drifting to the category that usually
// follows a purchase, with VIEWED → TRIAL_STARTED → PURCHASED funnels.
func sessionEvents(rng *rand.Rand, d *Dataset, byCat map[string][]int, u User, k int, start, end int64) []Event {
	var fav []string
	fav = append(fav, roleAffinity[u.Role]...)
	for _, c := range categories {
		for _, ind := range c.industry {
			if ind == u.Industry || ind == "All industries" {
				fav = append(fav, c.name)
			}
		}
	}
	t := start + int64(rng.IntN(int(end-start)/2))
	cat := fav[rng.IntN(len(fav))]
	var out []Event
	for len(out) < k && t < end {
		if rng.Float64() < 0.15 {
			cat = fav[rng.IntN(len(fav))]
		}
		items := byCat[cat]
		// Higher tiers are rarer, and item popularity matters.
		it := items[rng.IntN(len(items))]
		if rng.Float64() < 0.5 {
			best := it
			for range 2 {
				c := items[rng.IntN(len(items))]
				if d.Items[c].Popularity > d.Items[best].Popularity {
					best = c
				}
			}
			it = best
		}
		out = append(out, Event{User: u.ID, Item: d.Items[it].ID, Type: "VIEWED", Time: t})
		t += int64(60 + rng.IntN(3600))
		if rng.Float64() < 0.35 && len(out) < k {
			out = append(out, Event{User: u.ID, Item: d.Items[it].ID, Type: "TRIAL_STARTED", Time: t})
			t += int64(3600 + rng.IntN(86400))
			if rng.Float64() < 0.45 && len(out) < k {
				out = append(out, Event{User: u.ID, Item: d.Items[it].ID, Type: "PURCHASED", Time: t})
				cat = nextCategory[cat]
			}
		}
		t += int64(rng.IntN(4 * 86400))
	}
	return out
}

// WriteInteractions writes USER_ID,ITEM_ID,EVENT_TYPE,TIMESTAMP rows.
func (d *Dataset) WriteInteractions(w io.Writer) error {
	bw := bufio.NewWriter(w)
	fmt.Fprintln(bw, "USER_ID,ITEM_ID,EVENT_TYPE,TIMESTAMP")
	for _, e := range d.Events {
		fmt.Fprintf(bw, "%s,%s,%s,%d\n", e.User, e.Item, e.Type, e.Time)
	}
	return bw.Flush()
}

// WriteUsers writes the users with their categorical attributes.
func (d *Dataset) WriteUsers(w io.Writer) error {
	bw := bufio.NewWriter(w)
	fmt.Fprintln(bw, "USER_ID,ROLE,INDUSTRY,COMPANY_SIZE,REGION,EXPERIENCE_LEVEL,AGE")
	for _, u := range d.Users {
		fmt.Fprintf(bw, "%s,%s,%s,%s,%s,%s,%d\n", u.ID, u.Role, u.Industry, u.CompanySize, u.Region, u.Experience, u.Age)
	}
	return bw.Flush()
}

// WriteItems writes the catalogue; TARGET_INDUSTRY is multi-valued ('|').
func (d *Dataset) WriteItems(w io.Writer) error {
	bw := bufio.NewWriter(w)
	fmt.Fprintln(bw, "ITEM_ID,SERVICE_NAME,CATEGORY,SERVICE_TIER,PRICE_RANGE,POPULARITY_SCORE,CREATION_TIMESTAMP,TARGET_INDUSTRY")
	for _, it := range d.Items {
		fmt.Fprintf(bw, "%s,%s,%s,%s,%s,%.1f,%d,%s\n", it.ID, csvQuote(it.Name), csvQuote(it.Category), it.Tier, it.PriceRange,
			it.Popularity, it.Created, csvQuote(strings.Join(it.Industries, "|")))
	}
	return bw.Flush()
}

func csvQuote(s string) string {
	if strings.ContainsAny(s, ",\"\n") {
		return `"` + strings.ReplaceAll(s, `"`, `""`) + `"`
	}
	return s
}

// Schemas are the Personalize schemas of the three demo CSVs.
const (
	InteractionsSchema = `{"type":"record","name":"Interactions","namespace":"com.amazonaws.personalize.schema","version":"1.0","fields":[{"name":"USER_ID","type":"string"},{"name":"ITEM_ID","type":"string"},{"name":"EVENT_TYPE","type":"string"},{"name":"TIMESTAMP","type":"long"}]}`
	UsersSchema        = `{"type":"record","name":"Users","namespace":"com.amazonaws.personalize.schema","version":"1.0","fields":[{"name":"USER_ID","type":"string"},{"name":"ROLE","type":["null","string"],"categorical":true},{"name":"INDUSTRY","type":["null","string"],"categorical":true},{"name":"COMPANY_SIZE","type":["null","string"],"categorical":true},{"name":"REGION","type":["null","string"],"categorical":true},{"name":"EXPERIENCE_LEVEL","type":["null","string"],"categorical":true},{"name":"AGE","type":["null","int"]}]}`
	ItemsSchema        = `{"type":"record","name":"Items","namespace":"com.amazonaws.personalize.schema","version":"1.0","fields":[{"name":"ITEM_ID","type":"string"},{"name":"SERVICE_NAME","type":["null","string"],"categorical":true},{"name":"CATEGORY","type":["null","string"],"categorical":true},{"name":"SERVICE_TIER","type":["null","string"],"categorical":true},{"name":"PRICE_RANGE","type":["null","string"],"categorical":true},{"name":"POPULARITY_SCORE","type":["null","float"]},{"name":"CREATION_TIMESTAMP","type":"long"},{"name":"TARGET_INDUSTRY","type":["null","string"],"categorical":true}]}`
)
