package web

import (
	"context"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/attune-dev/attune/internal/accesskeys"
	"github.com/attune-dev/attune/internal/errs"
	"github.com/attune-dev/attune/internal/iam"
)

// fakeKeys is an in-memory KeyManager.
type fakeKeys struct {
	mu   sync.Mutex
	keys map[string]*accesskeys.Principal
	info map[string]accesskeys.Info
	n    int
}

func (f *fakeKeys) Lookup(id string) (*accesskeys.Principal, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	p, ok := f.keys[id]
	return p, ok
}

func (f *fakeKeys) List(context.Context) ([]accesskeys.Info, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []accesskeys.Info
	for _, i := range f.info {
		out = append(out, i)
	}
	return out, nil
}

func (f *fakeKeys) Create(_ context.Context, name string, policy []byte) (accesskeys.Created, error) {
	pol, err := iam.Parse(policy)
	if err != nil {
		return accesskeys.Created{}, errs.Wrap(errs.Invalid, err, "%s", err.Error())
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.n++
	id := "AKAUFAKE" + strings.Repeat("0", 11) + string(rune('0'+f.n))
	c := accesskeys.Created{AccessKeyID: id, SecretAccessKey: "secret-" + id, Name: name}
	f.keys[id] = &accesskeys.Principal{AccessKeyID: id, Name: name, Secret: c.SecretAccessKey, Policy: pol}
	f.info[id] = accesskeys.Info{AccessKeyID: id, Name: name, Created: time.Unix(1700000000, 0), Policy: string(policy)}
	return c, nil
}

func (f *fakeKeys) Delete(_ context.Context, id string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if _, ok := f.keys[id]; !ok {
		return errs.E(errs.NotFound, "no access key %s", id)
	}
	delete(f.keys, id)
	delete(f.info, id)
	return nil
}

func newKeysHarness(t *testing.T) (*harness, *fakeKeys) {
	t.Helper()
	fk := &fakeKeys{keys: map[string]*accesskeys.Principal{}, info: map[string]accesskeys.Info{}}
	return newHarnessWith(t, func(o *Options) { o.AccessKeys = fk }), fk
}

// jsonString quotes s as a JSON string.
func jsonString(s string) string {
	r := strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`)
	return `"` + r.Replace(s) + `"`
}

func TestConsoleKeys(t *testing.T) {
	h, _ := newKeysHarness(t)
	root := h.client()
	h.login(root)

	var me whoamiOut
	if st := h.do(root, "GET", "/console/api/whoami", "", &me); st != 200 || !me.Root {
		t.Fatalf("whoami as root = %d %+v", st, me)
	}
	// Create a key scoped to reading the shop's group and asking its campaign.
	policy := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["personalize:DescribeDatasetGroup","personalize:GetRecommendations"],"Resource":["` + groupARN + `","` + campaignARN + `"]}]}`
	var created createdOut
	if st := h.do(root, "POST", "/console/api/keys", `{"name":"shop-page","policy":`+jsonString(policy)+`}`, &created); st != 200 || created.SecretAccessKey == "" {
		t.Fatalf("create key = %d %+v", st, created)
	}
	var bad errorBody
	if st := h.do(root, "POST", "/console/api/keys", `{"name":"x","policy":{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"personalize:Nope","Resource":"*"}]}}`, &bad); st != 400 || !strings.Contains(bad.Error, "Statement[0].Action[0]") {
		t.Errorf("create with a bad policy = %d %q, want 400 naming Statement[0].Action[0]", st, bad.Error)
	}
	var list struct{ Keys []keyOut }
	if st := h.do(root, "GET", "/console/api/keys", "", &list); st != 200 || len(list.Keys) != 1 || list.Keys[0].Name != "shop-page" {
		t.Fatalf("list keys = %d %+v", st, list)
	}

	// The scoped key signs in, sees only its group, and may ask only its campaign.
	scoped := h.client()
	if st := h.do(scoped, "POST", "/console/api/login", `{"accessKeyId":"`+created.AccessKeyID+`","secretAccessKey":"`+created.SecretAccessKey+`"}`, nil); st != 200 {
		t.Fatalf("scoped login = %d", st)
	}
	if st := h.do(scoped, "GET", "/console/api/whoami", "", &me); st != 200 || me.Root || me.Name != "shop-page" {
		t.Errorf("whoami as scoped = %d %+v", st, me)
	}
	var ov overviewOut
	if st := h.do(scoped, "GET", "/console/api/overview", "", &ov); st != 200 || len(ov.Groups) != 1 {
		t.Fatalf("scoped overview = %d %+v", st, ov)
	}
	if g := ov.Groups[0]; len(g.Datasets) != 0 || len(g.Solutions) != 0 {
		t.Errorf("scoped overview shows datasets or solutions it may not describe: %+v", g)
	}
	if st := h.do(scoped, "POST", "/console/api/recommend", `{"campaignArn":"`+campaignARN+`","userId":"u1"}`, nil); st != 200 {
		t.Errorf("scoped recommend on its campaign = %d, want 200", st)
	}
	if st := h.do(scoped, "POST", "/console/api/recommend", `{"campaignArn":"`+campaignARN+`x","userId":"u1"}`, nil); st != http.StatusForbidden {
		t.Errorf("scoped recommend on another campaign = %d, want 403", st)
	}
	for _, tc := range []struct{ method, path, body string }{
		{"GET", "/console/api/keys", ""},
		{"POST", "/console/api/keys", `{"name":"mine","policy":` + jsonString(policy) + `}`},
		{"DELETE", "/console/api/keys/" + created.AccessKeyID, ""},
	} {
		if st := h.do(scoped, tc.method, tc.path, tc.body, nil); st != http.StatusForbidden {
			t.Errorf("scoped %s %s = %d, want 403", tc.method, tc.path, st)
		}
	}

	// A login link made by the scoped session opens a scoped session, not a root one.
	var link struct{ Token string }
	if st := h.do(scoped, "POST", "/console/api/login-link", "{}", &link); st != 200 || link.Token == "" {
		t.Fatalf("scoped login-link = %d %+v", st, link)
	}
	viaLink := h.client()
	if st := h.do(viaLink, "POST", "/console/api/session", `{"token":"`+link.Token+`"}`, nil); st != 200 {
		t.Fatalf("exchange scoped link = %d", st)
	}
	if st := h.do(viaLink, "GET", "/console/api/whoami", "", &me); st != 200 || me.Root || me.AccessKeyID != created.AccessKeyID {
		t.Errorf("whoami via a scoped link = %d %+v, want the scoped key", st, me)
	}
	if st := h.do(viaLink, "GET", "/console/api/keys", "", nil); st != http.StatusForbidden {
		t.Errorf("keys via a scoped link = %d, want 403", st)
	}

	// Root deletes the key; its console session ends with it.
	if st := h.do(root, "DELETE", "/console/api/keys/"+created.AccessKeyID, "", nil); st != 200 {
		t.Fatalf("delete key = %d", st)
	}
	if st := h.do(scoped, "GET", "/console/api/overview", "", nil); st != http.StatusUnauthorized {
		t.Errorf("overview after the key was deleted = %d, want 401", st)
	}
	if st := h.do(root, "DELETE", "/console/api/keys/"+created.AccessKeyID, "", nil); st != http.StatusNotFound {
		t.Errorf("second delete = %d, want 404", st)
	}
	if st := h.do(scoped, "POST", "/console/api/login", `{"accessKeyId":"`+created.AccessKeyID+`","secretAccessKey":"`+created.SecretAccessKey+`"}`, nil); st != http.StatusUnauthorized {
		t.Errorf("login with a deleted key = %d, want 401", st)
	}
}

func TestConsoleKeysUnauthenticated(t *testing.T) {
	h, _ := newKeysHarness(t)
	c := h.client()
	for _, p := range []string{"/console/api/keys", "/console/api/whoami"} {
		if st := h.do(c, "GET", p, "", nil); st != http.StatusUnauthorized {
			t.Errorf("GET %s without a session = %d, want 401", p, st)
		}
	}
}
