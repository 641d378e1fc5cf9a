// The shop page of the CORS browser test (TestBrowserSDK): with the real AWS
// SDK for JavaScript v3 (sdk.js), it asks a campaign for recommendations,
// sends the top item back as a PURCHASED event, asks again, and tries a
// campaign its key may not use. Parameters come from the query string; the
// outcome of each step is written as JSON into #result, and an element with
// id "done" is added when all steps have run.
(async () => {
  const p = new URLSearchParams(location.search);
  const sdk = window.AttuneSDK;
  const config = {
    endpoint: p.get("endpoint"),
    region: p.get("region"),
    credentials: { accessKeyId: p.get("accessKeyId"), secretAccessKey: p.get("secretAccessKey") },
    maxAttempts: 1,
  };
  const runtime = new sdk.PersonalizeRuntimeClient(config);
  const events = new sdk.PersonalizeEventsClient(config);
  const userId = p.get("userId");
  const out = {};

  // step records what fn returned, or the error as the SDK reports it.
  async function step(name, fn) {
    try {
      out[name] = { ok: await fn() };
    } catch (e) {
      out[name] = {
        error: e.name,
        message: e.message,
        status: e.$metadata ? e.$metadata.httpStatusCode : undefined,
        requestId: e.$metadata ? e.$metadata.requestId : undefined,
      };
    }
  }
  async function recommend(campaignArn) {
    const r = await runtime.send(new sdk.GetRecommendationsCommand({ campaignArn, userId, numResults: 10 }));
    return {
      items: r.itemList.map((i) => i.itemId),
      recommendationId: r.recommendationId,
      status: r.$metadata.httpStatusCode,
      requestId: r.$metadata.requestId,
    };
  }

  await step("before", () => recommend(p.get("campaignArn")));
  if (out.before.ok && out.before.ok.items.length > 0) {
    await step("putEvents", async () => {
      const r = await events.send(new sdk.PutEventsCommand({
        trackingId: p.get("trackingId"),
        userId,
        sessionId: "browser-session-1",
        eventList: [{ eventType: "PURCHASED", itemId: out.before.ok.items[0], sentAt: new Date() }],
      }));
      return { status: r.$metadata.httpStatusCode, requestId: r.$metadata.requestId };
    });
    await step("after", () => recommend(p.get("campaignArn")));
  }
  if (p.get("otherCampaignArn")) {
    await step("otherCampaign", () => recommend(p.get("otherCampaignArn")));
  }

  document.getElementById("result").textContent = JSON.stringify(out);
  const done = document.createElement("div");
  done.id = "done";
  document.body.appendChild(done);
})();
