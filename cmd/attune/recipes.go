package main

import (
	"github.com/attune-dev/attune/internal/recipe"
	"github.com/attune-dev/attune/internal/recipe/knn"
	"github.com/attune-dev/attune/internal/recipe/mf"
	"github.com/attune-dev/attune/internal/recipe/popularity"
	"github.com/attune-dev/attune/internal/recipe/semantic"
)

// registry lists every recipe Attune serves: Personalize's names first,
// then Attune's baselines for benchmarks (attune-*), which ListRecipes hides.
func registry() *recipe.Registry {
	return recipe.NewRegistry(
		mf.NewUserPersonalization(),
		mf.NewUserPersonalizationV2(),
		mf.NewPersonalizedRanking(),
		mf.NewPersonalizedRankingV2(),
		knn.NewSimilarItems(),
		knn.NewSims(),
		semantic.New(),
		popularity.NewPopularityCount(),
		popularity.NewTrendingNow(),
		mf.NewItemAffinity(),
		mf.NewItemAttributeAffinity(),
		mf.NewIALS(),
		knn.NewEASE(),
	)
}
