"""Stand-ins for what AWS's sample notebooks take from outside Personalize,
so that they run against Attune with only the endpoint, the data location
and IAM changed:

- IAM, STS, KMS and SSM (the CloudFormation outputs the getting-started
  notebooks read) answer with syntactic ARNs and the bucket given to the
  runner;
- the sagemaker SDK's get_execution_role / default_bucket likewise;
- data downloads (MovieLens) are replaced by local files of the same shape,
  generated with a fixed seed (no internet here);
- a bucket policy the local S3 server refuses (a service principal) is
  taken as stored;
- services Attune does not stand for (CloudFormation, Lambda, Step
  Functions, Bedrock, ...) make the cell that uses them "skipped".

Nothing here talks to AWS."""

import os
import random
import sys
import types
import zipfile

ACCOUNT = "000000000000"


class SkipCell(Exception):
    """Raised by a stand-in: the cell needs a service outside the test."""


class _Exceptions:
    """client.exceptions.X for the stand-in clients."""

    def __init__(self):
        from botocore.exceptions import ClientError

        for name in ("EntityAlreadyExistsException", "NoSuchEntityException", "ParameterNotFound",
                     "DeleteConflictException"):
            setattr(self, name, type(name, (ClientError,), {}))
        self.ClientError = ClientError


class FakeIAM:
    """Roles and policies exist as names only; every role ARN is syntactic."""

    def __init__(self):
        self.exceptions = _Exceptions()

    @staticmethod
    def _role(name):
        return {"Role": {"RoleName": name, "Arn": f"arn:aws:iam::{ACCOUNT}:role/{name}", "RoleId": "AROA" + name.upper()[:16],
                         "Path": "/"}}

    def create_role(self, RoleName, **_):
        return self._role(RoleName)

    def get_role(self, RoleName, **_):
        return self._role(RoleName)

    def create_policy(self, PolicyName, **_):
        return {"Policy": {"PolicyName": PolicyName, "Arn": f"arn:aws:iam::{ACCOUNT}:policy/{PolicyName}",
                           "DefaultVersionId": "v1"}}

    def get_policy(self, PolicyArn, **_):
        return {"Policy": {"PolicyName": PolicyArn.rsplit("/", 1)[-1], "Arn": PolicyArn, "DefaultVersionId": "v1"}}

    def list_attached_role_policies(self, **_):
        return {"AttachedPolicies": []}

    def list_role_policies(self, **_):
        return {"PolicyNames": []}

    def list_roles(self, **_):
        return {"Roles": []}

    def list_policies(self, **_):
        return {"Policies": []}

    def get_waiter(self, _name):
        return types.SimpleNamespace(wait=lambda **_: None)

    def get_paginator(self, _name):
        page = {"AttachedPolicies": [], "PolicyNames": [], "Roles": [], "Policies": []}
        return types.SimpleNamespace(paginate=lambda **_: iter([page]))

    def __getattr__(self, name):
        # attach_role_policy, put_role_policy, detach_role_policy,
        # delete_role, delete_policy, ...: nothing to do.
        return lambda *a, **k: {"ResponseMetadata": {"HTTPStatusCode": 200}}


class FakeSTS:
    def get_caller_identity(self, **_):
        return {"Account": ACCOUNT, "Arn": f"arn:aws:iam::{ACCOUNT}:user/notebook", "UserId": "AIDANOTEBOOK"}


class FakeKMS:
    """Keys exist as ARNs only: Attune stores kmsKeyArn and encrypts nothing."""

    def create_key(self, **_):
        key = "1234abcd-12ab-34cd-56ef-1234567890ab"
        return {"KeyMetadata": {"KeyId": key, "Arn": f"arn:aws:kms:us-east-1:{ACCOUNT}:key/{key}"}}

    def __getattr__(self, name):
        # schedule_key_deletion, put_key_policy, ...: nothing to do.
        return lambda *a, **k: {"ResponseMetadata": {"HTTPStatusCode": 200}}


class FakeSSM:
    """The parameters the getting-started CloudFormation template writes."""

    def __init__(self, bucket, role_arn):
        self.exceptions = _Exceptions()
        self.params = {"/cloudformation/personalize-s3-bucket": bucket,
                       "/cloudformation/personalize-iam-role-arn": role_arn}

    def get_parameter(self, Name, **_):
        if Name not in self.params:
            raise SkipCell(f"SSM parameter {Name} (a CloudFormation output this runner does not stand in for)")
        return {"Parameter": {"Name": Name, "Value": self.params[Name], "Type": "String"}}

    def put_parameter(self, Name, Value, **_):
        self.params[Name] = Value
        return {"Version": 1}


OUTSIDE = {"cloudformation": "CloudFormation", "lambda": "Lambda", "stepfunctions": "Step Functions",
           "bedrock": "Bedrock", "bedrock-runtime": "Bedrock", "bedrock-agent": "Bedrock",
           "bedrock-agent-runtime": "Bedrock", "sagemaker": "SageMaker", "firehose": "Kinesis Firehose",
           "kinesis": "Kinesis", "events": "EventBridge", "sns": "SNS", "glue": "Glue", "athena": "Athena",
           "forecast": "Forecast", "cloudwatch": "CloudWatch", "logs": "CloudWatch Logs",
           "apigateway": "API Gateway", "dynamodb": "DynamoDB", "sagemaker-runtime": "SageMaker"}


def _tolerant_policy(put):
    """put_bucket_policy that accepts what the local S3 server cannot store:
    versitygw refuses a service principal (personalize.amazonaws.com),
    which AWS's S3 takes, and Attune needs no bucket policy to read."""
    from botocore.exceptions import ClientError

    def put_bucket_policy(**kwargs):
        try:
            return put(**kwargs)
        except ClientError as e:
            if e.response.get("Error", {}).get("Code") != "MalformedPolicy":
                raise
            return {"ResponseMetadata": {"HTTPStatusCode": 204}}

    return put_bucket_policy


def install(bucket, role_arn, max_sleep):
    """Patches boto3, time.sleep and the sagemaker module in this process."""
    import time

    import boto3
    import boto3.session

    fakes = {"iam": FakeIAM(), "sts": FakeSTS(), "ssm": FakeSSM(bucket, role_arn), "kms": FakeKMS()}
    real_client = boto3.session.Session.client

    def client(self, service_name, *args, **kwargs):
        if service_name in fakes:
            return fakes[service_name]
        if service_name in OUTSIDE:
            raise SkipCell(f"uses {OUTSIDE[service_name]}")
        c = real_client(self, service_name, *args, **kwargs)
        if service_name == "s3":
            c.put_bucket_policy = _tolerant_policy(c.put_bucket_policy)
        return c

    # boto3.client() goes through the default Session's client method.
    boto3.session.Session.client = client

    # Polling loops written for the real service's minutes (sleep(60))
    # and event loops pacing themselves (sleep(1)) run 20 times faster,
    # never sleeping more than max_sleep.
    real_sleep = time.sleep
    time.sleep = lambda s: real_sleep(min(max(s, 0) / 20, max_sleep))

    sm = types.ModuleType("sagemaker")
    sm.get_execution_role = lambda *a, **k: role_arn
    sm.Session = lambda *a, **k: types.SimpleNamespace(default_bucket=lambda: bucket,
                                                        boto_region_name=os.environ.get("AWS_DEFAULT_REGION", "us-east-1"))
    sys.modules.setdefault("sagemaker", sm)


# --- data stand-ins -------------------------------------------------------

GENRES = ["Action", "Adventure", "Animation", "Children's", "Comedy", "Crime", "Documentary", "Drama", "Fantasy",
          "Film-Noir", "Horror", "Musical", "Mystery", "Romance", "Sci-Fi", "Thriller", "War", "Western"]


def _ratings(n_users, n_items, per_user, seed, t0=874_724_710, span=215 * 86400):
    """Users with a taste for a few genres rate movies of those genres more
    often and higher: enough structure for models to learn from."""
    rng = random.Random(seed)
    item_genres = [rng.sample(range(len(GENRES)), rng.choice((1, 1, 2, 3))) for _ in range(n_items)]
    by_genre = {g: [i for i in range(n_items) if g in item_genres[i]] for g in range(len(GENRES))}
    pop = [rng.paretovariate(1.2) for _ in range(n_items)]
    rows = []
    for u in range(n_users):
        likes = rng.sample(range(len(GENRES)), 3)
        seen = set()
        start = t0 + rng.randrange(span // 2)
        for k in range(rng.randint(per_user // 2, per_user * 3 // 2)):
            pool = by_genre[rng.choice(likes)] if rng.random() < 0.75 else range(n_items)
            pool = pool or range(n_items)
            i = max(rng.sample(list(pool), min(3, len(pool))), key=lambda x: pop[x])
            if i in seen:
                continue
            seen.add(i)
            liked = any(g in likes for g in item_genres[i])
            rating = min(5, max(1, round(rng.gauss(4.0 if liked else 2.8, 0.9))))
            rows.append((u + 1, i + 1, rating, start + k * rng.randrange(60, 7200)))
    rows.sort(key=lambda r: r[3])
    return rows, item_genres


def _title(i, rng):
    words = ["Night", "River", "Star", "Heart", "City", "Ghost", "Road", "Dream", "Fire", "Island", "Secret", "Winter"]
    return f"The {rng.choice(words)} {rng.choice(words)} {i} ({rng.randint(1930, 1998)})"


def _movielens_files(dest, folder, rows, ratings_name, rating_format, movies_name, n_items, movie_line):
    """Writes a MovieLens folder's ratings file (one rating_format line per
    (user, item, rating, time) row) and movies file (movie_line(i) for
    movie ids 1..n_items, latin-1 as GroupLens ships it); returns the folder."""
    d = os.path.join(dest, folder)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, ratings_name), "w") as f:
        for r in rows:
            f.write(rating_format % r + "\n")
    with open(os.path.join(d, movies_name), "w", encoding="latin-1") as f:
        for i in range(1, n_items + 1):
            f.write(movie_line(i) + "\n")
    return d


def ml_100k(dest):
    """ml-100k/u.data, u.item, u.user, u.genre as GroupLens ships them."""
    rng = random.Random(100)
    n_users, n_items = 943, 1682
    rows, genres = _ratings(n_users, n_items, 60, 100)
    d = _movielens_files(dest, "ml-100k", rows, "u.data", "%d\t%d\t%d\t%d", "u.item", n_items,
                         lambda i: f"{i}|{_title(i, rng)}|01-Jan-1995||http://example.invalid/{i}|0|"
                         + "|".join("1" if g in genres[i - 1] else "0" for g in range(len(GENRES))))
    occupations = ["student", "engineer", "writer", "artist", "doctor", "lawyer", "other"]
    with open(os.path.join(d, "u.user"), "w") as f:
        for u in range(n_users):
            f.write(f"{u + 1}|{rng.randint(15, 70)}|{rng.choice('MF')}|{rng.choice(occupations)}|{rng.randint(10000, 99999)}\n")
    with open(os.path.join(d, "u.genre"), "w") as f:
        f.write("unknown|0\n" + "".join(f"{g}|{k + 1}\n" for k, g in enumerate(GENRES)))
    return d


def ml_latest_small(dest):
    """ml-latest-small/ratings.csv, movies.csv, tags.csv, links.csv."""
    rng = random.Random(200)
    n_users, n_items = 610, 2000
    rows, genres = _ratings(n_users, n_items, 80, 200, t0=1_400_000_000, span=4 * 365 * 86400)
    d = os.path.join(dest, "ml-latest-small")
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, "ratings.csv"), "w") as f:
        f.write("userId,movieId,rating,timestamp\n")
        for u, i, r, t in rows:
            f.write(f"{u},{i},{r - rng.choice((0, 0, 0.5)) if r > 1 else r},{t}\n")
    with open(os.path.join(d, "movies.csv"), "w") as f:
        f.write("movieId,title,genres\n")
        for i in range(n_items):
            f.write(f"{i + 1},\"{_title(i + 1, rng)}\",{'|'.join(GENRES[g] for g in genres[i])}\n")
    with open(os.path.join(d, "tags.csv"), "w") as f:
        f.write("userId,movieId,tag,timestamp\n")
        for u, i, _, t in rows[::50]:
            f.write(f"{u},{i},{rng.choice(['funny', 'classic', 'dark', 'twist'])},{t}\n")
    with open(os.path.join(d, "links.csv"), "w") as f:
        f.write("movieId,imdbId,tmdbId\n")
        for i in range(n_items):
            f.write(f"{i + 1},{100000 + i},{200 + i}\n")
    return d


def ml_1m(dest):
    """ml-1m/ratings.dat, movies.dat, users.dat ('::'-separated)."""
    rng = random.Random(1000)
    n_users, n_items = 1200, 1800
    rows, genres = _ratings(n_users, n_items, 70, 1000, t0=956_703_932, span=300 * 86400)
    d = _movielens_files(dest, "ml-1m", rows, "ratings.dat", "%d::%d::%d::%d", "movies.dat", n_items,
                         lambda i: f"{i}::{_title(i, rng)}::{'|'.join(GENRES[g] for g in genres[i - 1])}")
    with open(os.path.join(d, "users.dat"), "w") as f:
        for u in range(n_users):
            f.write(f"{u + 1}::{rng.choice('MF')}::{rng.choice((1, 18, 25, 35, 45, 50, 56))}::{rng.randint(0, 20)}::{rng.randint(10000, 99999)}\n")
    return d


def lastfm_2k(dest):
    """hetrec2011-lastfm-2k: artists.dat, user_artists.dat, tags.dat,
    user_taggedartists(-timestamps).dat, tab-separated with headers."""
    rng = random.Random(2000)
    n_users, n_items = 1892, 3000
    rows, _ = _ratings(n_users, n_items, 40, 2000, t0=1_100_000_000, span=6 * 365 * 86400)
    d = dest  # the zip has no top folder
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, "artists.dat"), "w") as f:
        f.write("id\tname\turl\tpictureURL\n")
        for i in range(n_items):
            f.write(f"{i + 1}\tArtist {i + 1}\thttp://example.invalid/a/{i + 1}\thttp://example.invalid/p/{i + 1}.jpg\n")
    with open(os.path.join(d, "user_artists.dat"), "w") as f:
        f.write("userID\tartistID\tweight\n")
        for u, i, r, _ in rows:
            f.write(f"{u + 1}\t{i}\t{r * rng.randint(20, 400)}\n")
    with open(os.path.join(d, "tags.dat"), "w", encoding="latin-1") as f:
        f.write("tagID\ttagValue\n")
        for t in range(1, 51):
            f.write(f"{t}\ttag{t}\n")
    with open(os.path.join(d, "user_taggedartists-timestamps.dat"), "w") as f:
        f.write("userID\tartistID\ttagID\ttimestamp\n")
        for u, i, _, t in rows:
            f.write(f"{u + 1}\t{i}\t{rng.randint(1, 50)}\t{t * 1000}\n")
    with open(os.path.join(d, "user_taggedartists.dat"), "w") as f:
        f.write("userID\tartistID\ttagID\tday\tmonth\tyear\n")
        for u, i, _, t in rows:
            f.write(f"{u + 1}\t{i}\t{rng.randint(1, 50)}\t1\t1\t2009\n")
    with open(os.path.join(d, "user_friends.dat"), "w") as f:
        f.write("userID\tfriendID\n")
    return os.path.join(d, "artists.dat")


RETAIL_CATEGORIES = {"apparel": ["shirt", "jacket"], "footwear": ["sneaker", "boot"], "housewares": ["kitchen", "bath"],
                     "halloween": ["halloween"], "decorative": ["decorative"], "electronics": ["headphones", "camera"],
                     "beauty": ["makeup", "fragrance"], "groceries": ["snacks", "drinks"]}


def _retail(dest):
    """The Retail Demo Store CSVs: items.csv, interactions.csv, users.csv."""
    rng = random.Random(3000)
    items = []
    for k in range(500):
        l1 = rng.choice(sorted(RETAIL_CATEGORIES))
        items.append((f"{rng.getrandbits(128):032x}"[:8] + f"-{k:04d}", round(rng.uniform(5, 200), 2), l1,
                      rng.choice(RETAIL_CATEGORIES[l1]), f"A fine {l1} product number {k}",
                      rng.choice(["M", "F", "Unisex"]) if l1 in ("apparel", "footwear") else "Unisex",
                      "Y" if rng.random() < 0.05 else "N"))
    with open(os.path.join(dest, "items.csv"), "w") as f:
        f.write("ITEM_ID,PRICE,CATEGORY_L1,CATEGORY_L2,PRODUCT_DESCRIPTION,GENDER,PROMOTED\n")
        for it in items:
            f.write(",".join(str(x) for x in it) + "\n")
    with open(os.path.join(dest, "users.csv"), "w") as f:
        f.write("USER_ID,AGE,GENDER\n")
        for u in range(1, 1001):
            f.write(f"{u},{rng.randint(18, 80)},{rng.choice('MF')}\n")
    rows, _ = _ratings(1000, len(items), 25, 3000, t0=1_591_000_000, span=90 * 86400)
    with open(os.path.join(dest, "interactions.csv"), "w") as f:
        f.write("ITEM_ID,USER_ID,EVENT_TYPE,TIMESTAMP,DISCOUNT\n")
        for u, i, r, t in rows:
            for k, ev in enumerate(("View", "AddToCart", "Checkout", "Purchase")[: max(1, r - 1)]):
                f.write(f"{items[i - 1][0]},{u},{ev},{t + 60 * k},{'Yes' if rng.random() < 0.2 else 'No'}\n")
    return os.path.join(dest, "items.csv")


# URL fragment -> generator of the files the download (and unzip) make.
DOWNLOADS = {"ml-100k.zip": ml_100k, "ml-latest-small.zip": ml_latest_small, "ml-1m.zip": ml_1m,
             "hetrec2011-lastfm-2k.zip": lastfm_2k, "retaildemostore.retail.aws.dev/csvs/": _retail}


def provide(line, workdir):
    """Makes the stand-in for a download line, if it names a known data set,
    in workdir. For a zip it also writes the zip itself, so that an unzip
    line or a zip reader finds it. Returns what it provided, or None."""
    for frag, gen in DOWNLOADS.items():
        if frag not in line:
            continue
        gen(workdir)
        if frag.endswith(".zip"):
            zpath = os.path.join(workdir, frag)
            if not os.path.exists(zpath):
                with zipfile.ZipFile(zpath, "w") as z:
                    z.writestr("README.txt", "stand-in data of the same shape, made by scripts/notebooks/standins.py\n")
        return frag
    return None
