"""Request shapes of AWS's amazon-personalize-samples notebooks, sent with
boto3 exactly as the notebooks send them, with no sleep between a Create and
the call that uses it (issue 19). Run by TestBoto3NotebookShapes with the
server's endpoint and credentials in the environment and a scratch folder
in NB_DIR. Prints one "ok <step>" line per step; any failure raises."""

import json
import os
import random
import time

import boto3
from botocore.exceptions import ClientError

DIR = os.environ["NB_DIR"]
personalize = boto3.client("personalize")
runtime = boto3.client("personalize-runtime")
events = boto3.client("personalize-events")
ROLE = "arn:aws:iam::000000000000:role/PersonalizeRole"


def ok(step):
    print("ok", step, flush=True)


def code(fn):
    """Runs fn and returns the error code it raised ('' when none)."""
    try:
        fn()
    except ClientError as e:
        return e.response["Error"]["Code"]
    return ""


def wait(describe, key, final=("ACTIVE", "CREATE FAILED"), limit=120):
    deadline = time.time() + limit
    while True:
        status = describe()[key]["status"]
        if status in final:
            return status
        if time.time() > deadline:
            raise AssertionError(f"{key} still {status} after {limit}s")
        time.sleep(0.05)  # a polling loop, as the notebooks have


# Data: 30 users, 45 items, lower-case CSV headers (exploration notebook).
rng = random.Random(7)
now = int(time.time())
with open(os.path.join(DIR, "interactions.csv"), "w") as f:
    f.write("user_id,item_id,event_type,timestamp\n")
    for u in range(30):
        for _ in range(40):
            f.write(f"u{u},i{rng.randrange(45)},click,{now - rng.randrange(86400 * 30)}\n")
with open(os.path.join(DIR, "items.csv"), "w") as f:
    f.write("item_id,creation_timestamp,promotion\n")
    for i in range(45):
        f.write(f"i{i},{now - 86400 * i},{'yes' if i % 5 == 0 else 'no'}\n")

# 1. A fast client: every Create used by the very next call.
group = personalize.create_dataset_group(name="nb-shapes")["datasetGroupArn"]
inter_schema = personalize.create_schema(name="nb-shapes-int", schema=json.dumps({
    "type": "record", "name": "Interactions", "namespace": "com.amazonaws.personalize.schema",
    "fields": [{"name": "USER_ID", "type": "string"}, {"name": "ITEM_ID", "type": "string"},
               {"name": "EVENT_TYPE", "type": "string"}, {"name": "TIMESTAMP", "type": "long"}],
    "version": "1.0"}))["schemaArn"]
# The promotions notebook's one-member union: a required string.
items_schema = personalize.create_schema(name="nb-shapes-items", schema=json.dumps({
    "type": "record", "name": "Items", "namespace": "com.amazonaws.personalize.schema",
    "fields": [{"name": "ITEM_ID", "type": "string"}, {"name": "CREATION_TIMESTAMP", "type": "long"},
               {"name": "PROMOTION", "type": ["string"], "categorical": True}],
    "version": "1.0"}))["schemaArn"]
assert personalize.describe_dataset_group(datasetGroupArn=group)["datasetGroup"]["status"] in ("CREATE PENDING", "ACTIVE")
inter = personalize.create_dataset(name="nb-shapes-int", datasetType="Interactions", datasetGroupArn=group,
                                   schemaArn=inter_schema)["datasetArn"]
items = personalize.create_dataset(name="nb-shapes-items", datasetType="Items", datasetGroupArn=group,
                                   schemaArn=items_schema)["datasetArn"]
jobs = [personalize.create_dataset_import_job(jobName="nb-shapes-" + name, datasetArn=arn, roleArn=ROLE,
                                              dataSource={"dataLocation": "file://" + os.path.join(DIR, name + ".csv")})
        ["datasetImportJobArn"] for name, arn in (("interactions", inter), ("items", items))]
ok("create chain without waiting")
for j in jobs:
    st = wait(lambda: personalize.describe_dataset_import_job(datasetImportJobArn=j), "datasetImportJob")
    assert st == "ACTIVE", personalize.describe_dataset_import_job(datasetImportJobArn=j)
ok("lower-case CSV headers and a one-member union imported")

solution = personalize.create_solution(name="nb-shapes-up", datasetGroupArn=group,
                                       recipeArn="arn:aws:personalize:::recipe/aws-user-personalization")["solutionArn"]
version = personalize.create_solution_version(solutionArn=solution)["solutionVersionArn"]
ok("create_solution_version right after create_solution")
st = wait(lambda: personalize.describe_solution_version(solutionVersionArn=version), "solutionVersion", limit=300)
assert st == "ACTIVE", personalize.describe_solution_version(solutionVersionArn=version)
campaign = personalize.create_campaign(name="nb-shapes", solutionVersionArn=version, minProvisionedTPS=1)["campaignArn"]
wait(lambda: personalize.describe_campaign(campaignArn=campaign), "campaign")

# 2. Getting started: itemId only inside properties, right after the tracker.
tracker = personalize.create_event_tracker(name="nb-shapes", datasetGroupArn=group)
events.put_events(trackingId=tracker["trackingId"], userId="u1", sessionId="s1", eventList=[{
    "sentAt": int(time.time()), "eventType": "click", "properties": json.dumps({"itemId": "i3"})}])
ok("put_events with itemId in properties right after create_event_tracker")
# The same item both ways with different values is refused, naming both.
err = code(lambda: events.put_events(trackingId=tracker["trackingId"], userId="u1", sessionId="s1", eventList=[{
    "sentAt": int(time.time()), "eventType": "click", "itemId": "i4", "properties": json.dumps({"itemId": "i5"})}]))
assert err == "InvalidInputException", err
ok("conflicting itemId refused")

flt = personalize.create_filter(name="nb-shapes-promo", datasetGroupArn=group,
                                filterExpression='INCLUDE ItemID WHERE Items.PROMOTION IN ("yes")')["filterArn"]
recs = runtime.get_recommendations(campaignArn=campaign, userId="u2", numResults=5, filterArn=flt)["itemList"]
assert recs and all(int(r["itemId"][1:]) % 5 == 0 for r in recs), recs
ok("filter used right after create_filter")

# 3. Batch output next to its input: s3://B/json_input.json -> s3://B/.
with open(os.path.join(DIR, "json_input.json"), "w") as f:
    for u in range(5):
        f.write(json.dumps({"userId": f"u{u}"}) + "\n")
    f.write(json.dumps({"userId": "never-seen"}) + "\n")
job = personalize.create_batch_inference_job(
    jobName="nb-shapes-batch", solutionVersionArn=version, roleArn=ROLE, numResults=10,
    jobInput={"s3DataSource": {"path": "file://" + os.path.join(DIR, "json_input.json")}},
    jobOutput={"s3DataDestination": {"path": "file://" + DIR + "/"}})["batchInferenceJobArn"]
st = wait(lambda: personalize.describe_batch_inference_job(batchInferenceJobArn=job), "batchInferenceJob")
assert st == "ACTIVE", personalize.describe_batch_inference_job(batchInferenceJobArn=job)
with open(os.path.join(DIR, "json_input.json.out")) as f:
    lines = [json.loads(line) for line in f]
assert len(lines) == 6, lines
for line in lines:
    scores = line["output"].get("scores")
    assert scores is None or all(isinstance(s, (int, float)) for s in scores), line
ok("batch output written next to its input; scores never null")
os.makedirs(os.path.join(DIR, "in"), exist_ok=True)
err = code(lambda: personalize.create_batch_inference_job(
    jobName="nb-shapes-self", solutionVersionArn=version, roleArn=ROLE,
    jobInput={"s3DataSource": {"path": "file://" + DIR + "/in/"}},
    jobOutput={"s3DataDestination": {"path": "file://" + DIR + "/in/out/"}}))
assert err == "InvalidInputException", err
ok("output folder inside the input folder refused")

# 4. Clean-up. A solution with an ACTIVE campaign cannot be deleted; once
# the campaign is being deleted it can (POC-in-a-box 06 deletes campaigns,
# then solutions, with no wait), and it goes when the campaign has gone.
assert code(lambda: personalize.delete_solution(solutionArn=solution)) == "ResourceInUseException"
personalize.delete_campaign(campaignArn=campaign)
assert personalize.describe_campaign(campaignArn=campaign)["campaign"]["status"].startswith("DELETE")
personalize.delete_solution(solutionArn=solution)
assert personalize.describe_solution(solutionArn=solution)["solution"]["status"].startswith("DELETE")
start = time.time()


def gone(describe):
    while True:
        c = code(describe)
        if c == "ResourceNotFoundException":
            return
        assert c == "", c
        assert time.time() - start < 30, "deletion took over 30s"
        time.sleep(0.05)


gone(lambda: personalize.describe_campaign(campaignArn=campaign))
gone(lambda: personalize.describe_solution(solutionArn=solution))
personalize.delete_event_tracker(eventTrackerArn=tracker["eventTrackerArn"])
gone(lambda: personalize.describe_event_tracker(eventTrackerArn=tracker["eventTrackerArn"]))
personalize.delete_filter(filterArn=flt)
gone(lambda: personalize.describe_filter(filterArn=flt))
for ds in (inter, items):
    personalize.delete_dataset(datasetArn=ds)
    gone(lambda: personalize.describe_dataset(datasetArn=ds))
personalize.delete_dataset_group(datasetGroupArn=group)
# The trending notebook's loop treats a successful Describe as "deleting".
status = personalize.describe_dataset_group(datasetGroupArn=group)["datasetGroup"]["status"]
assert status == "DELETE PENDING", status
gone(lambda: personalize.describe_dataset_group(datasetGroupArn=group))
print(f"ok clean-up finished in {time.time() - start:.1f}s", flush=True)
