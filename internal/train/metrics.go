package train

import (
	"context"
	"strings"
	"time"
)

// Metrics receives how long training takes (metrics.Metrics implements it).
// Its methods must be safe for concurrent use and must not block.
type Metrics interface {
	// TrainingDuration records one successful training of recipe (the
	// recipe's name, e.g. aws-user-personalization-v2).
	TrainingDuration(recipe string, d time.Duration)
}

// noMetrics records nothing.
type noMetrics struct{}

func (noMetrics) TrainingDuration(string, time.Duration) {}

// Fit loads a group's data, checks Personalize's minimum, evaluates each
// candidate configuration on Personalize's split (hold out 10% of users,
// feed the oldest 90% of their history, score the newest 10%), then fits the
// best one on all the data and writes the artifact. A success is recorded
// in Options.Metrics under the chosen recipe: solution versions and
// recommenders both train through here.
func (s *Service) Fit(ctx context.Context, spec Spec) (Result, error) {
	start := s.now()
	res, err := s.fit(ctx, spec)
	if err == nil {
		s.opts.Metrics.TrainingDuration(res.RecipeARN[strings.LastIndexByte(res.RecipeARN, '/')+1:], s.now().Sub(start))
	}
	return res, err
}
