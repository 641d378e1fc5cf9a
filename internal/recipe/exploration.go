package recipe

import (
	"math"
	"strconv"

	"github.com/attune-dev/attune/internal/errs"
)

// ParseExploration reads Personalize's itemExplorationConfig strings
// (explorationWeight in [0,1], explorationItemAgeCutOff in positive days).
// Empty strings leave the model's trained defaults; an explicit weight of 0
// means no exploration and gives nil.
func ParseExploration(weight, ageCutOff string) (*Exploration, error) {
	var e Exploration
	if weight != "" {
		w, err := strconv.ParseFloat(weight, 64)
		if err != nil || w < 0 || w > 1 {
			return nil, errs.E(errs.Invalid, "itemExplorationConfig.explorationWeight must be a number from 0 to 1, got %s", errs.Quote(weight))
		}
		if w == 0 {
			return nil, nil
		}
		e.Weight = w
	}
	if ageCutOff != "" {
		d, err := strconv.ParseFloat(ageCutOff, 64)
		if err != nil || d <= 0 || math.IsInf(d, 0) {
			return nil, errs.E(errs.Invalid, "itemExplorationConfig.explorationItemAgeCutOff must be a positive number of days, got %s", errs.Quote(ageCutOff))
		}
		e.AgeCutOffDays = d
	}
	return &e, nil
}

// ParseExplorationMap is ParseExploration over the wire's map form, which
// must hold no other keys.
func ParseExplorationMap(m map[string]string) (*Exploration, error) {
	for k := range m {
		if k != "explorationWeight" && k != "explorationItemAgeCutOff" {
			return nil, errs.E(errs.Invalid, "itemExplorationConfig: unknown key %s (explorationWeight, explorationItemAgeCutOff)", errs.Quote(k))
		}
	}
	return ParseExploration(m["explorationWeight"], m["explorationItemAgeCutOff"])
}
