package main

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/personalize"
	"github.com/aws/aws-sdk-go-v2/service/personalizeevents"
	etypes "github.com/aws/aws-sdk-go-v2/service/personalizeevents/types"
)

// BenchmarkPutEvents measures PutEvents throughput with durability on: the
// real binary runs as its own process (SQLite synchronous=FULL, every 200
// only after its group commit), and this process sends signed PutEvents
// calls of 10 events each over loopback with the AWS SDK from many
// goroutines. It reports events/s.
//
//	go test ./cmd/attune -run '^$' -bench PutEvents -benchtime 20000x
func BenchmarkPutEvents(b *testing.B) {
	bin := buildBinary(b)
	dir := b.TempDir()
	_, url := startProcess(b, bin, dir)
	pc := (&testServer{URL: url}).personalizeClient()
	ctx := context.Background()
	g, err := pc.CreateDatasetGroup(ctx, &personalize.CreateDatasetGroupInput{Name: aws.String("bench")})
	if err != nil {
		b.Fatal(err)
	}
	waitFor(b, "dataset group", func() (string, error) {
		out, err := pc.DescribeDatasetGroup(ctx, &personalize.DescribeDatasetGroupInput{DatasetGroupArn: g.DatasetGroupArn})
		if err != nil {
			return "", err
		}
		return aws.ToString(out.DatasetGroup.Status), nil
	}, "ACTIVE")
	sc, err := pc.CreateSchema(ctx, &personalize.CreateSchemaInput{Name: aws.String("bench-interactions"), Schema: aws.String(interactionsSchema)})
	if err != nil {
		b.Fatal(err)
	}
	ds, err := pc.CreateDataset(ctx, &personalize.CreateDatasetInput{Name: aws.String("bench-interactions"), DatasetGroupArn: g.DatasetGroupArn,
		DatasetType: aws.String("Interactions"), SchemaArn: sc.SchemaArn})
	if err != nil {
		b.Fatal(err)
	}
	waitFor(b, "dataset", func() (string, error) {
		out, err := pc.DescribeDataset(ctx, &personalize.DescribeDatasetInput{DatasetArn: ds.DatasetArn})
		if err != nil {
			return "", err
		}
		return aws.ToString(out.Dataset.Status), nil
	}, "ACTIVE")
	_, trackingID := createTracker(b, ctx, pc, aws.ToString(g.DatasetGroupArn), "bench-tracker")

	const goroutinesPerCPU = 32
	ec := eventsClient(url, 256)
	var next atomic.Int64
	b.SetParallelism(goroutinesPerCPU)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		evs := make([]etypes.Event, 10)
		for pb.Next() {
			n := next.Add(1)
			for k := range evs {
				evs[k] = etypes.Event{EventType: aws.String("VIEWED"), ItemId: aws.String(fmt.Sprint("itm-", (n*7+int64(k))%5000)),
					SentAt: aws.Time(time.Unix(1700000000+n, 0))}
			}
			if _, err := ec.PutEvents(ctx, &personalizeevents.PutEventsInput{TrackingId: aws.String(trackingID),
				SessionId: aws.String(fmt.Sprint("s", n%1000)), UserId: aws.String(fmt.Sprint("u", n%1000)), EventList: evs}); err != nil {
				b.Error(err)
				return
			}
		}
	})
	b.ReportMetric(float64(b.N)*10/b.Elapsed().Seconds(), "events/s")
}
