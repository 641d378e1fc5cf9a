// The client-matrix workflow with the AWS SDK for JavaScript v3 in node:
// dataset group, schema, dataset, import, solution, version, campaign,
// GetRecommendations, event tracker, PutEvents, clean-up. Run by
// TestClientMatrix with the endpoint in ATTUNE_URL, credentials in the usual
// AWS_* variables, the input folder in WF_DIR and a name prefix in WF_NAME;
// prints one "ok <step>" line per step, and any failure exits non-zero.
import { readFileSync } from "node:fs";
import * as P from "@aws-sdk/client-personalize";
import * as R from "@aws-sdk/client-personalize-runtime";
import * as E from "@aws-sdk/client-personalize-events";

const endpoint = process.env.ATTUNE_URL;
const dir = process.env.WF_DIR;
const name = process.env.WF_NAME;
const role = "arn:aws:iam::000000000000:role/attune-test";
const cfg = { endpoint, region: "us-east-1", maxAttempts: 1 };
const personalize = new P.PersonalizeClient(cfg);
const runtime = new R.PersonalizeRuntimeClient(cfg);
const events = new E.PersonalizeEventsClient(cfg);

const ok = (step) => console.log("ok " + step);

async function wait(describe, pick, final = "ACTIVE") {
  const deadline = Date.now() + 120_000;
  for (;;) {
    let status;
    try {
      status = pick(await describe());
    } catch (e) {
      if (final === "GONE" && e.name === "ResourceNotFoundException") return;
      throw e;
    }
    if (status === final) return;
    if (status && status.includes("FAILED")) throw new Error(`status ${status}`);
    if (Date.now() > deadline) throw new Error(`still ${status} after 120s`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

const send = (c) => personalize.send(c);

const { datasetGroupArn } = await send(new P.CreateDatasetGroupCommand({ name }));
await wait(() => send(new P.DescribeDatasetGroupCommand({ datasetGroupArn })), (o) => o.datasetGroup.status);
ok("dataset group");
const { schemaArn } = await send(new P.CreateSchemaCommand({ name: name + "-int", schema: readFileSync(dir + "/interactions.json", "utf8") }));
const { datasetArn } = await send(new P.CreateDatasetCommand({ name: name + "-int", datasetGroupArn, datasetType: "Interactions", schemaArn }));
await wait(() => send(new P.DescribeDatasetCommand({ datasetArn })), (o) => o.dataset.status);
ok("schema and dataset");
const { datasetImportJobArn } = await send(new P.CreateDatasetImportJobCommand({
  jobName: name + "-import", datasetArn, roleArn: role, dataSource: { dataLocation: "file://" + dir + "/interactions.csv" },
}));
await wait(() => send(new P.DescribeDatasetImportJobCommand({ datasetImportJobArn })), (o) => o.datasetImportJob.status);
ok("import");
const { solutionArn } = await send(new P.CreateSolutionCommand({
  name, datasetGroupArn, recipeArn: "arn:aws:personalize:::recipe/aws-user-personalization",
}));
const { solutionVersionArn } = await send(new P.CreateSolutionVersionCommand({ solutionArn }));
await wait(() => send(new P.DescribeSolutionVersionCommand({ solutionVersionArn })), (o) => o.solutionVersion.status);
ok("trained");
const { campaignArn } = await send(new P.CreateCampaignCommand({ name, solutionVersionArn, minProvisionedTPS: 1 }));
await wait(() => send(new P.DescribeCampaignCommand({ campaignArn })), (o) => o.campaign.status);
ok("campaign");
const recs = await runtime.send(new R.GetRecommendationsCommand({ campaignArn, userId: "usr_0001", numResults: 5 }));
if (!recs.itemList || recs.itemList.length !== 5 || !recs.recommendationId) throw new Error("GetRecommendations: " + JSON.stringify(recs));
ok("get recommendations");
const { eventTrackerArn, trackingId } = await send(new P.CreateEventTrackerCommand({ name, datasetGroupArn }));
await events.send(new E.PutEventsCommand({
  trackingId, userId: "usr_0001", sessionId: "s-" + name,
  eventList: [{ eventType: "VIEWED", itemId: recs.itemList[0].itemId, sentAt: new Date() }],
}));
ok("put events");
await send(new P.DeleteCampaignCommand({ campaignArn }));
await wait(() => send(new P.DescribeCampaignCommand({ campaignArn })), (o) => o.campaign.status, "GONE");
await send(new P.DeleteSolutionCommand({ solutionArn }));
await wait(() => send(new P.DescribeSolutionCommand({ solutionArn })), (o) => o.solution.status, "GONE");
await send(new P.DeleteEventTrackerCommand({ eventTrackerArn }));
await wait(() => send(new P.DescribeEventTrackerCommand({ eventTrackerArn })), (o) => o.eventTracker.status, "GONE");
await send(new P.DeleteDatasetCommand({ datasetArn }));
await wait(() => send(new P.DescribeDatasetCommand({ datasetArn })), (o) => o.dataset.status, "GONE");
await send(new P.DeleteDatasetGroupCommand({ datasetGroupArn }));
await wait(() => send(new P.DescribeDatasetGroupCommand({ datasetGroupArn })), (o) => o.datasetGroup.status, "GONE");
await send(new P.DeleteSchemaCommand({ schemaArn }));
ok("clean-up");
