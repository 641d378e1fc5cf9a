package events

// Backlog returns how many Put* requests wait for the durable writer and
// how many may wait before new ones are refused with errs.Busy. A queue
// that stays more than half full means the writer is not keeping up.
func (s *Service) Backlog() (queued, capacity int) {
	return len(s.queue), cap(s.queue)
}
