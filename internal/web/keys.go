package web

import (
	"context"
	"crypto/subtle"
	"encoding/json"
	"net/http"
	"time"

	"github.com/attune-dev/attune/internal/accesskeys"
	"github.com/attune-dev/attune/internal/errs"
	"github.com/attune-dev/attune/internal/iam"
)

// KeyManager is the access-key service (internal/accesskeys) as the console
// uses it.
type KeyManager interface {
	Lookup(accessKeyID string) (*accesskeys.Principal, bool)
	List(ctx context.Context) ([]accesskeys.Info, error)
	Create(ctx context.Context, name string, policy []byte) (accesskeys.Created, error)
	Delete(ctx context.Context, accessKeyID string) error
}

// who is the signed-in caller of a console request.
type who struct {
	keyID  string
	root   bool
	name   string
	policy *iam.Policy // nil for root
}

// caller returns who holds the request's session. A session of a key
// deleted since it signed in is over.
func (c *console) caller(r *http.Request) (who, error) {
	tok := sessionToken(r)
	owner, ok := "", false
	if tok != "" {
		owner, ok = c.sessions.valid(tok)
	}
	if !ok {
		return who{}, errs.E(errs.Unauthenticated, "not signed in: POST /console/api/login first")
	}
	if _, root := c.opts.Credentials[owner]; root {
		return who{keyID: owner, root: true, name: "root"}, nil
	}
	if c.opts.AccessKeys != nil {
		if p, ok := c.opts.AccessKeys.Lookup(owner); ok {
			return who{keyID: owner, name: p.Name, policy: p.Policy}, nil
		}
	}
	c.sessions.remove(tok)
	return who{}, errs.E(errs.Unauthenticated, "the access key of this session was deleted: sign in again")
}

// checkLogin reports whether the pair is a root key or a scoped access key,
// comparing secrets in constant time.
func (c *console) checkLogin(keyID, secret string) bool {
	if checkCredentials(c.opts.Credentials, keyID, secret) {
		return true
	}
	if c.opts.AccessKeys == nil || keyID == "" {
		return false
	}
	p, ok := c.opts.AccessKeys.Lookup(keyID)
	if !ok {
		return false
	}
	return subtle.ConstantTimeCompare([]byte(p.Secret), []byte(secret)) == 1
}

// allowed checks that the caller's policy allows personalize:op on resource.
func (c *console) allowed(r *http.Request, op, resource string) error {
	w, err := c.caller(r)
	if err != nil || w.root {
		return err
	}
	if w.policy.Evaluate(iam.Service+":"+op, resource) != iam.Allowed {
		return errs.E(errs.AccessDenied, "access key %s may not call personalize:%s on %s", w.name, op, errs.Echo(resource))
	}
	return nil
}

// requireRoot returns nil for a root session, else errs.Unauthenticated or
// errs.AccessDenied saying a root session may do what.
func (c *console) requireRoot(r *http.Request, what string) error {
	who, err := c.caller(r)
	if err != nil {
		return err
	}
	if !who.root {
		return errs.E(errs.AccessDenied, "only a root session may %s", what)
	}
	return nil
}

// rootOnly wraps the key-management handlers: scoped keys may sign in but
// never manage keys.
func (c *console) rootOnly(h func(w http.ResponseWriter, r *http.Request) error) func(w http.ResponseWriter, r *http.Request) error {
	return func(w http.ResponseWriter, r *http.Request) error {
		if err := c.requireRoot(r, "manage access keys"); err != nil {
			return err
		}
		if c.opts.AccessKeys == nil {
			return errs.E(errs.Unavailable, "this server has no access-key store")
		}
		return h(w, r)
	}
}

func (c *console) handleKeys() {
	c.mux.Handle("GET /console/api/whoami", c.adapt(c.authed(c.whoami)))
	c.mux.Handle("GET /console/api/keys", c.adapt(c.rootOnly(c.listKeys)))
	c.mux.Handle("POST /console/api/keys", c.adapt(c.rootOnly(c.createKey)))
	c.mux.Handle("DELETE /console/api/keys/{id}", c.adapt(c.rootOnly(c.deleteKey)))
}

type whoamiOut struct {
	AccessKeyID string `json:"accessKeyId"`
	Name        string `json:"name"`
	Root        bool   `json:"root"`
}

func (c *console) whoami(w http.ResponseWriter, r *http.Request) error {
	who, err := c.caller(r)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, whoamiOut{AccessKeyID: who.keyID, Name: who.name, Root: who.root})
	return nil
}

type keyOut struct {
	AccessKeyID string          `json:"accessKeyId"`
	Name        string          `json:"name"`
	Created     time.Time       `json:"created"`
	LastUsed    *time.Time      `json:"lastUsed"`
	Policy      json.RawMessage `json:"policy"`
}

func (c *console) listKeys(w http.ResponseWriter, r *http.Request) error {
	list, err := c.opts.AccessKeys.List(r.Context())
	if err != nil {
		return err
	}
	out := struct {
		Keys []keyOut `json:"keys"`
	}{Keys: make([]keyOut, 0, len(list))}
	for _, k := range list {
		ko := keyOut{AccessKeyID: k.AccessKeyID, Name: k.Name, Created: k.Created.UTC(), Policy: json.RawMessage(k.Policy)}
		if !json.Valid(ko.Policy) {
			ko.Policy = nil
		}
		if !k.LastUsed.IsZero() {
			t := k.LastUsed.UTC()
			ko.LastUsed = &t
		}
		out.Keys = append(out.Keys, ko)
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

// createKeyIn takes the policy as a JSON string (the console's text area)
// or as an inline JSON object.
type createKeyIn struct {
	Name   string          `json:"name"`
	Policy json.RawMessage `json:"policy"`
}

type createdOut struct {
	AccessKeyID     string `json:"accessKeyId"`
	SecretAccessKey string `json:"secretAccessKey"`
	Name            string `json:"name"`
}

func (c *console) createKey(w http.ResponseWriter, r *http.Request) error {
	var in createKeyIn
	if err := decode(r, &in); err != nil {
		return err
	}
	policy := []byte(in.Policy)
	var text string
	if json.Unmarshal(in.Policy, &text) == nil {
		policy = []byte(text)
	}
	if len(policy) == 0 {
		return errs.E(errs.Invalid, "policy is required: an IAM policy document")
	}
	k, err := c.opts.AccessKeys.Create(r.Context(), in.Name, policy)
	if err != nil {
		return err
	}
	c.opts.Log.InfoContext(r.Context(), "access key created in the console", "newAccessKeyId", k.AccessKeyID, "name", k.Name)
	writeJSON(w, http.StatusOK, createdOut{AccessKeyID: k.AccessKeyID, SecretAccessKey: k.SecretAccessKey, Name: k.Name})
	return nil
}

func (c *console) deleteKey(w http.ResponseWriter, r *http.Request) error {
	id := r.PathValue("id")
	if err := c.opts.AccessKeys.Delete(r.Context(), id); err != nil {
		return err
	}
	c.opts.Log.InfoContext(r.Context(), "access key deleted in the console", "deletedAccessKeyId", errs.Echo(id))
	writeJSON(w, http.StatusOK, map[string]bool{"ok": true})
	return nil
}

// scopedOverview keeps what the policy lets a key describe: groups, their
// datasets, import jobs, solutions, versions and campaigns, each by its
// Describe action on its ARN.
func scopedOverview(ov *overviewOut, p *iam.Policy) *overviewOut {
	can := func(op, a string) bool { return p.Evaluate(iam.Service+":"+op, a) == iam.Allowed }
	out := &overviewOut{Groups: []groupOut{}}
	for _, g := range ov.Groups {
		if !can("DescribeDatasetGroup", g.ARN) {
			continue
		}
		ng := g
		ng.Datasets, ng.Solutions = []datasetOut{}, []solutionOut{}
		for _, d := range g.Datasets {
			if !can("DescribeDataset", d.ARN) {
				continue
			}
			nd := d
			nd.ImportJobs = filter(d.ImportJobs, func(j importOut) bool { return can("DescribeDatasetImportJob", j.ARN) })
			ng.Datasets = append(ng.Datasets, nd)
		}
		for _, s := range g.Solutions {
			if !can("DescribeSolution", s.ARN) {
				continue
			}
			ns := s
			ns.Versions = filter(s.Versions, func(v versionOut) bool { return can("DescribeSolutionVersion", v.ARN) })
			ns.Campaigns = filter(s.Campaigns, func(c campaignOut) bool { return can("DescribeCampaign", c.ARN) })
			ng.Solutions = append(ng.Solutions, ns)
		}
		out.Groups = append(out.Groups, ng)
	}
	return out
}

func filter[T any](in []T, keep func(T) bool) []T {
	out := make([]T, 0, len(in))
	for _, v := range in {
		if keep(v) {
			out = append(out, v)
		}
	}
	return out
}
