package train

import (
	"context"
	"time"

	"github.com/attune-dev/attune/internal/resource"
)

// defaultSchedule is Personalize's automatic training interval.
const defaultSchedule = 7 * 24 * time.Hour

// firstAutoDelay is how long after a solution becomes ACTIVE its first
// automatic version starts (skipped when someone trains it by hand before).
const firstAutoDelay = time.Hour

// autoTrain creates AUTOTRAIN versions for solutions whose schedule is due:
// never while one of their versions is pending or training.
func (s *Service) autoTrain(ctx context.Context) error {
	sols, err := solutions.All(ctx, s.st, "", StatusActive)
	if err != nil {
		return err
	}
	now := s.now()
	for _, sol := range sols {
		if !sol.PerformAutoTraining {
			continue
		}
		every := defaultSchedule
		if sol.Config.ScheduleExpression != "" {
			if every, err = ParseSchedule(sol.Config.ScheduleExpression); err != nil {
				continue // validated at create; an old bad value is not worth failing the loop
			}
		}
		latest, err := s.LatestVersion(ctx, sol.ARN)
		if err != nil {
			return err
		}
		var due bool
		switch {
		case latest == nil:
			due = now.Sub(sol.Created) >= min(every, firstAutoDelay)
		case latest.Status == StatusCreatePending || latest.Status == StatusCreateInProgress || latest.Status == StatusCreateStopping:
			due = false
		default:
			due = now.Sub(latest.Created) >= every
		}
		if !due {
			continue
		}
		v, err := s.CreateVersion(ctx, sol.ARN, "", ModeAutoTrain, TypeAutomatic, nil)
		if err != nil {
			s.log.WarnContext(ctx, "automatic training not started", "solution", sol.ARN, "err", err)
			continue
		}
		s.log.InfoContext(ctx, "automatic training started", "solution", sol.ARN, "version", v.ARN)
	}
	return nil
}

// UpdateSolutionInput is the input of UpdateSolution; nil fields keep their value.
type UpdateSolutionInput struct {
	SolutionARN         string
	PerformAutoTraining *bool
	PerformIncremental  *bool
	ScheduleExpression  *string
	Events              []EventParameters
}

// UpdateSolution changes a solution's automatic training and events
// configuration; the change applies at once and is recorded as the latest
// solution update.
func (s *Service) UpdateSolution(ctx context.Context, in UpdateSolutionInput) (*Solution, error) {
	if _, err := s.Solution(ctx, in.SolutionARN); err != nil {
		return nil, err
	}
	if in.ScheduleExpression != nil {
		if _, err := ParseSchedule(*in.ScheduleExpression); err != nil {
			return nil, err
		}
	}
	sol, err := solutions.Update(ctx, s.st, in.SolutionARN, s.now, func(sol *Solution) error {
		if !resource.Usable(sol.Status) {
			return errInUse("Solution %s is %s, not ACTIVE", sol.ARN, sol.Status)
		}
		if in.PerformAutoTraining != nil {
			sol.PerformAutoTraining = *in.PerformAutoTraining
		}
		if in.PerformIncremental != nil {
			sol.PerformIncremental = *in.PerformIncremental
		}
		if in.ScheduleExpression != nil {
			sol.Config.ScheduleExpression = *in.ScheduleExpression
		}
		if in.Events != nil {
			sol.Config.Events = in.Events
		}
		t := s.now()
		sol.LatestUpdate = &SolutionUpdate{PerformAutoTraining: sol.PerformAutoTraining, PerformIncremental: sol.PerformIncremental,
			ScheduleExpression: sol.Config.ScheduleExpression, Events: sol.Config.Events, Status: StatusActive, Created: t, Updated: t}
		return nil
	})
	if err != nil {
		return nil, err
	}
	s.wake()
	return sol, nil
}
