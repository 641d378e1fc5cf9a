package main

import (
	"context"
	"strings"

	"github.com/attune-dev/attune/internal/events"
	"github.com/attune-dev/attune/internal/serving"
)

// userForgetter tells serving and events about users a data deletion job
// removed (dataset must not import either).
type userForgetter struct {
	sv *serving.Service
	ev *events.Service
}

// ForgetUsers implements dataset.Forgetter.
func (f userForgetter) ForgetUsers(ctx context.Context, groupARN string, users, sessions map[string]struct{}) error {
	f.sv.Forget(groupARN, users, sessions)
	return f.ev.ForgetUsers(ctx, groupARN, users, sessions)
}

// quotaFlag collects repeated --quota NAME=N values for quota.Parse.
type quotaFlag []string

func (q *quotaFlag) String() string { return strings.Join(*q, ",") }

// Set implements flag.Value.
func (q *quotaFlag) Set(v string) error {
	*q = append(*q, v)
	return nil
}
