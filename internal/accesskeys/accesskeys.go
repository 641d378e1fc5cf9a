// Package accesskeys manages Attune's access keys besides the root key: each
// has a name and an IAM policy (internal/iam) that limits what it may call.
// Keys live in the store as resources of kind "access-key", their secrets
// sealed with AES-256-GCM under a master key that never enters the store.
// A running server sees keys created or deleted by another process (the
// `attune keys` CLI) through Run, which reloads them every Poll.
//
// It imports the store interfaces, resource, iam and errs; never net/http
// or a concrete store backend.
package accesskeys

import (
	"context"
	"crypto/rand"
	"fmt"
	"log/slog"
	"regexp"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/attune-dev/attune/internal/errs"
	"github.com/attune-dev/attune/internal/iam"
	"github.com/attune-dev/attune/internal/resource"
	"github.com/attune-dev/attune/internal/store"
)

// record is the stored form of a key. Meta.ARN is the access key id (the
// store's primary key) and Meta.Name the key's name.
type record struct {
	resource.Meta
	SealedSecret string // base64(nonce || AES-GCM(secret)), additional data = access key id
	Policy       string // the policy document as given
	LastUsed     time.Time
}

var keys = resource.Kind[record, *record]{Name: "access-key"}

// Options configure the service.
type Options struct {
	// Account is the 12-digit account id used in principal ARNs
	// (arn:aws:iam::ACCOUNT:user/NAME) in AccessDenied messages.
	Account string
	// MasterKey is the 32-byte AES-256 key that seals secrets (LoadMasterKey).
	MasterKey []byte
	// Poll is how often Run reloads keys from the store; 0 means 500ms, so
	// that a key deleted elsewhere stops working within a second.
	Poll time.Duration
	// LastUsedEvery is the least time between two writes of one key's
	// last-used time; 0 means one minute.
	LastUsedEvery time.Duration
}

// Principal is a loaded, usable access key. Its fields are immutable; only
// the last-used time changes, atomically.
type Principal struct {
	AccessKeyID string
	Name        string
	// ARN is how AccessDenied messages name the caller, as IAM names a user.
	ARN    string
	Secret string
	Policy *iam.Policy

	sealed, policyText string
	lastUsed           atomic.Int64 // unix nanoseconds of the last verified request, 0 = never
	storedUsed         atomic.Int64 // the last-used time last written to the store
}

// String names the key without its secret, so that a Principal printed by
// mistake (%v, %+v, a log line) leaks nothing.
func (p *Principal) String() string { return p.AccessKeyID + " (" + p.Name + ")" }

// MarkUsed records that a request signed with this key was verified at t. It
// only touches memory; Run writes it to the store at most every LastUsedEvery.
func (p *Principal) MarkUsed(t time.Time) {
	n := t.UnixNano()
	for {
		old := p.lastUsed.Load()
		if old >= n || p.lastUsed.CompareAndSwap(old, n) {
			return
		}
	}
}

// Created is a new key as returned once to its creator: the secret is never
// shown again.
type Created struct {
	AccessKeyID     string
	SecretAccessKey string
	Name            string
}

// Info describes a key without its secret.
type Info struct {
	AccessKeyID string
	Name        string
	Created     time.Time
	LastUsed    time.Time // zero when never used
	Policy      string
}

// Service creates, lists, deletes and looks up access keys. All methods are
// safe for concurrent use.
type Service struct {
	st   store.Resources
	opts Options
	seal sealer
	now  func() time.Time
	log  *slog.Logger

	snap      atomic.Pointer[map[string]*Principal]
	refreshMu sync.Mutex // serialises Refresh so snapshots never go back in time
}

// New returns a service over st. It fails only when the master key is not
// 32 bytes. Call Refresh (or Run) before the first Lookup.
func New(st store.Resources, opts Options, now func() time.Time, log *slog.Logger) (*Service, error) {
	if opts.Poll <= 0 {
		opts.Poll = 500 * time.Millisecond
	}
	if opts.LastUsedEvery <= 0 {
		opts.LastUsedEvery = time.Minute
	}
	sl, err := newSealer(opts.MasterKey)
	if err != nil {
		return nil, err
	}
	s := &Service{st: st, opts: opts, seal: sl, now: now, log: log}
	empty := map[string]*Principal{}
	s.snap.Store(&empty)
	return s, nil
}

var namePattern = regexp.MustCompile(`^[A-Za-z0-9+=,.@_-]{1,64}$`)

// Create makes a key named name with the given policy document and returns
// its secret, which is stored only sealed. Errors: errs.Invalid for a bad
// name or policy (the message names the statement and member),
// errs.AlreadyExists when a key already has this name.
func (s *Service) Create(ctx context.Context, name string, policy []byte) (Created, error) {
	if !namePattern.MatchString(name) {
		return Created{}, errs.E(errs.Invalid, "name: must be 1 to 64 letters, digits or +=,.@_- characters, as IAM user names")
	}
	if _, err := iam.Parse(policy); err != nil {
		return Created{}, errs.Wrap(errs.Invalid, err, "%s", err.Error())
	}
	all, err := keys.All(ctx, s.st, "")
	if err != nil {
		return Created{}, err
	}
	for _, r := range all {
		if r.Name == name {
			return Created{}, errs.E(errs.AlreadyExists, "an access key named %s already exists (%s)", name, r.ARN)
		}
	}
	id, secret := NewPair("AKAU")
	c := Created{AccessKeyID: id, SecretAccessKey: secret, Name: name}
	t := s.now().UTC()
	r := &record{Meta: resource.Meta{ARN: c.AccessKeyID, Name: name, Status: "ACTIVE", Created: t, Updated: t},
		SealedSecret: s.seal.seal(c.AccessKeyID, c.SecretAccessKey), Policy: string(policy)}
	if err := keys.Create(ctx, s.st, r); err != nil {
		return Created{}, err
	}
	if err := s.Refresh(ctx); err != nil {
		s.log.WarnContext(ctx, "reload access keys after create", "err", err)
	}
	return c, nil
}

// List returns every key, oldest first, without secrets.
func (s *Service) List(ctx context.Context) ([]Info, error) {
	all, err := keys.All(ctx, s.st, "")
	if err != nil {
		return nil, err
	}
	out := make([]Info, 0, len(all))
	for _, r := range all {
		info := Info{AccessKeyID: r.ARN, Name: r.Name, Created: r.Created, LastUsed: r.LastUsed, Policy: r.Policy}
		if p, ok := s.Lookup(r.ARN); ok {
			if n := p.lastUsed.Load(); n > info.LastUsed.UnixNano() {
				info.LastUsed = time.Unix(0, n).UTC()
			}
		}
		out = append(out, info)
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Created.Before(out[j].Created) })
	return out, nil
}

// Delete removes the key; from then on requests signed with it fail (on
// another process's server within Poll). Errors: errs.NotFound.
func (s *Service) Delete(ctx context.Context, accessKeyID string) error {
	if err := keys.Delete(ctx, s.st, accessKeyID); err != nil {
		if errs.KindOf(err) == errs.NotFound {
			return errs.Wrap(errs.NotFound, err, "no access key %s", errs.Echo(accessKeyID))
		}
		return err
	}
	if err := s.Refresh(ctx); err != nil {
		s.log.WarnContext(ctx, "reload access keys after delete", "err", err)
	}
	return nil
}

// Lookup returns the key with this id from the last loaded snapshot: a map
// read, no store access, so unknown ids cost nothing.
func (s *Service) Lookup(accessKeyID string) (*Principal, bool) {
	p, ok := (*s.snap.Load())[accessKeyID]
	return p, ok
}

// Refresh reloads every key from the store and swaps the snapshot. Keys
// whose secret and policy did not change keep their Principal (and its
// last-used time); a key whose secret does not decrypt or whose policy no
// longer parses is left out and logged.
func (s *Service) Refresh(ctx context.Context) error {
	s.refreshMu.Lock()
	defer s.refreshMu.Unlock()
	all, err := keys.All(ctx, s.st, "")
	if err != nil {
		return err
	}
	prev := *s.snap.Load()
	next := make(map[string]*Principal, len(all))
	for _, r := range all {
		if p, ok := prev[r.ARN]; ok && p.sealed == r.SealedSecret && p.policyText == r.Policy {
			next[r.ARN] = p
			continue
		}
		p, err := s.principal(r)
		if err != nil {
			s.log.ErrorContext(ctx, "access key unusable", "key", r.ARN, "err", err)
			continue
		}
		if old, ok := prev[r.ARN]; ok {
			p.lastUsed.Store(old.lastUsed.Load())
		}
		next[r.ARN] = p
	}
	s.snap.Store(&next)
	return nil
}

func (s *Service) principal(r *record) (*Principal, error) {
	secret, err := s.seal.open(r.ARN, r.SealedSecret)
	if err != nil {
		return nil, err
	}
	pol, err := iam.Parse([]byte(r.Policy))
	if err != nil {
		return nil, fmt.Errorf("stored policy: %w", err)
	}
	p := &Principal{AccessKeyID: r.ARN, Name: r.Name, ARN: fmt.Sprintf("arn:aws:iam::%s:user/%s", s.opts.Account, r.Name),
		Secret: secret, Policy: pol, sealed: r.SealedSecret, policyText: r.Policy}
	p.storedUsed.Store(r.LastUsed.UnixNano())
	if !r.LastUsed.IsZero() {
		p.lastUsed.Store(r.LastUsed.UnixNano())
	}
	return p, nil
}

// Run reloads keys every Poll and writes last-used times, until ctx is done.
func (s *Service) Run(ctx context.Context) error {
	t := time.NewTicker(s.opts.Poll)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			s.flushLastUsed(context.WithoutCancel(ctx), true)
			return nil
		case <-t.C:
		}
		if err := s.Refresh(ctx); err != nil && ctx.Err() == nil {
			s.log.WarnContext(ctx, "reload access keys", "err", err)
		}
		s.flushLastUsed(ctx, false)
	}
}

// flushLastUsed stores last-used times that moved by LastUsedEvery or more
// since they were last stored (any move at all when final).
func (s *Service) flushLastUsed(ctx context.Context, final bool) {
	every := s.opts.LastUsedEvery.Nanoseconds()
	for id, p := range *s.snap.Load() {
		used, stored := p.lastUsed.Load(), p.storedUsed.Load()
		if used == 0 || used <= stored || (!final && stored > 0 && used-stored < every) {
			continue
		}
		at := time.Unix(0, used).UTC()
		_, err := keys.Update(ctx, s.st, id, s.now, func(r *record) error {
			if at.After(r.LastUsed) {
				r.LastUsed = at
			}
			return nil
		})
		if err != nil {
			if errs.KindOf(err) != errs.NotFound {
				s.log.WarnContext(ctx, "record access key last use", "key", id, "err", err)
			}
			continue
		}
		p.storedUsed.Store(used)
	}
}

const (
	idChars     = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"
	secretChars = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
)

// NewPair returns a fresh access key id (prefix and 16 characters, 20 in
// all as AWS's) and a 40-character secret, from crypto/rand. Scoped keys use
// the prefix AKAU; cmd/attune's generated root key AKAT.
func NewPair(prefix string) (id, secret string) {
	return prefix + randomString(16, idChars), randomString(40, secretChars)
}

// randomString draws n characters from alphabet with crypto/rand; the
// alphabets have a power-of-two size so that byte masking is unbiased.
func randomString(n int, alphabet string) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic(err) // crypto/rand does not fail on supported platforms
	}
	for i := range b {
		b[i] = alphabet[int(b[i])%len(alphabet)]
	}
	return string(b)
}
