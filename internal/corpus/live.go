package corpus

// Event is one interaction as the events API records it, handed to serving
// right after it is durable so the next recommendation reflects it.
// User is "" for anonymous events, which carry only a Session.
type Event struct {
	User, Session, Item, Type string
	Time                      int64
	Value                     float32 // NaN when absent
	Impression                []string
	RecommendationID          string
}

// Update is what changed in a dataset group through the events API.
type Update struct {
	Group  string // dataset group ARN
	Events []Event
	// ItemsChanged and UsersChanged say that PutItems / PutUsers stored
	// rows, so cached catalogues of the group are stale.
	ItemsChanged, UsersChanged bool
}
