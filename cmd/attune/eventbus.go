package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/attune-dev/attune/internal/events"
)

// eventStream carries the events fan-out (events.EnableFanout) between
// replicas on a NATS JetStream stream: one stream per store schema, so
// that clusters (or tests) sharing a NATS server stay apart. Each replica
// publishes with a PubAck and reads with an ordered consumer that starts at
// the newest message and, after a reconnect, resumes where it stopped
// (messages past the stream's retention are read from the store instead,
// by the fan-out's poll).
type eventStream struct {
	nc      *nats.Conn
	js      jetstream.JetStream
	stream  string
	subject string
	log     *slog.Logger
}

// eventStreamMaxAge bounds the stream: a replica away for longer catches
// up from the store.
const eventStreamMaxAge = time.Hour

// openEventStream connects to the NATS server at busURL and makes sure the
// schema's stream exists. Errors: the URL is not nats://, or the server
// cannot be reached or has no JetStream.
func openEventStream(ctx context.Context, busURL, schema string, log *slog.Logger) (*eventStream, error) {
	u, err := url.Parse(busURL)
	if err != nil || (u.Scheme != "nats" && u.Scheme != "tls") || u.Host == "" {
		return nil, usageError{fmt.Errorf("--bus %q: want nats://host:port", busURL)}
	}
	nc, err := nats.Connect(busURL, nats.Name("attune"), nats.MaxReconnects(-1), nats.ReconnectWait(250*time.Millisecond),
		nats.RetryOnFailedConnect(false),
		nats.DisconnectErrHandler(func(_ *nats.Conn, err error) {
			log.Warn("event bus disconnected; events of other replicas arrive through the store until it is back", "err", err)
		}),
		nats.ReconnectHandler(func(*nats.Conn) { log.Info("event bus reconnected") }))
	if err != nil {
		return nil, fmt.Errorf("connect to the event bus %s: %w", u.Redacted(), err)
	}
	js, err := jetstream.New(nc)
	if err != nil {
		nc.Close()
		return nil, fmt.Errorf("event bus: %w", err)
	}
	name := "ATTUNE_EVENTS_" + streamToken(schema)
	es := &eventStream{nc: nc, js: js, stream: name, subject: "attune." + streamToken(schema) + ".events", log: log}
	_, err = js.CreateOrUpdateStream(ctx, jetstream.StreamConfig{Name: name, Subjects: []string{es.subject},
		Storage: jetstream.FileStorage, MaxAge: eventStreamMaxAge, Discard: jetstream.DiscardOld})
	if err != nil {
		nc.Close()
		return nil, fmt.Errorf("event bus: create stream %s (is JetStream enabled on the server?): %w", name, err)
	}
	return es, nil
}

// streamToken turns a schema name into the characters NATS allows in
// stream names and subject tokens.
func streamToken(s string) string {
	return strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '_' || r == '-' {
			return r
		}
		return '_'
	}, s)
}

// Publish implements events.Publisher: it returns once the stream has
// stored msg.
func (es *eventStream) Publish(ctx context.Context, msg []byte) error {
	_, err := es.js.Publish(ctx, es.subject, msg)
	return err
}

// follow hands every message published from now on to ev.Receive until ctx
// is done.
func (es *eventStream) follow(ctx context.Context, ev *events.Service) error {
	cons, err := es.js.OrderedConsumer(ctx, es.stream, jetstream.OrderedConsumerConfig{
		FilterSubjects: []string{es.subject}, DeliverPolicy: jetstream.DeliverNewPolicy})
	if err != nil {
		return fmt.Errorf("event bus: follow %s: %w", es.stream, err)
	}
	cc, err := cons.Consume(func(m jetstream.Msg) {
		if err := ev.Receive(ctx, m.Data()); err != nil && ctx.Err() == nil {
			es.log.Warn("event bus: apply a message of another replica (the store poll applies it)", "err", err)
		}
	})
	if err != nil {
		return fmt.Errorf("event bus: follow %s: %w", es.stream, err)
	}
	<-ctx.Done()
	cc.Stop()
	return nil
}

// Close drains the connection.
func (es *eventStream) Close() {
	if err := es.nc.Drain(); err != nil && !errors.Is(err, nats.ErrConnectionClosed) {
		es.nc.Close()
	}
}

// startEventFanout enables the fan-out of ev over the NATS stream at
// busURL and returns the runner that follows the stream and the function
// that closes the connection; with no bus it returns nils (one node: the
// events API applies its own events and there is nobody to tell).
func startEventFanout(ctx context.Context, busURL, schema string, ev *events.Service, log *slog.Logger) (runFunc, func(), error) {
	if busURL == "" {
		return nil, func() {}, nil
	}
	es, err := openEventStream(ctx, busURL, schema, log)
	if err != nil {
		return nil, nil, err
	}
	if err := ev.EnableFanout(ctx, es, events.FanoutOptions{Replica: uuid.NewString()}); err != nil {
		es.Close()
		return nil, nil, err
	}
	return func(ctx context.Context) error { return es.follow(ctx, ev) }, es.Close, nil
}
