"""The client-matrix workflow with boto3: dataset group, schema, dataset,
import, solution, version, campaign, get_recommendations, event tracker,
put_events, clean-up. Run by TestClientMatrix with the endpoint in the
AWS_ENDPOINT_URL_* variables, the input folder in WF_DIR and a name prefix in
WF_NAME; prints one "ok <step>" line per step; any failure raises."""

import datetime
import os
import time

import boto3
from botocore.exceptions import ClientError

DIR, NAME = os.environ["WF_DIR"], os.environ["WF_NAME"]
ROLE = "arn:aws:iam::000000000000:role/attune-test"
personalize = boto3.client("personalize")
runtime = boto3.client("personalize-runtime")
events = boto3.client("personalize-events")


def ok(step):
    print("ok", step, flush=True)


def wait(describe, key, final="ACTIVE"):
    deadline = time.time() + 120
    while True:
        try:
            status = describe()[key]["status"]
        except ClientError as e:
            if final == "GONE" and e.response["Error"]["Code"] == "ResourceNotFoundException":
                return
            raise
        if status == final:
            return
        if "FAILED" in status or time.time() > deadline:
            raise AssertionError(f"{key} is {status}")
        time.sleep(0.05)


group = personalize.create_dataset_group(name=NAME)["datasetGroupArn"]
wait(lambda: personalize.describe_dataset_group(datasetGroupArn=group), "datasetGroup")
ok("dataset group")
with open(os.path.join(DIR, "interactions.json")) as f:
    schema = personalize.create_schema(name=NAME + "-int", schema=f.read())["schemaArn"]
dataset = personalize.create_dataset(name=NAME + "-int", datasetGroupArn=group, datasetType="Interactions", schemaArn=schema)["datasetArn"]
wait(lambda: personalize.describe_dataset(datasetArn=dataset), "dataset")
ok("schema and dataset")
job = personalize.create_dataset_import_job(jobName=NAME + "-import", datasetArn=dataset, roleArn=ROLE,
                                            dataSource={"dataLocation": "file://" + os.path.join(DIR, "interactions.csv")})
wait(lambda: personalize.describe_dataset_import_job(datasetImportJobArn=job["datasetImportJobArn"]), "datasetImportJob")
ok("import")
solution = personalize.create_solution(name=NAME, datasetGroupArn=group,
                                       recipeArn="arn:aws:personalize:::recipe/aws-user-personalization")["solutionArn"]
version = personalize.create_solution_version(solutionArn=solution)["solutionVersionArn"]
wait(lambda: personalize.describe_solution_version(solutionVersionArn=version), "solutionVersion")
ok("trained")
campaign = personalize.create_campaign(name=NAME, solutionVersionArn=version, minProvisionedTPS=1)["campaignArn"]
wait(lambda: personalize.describe_campaign(campaignArn=campaign), "campaign")
ok("campaign")
recs = runtime.get_recommendations(campaignArn=campaign, userId="usr_0001", numResults=5)
assert len(recs["itemList"]) == 5 and recs["recommendationId"], recs
ok("get recommendations")
tracker = personalize.create_event_tracker(name=NAME, datasetGroupArn=group)
events.put_events(trackingId=tracker["trackingId"], userId="usr_0001", sessionId="s-" + NAME, eventList=[
    {"eventType": "VIEWED", "itemId": recs["itemList"][0]["itemId"], "sentAt": datetime.datetime.now(datetime.timezone.utc)}])
ok("put events")
personalize.delete_campaign(campaignArn=campaign)
wait(lambda: personalize.describe_campaign(campaignArn=campaign), "campaign", "GONE")
personalize.delete_solution(solutionArn=solution)
wait(lambda: personalize.describe_solution(solutionArn=solution), "solution", "GONE")
personalize.delete_event_tracker(eventTrackerArn=tracker["eventTrackerArn"])
wait(lambda: personalize.describe_event_tracker(eventTrackerArn=tracker["eventTrackerArn"]), "eventTracker", "GONE")
personalize.delete_dataset(datasetArn=dataset)
wait(lambda: personalize.describe_dataset(datasetArn=dataset), "dataset", "GONE")
personalize.delete_dataset_group(datasetGroupArn=group)
wait(lambda: personalize.describe_dataset_group(datasetGroupArn=group), "datasetGroup", "GONE")
personalize.delete_schema(schemaArn=schema)
ok("clean-up")
