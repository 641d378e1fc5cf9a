// Entry of the browser bundle (sdk.js) the CORS browser test loads: the real
// AWS SDK for JavaScript v3 Personalize runtime and events clients, exposed on
// window.AttuneSDK. Rebuild with scripts/build-browser-sdk.sh.
import {
  PersonalizeRuntimeClient,
  GetRecommendationsCommand,
  GetPersonalizedRankingCommand,
} from "@aws-sdk/client-personalize-runtime";
import {
  PersonalizeEventsClient,
  PutEventsCommand,
  PutItemsCommand,
  PutUsersCommand,
} from "@aws-sdk/client-personalize-events";

window.AttuneSDK = {
  PersonalizeRuntimeClient,
  GetRecommendationsCommand,
  GetPersonalizedRankingCommand,
  PersonalizeEventsClient,
  PutEventsCommand,
  PutItemsCommand,
  PutUsersCommand,
};
