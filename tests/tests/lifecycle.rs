//! The whole life of a deal, tried through HTTP as a seller's team would: review before create,
//! drafts and release, either party ending an authorization, moving an offer's last day,
//! future-dated agreements and renewals, renewal reminders at their day edges, cancellation by
//! both sides, the sellers' own references, default stakeholders and net payment terms. Each new
//! email is read back from the emulator, once, after repeated sweeps and a relay that delivers
//! records twice.

mod common;

use common::*;
use serde_json::{json, Value};

const STAKEHOLDERS: [&str; 2] = ["finance@isv.example", "ops@isv.example"];
const PARTNER: &str = "partner@reseller.example";

/// The one email with `title` to `to`, asserting there is exactly one.
fn one_to<'a>(emails: &'a [Value], title: &str, to: &[&str]) -> &'a Value {
    let want: Vec<String> = to.iter().map(|s| s.to_string()).collect();
    let found: Vec<&Value> = titled(emails, title).into_iter().filter(|e| recipients(e) == want).collect();
    assert_eq!(found.len(), 1, "one {title:?} to {to:?}: {:#?}", titled(emails, title));
    found[0]
}

/// What reached the bus with `detail_type`, each fact once: the bus is at least once, and a
/// consumer drops a copy by its `requestId`, as AWS Marketplace's own events are read.
async fn on_bus(stack: &Stack, detail_type: &str) -> Vec<Value> {
    let mut seen = std::collections::BTreeSet::new();
    stack
        .events()
        .await
        .into_iter()
        .filter(|e| e["detailType"] == detail_type)
        .filter(|e| seen.insert(e["detail"]["requestId"].as_str().unwrap_or_default().to_string()))
        .collect()
}

fn body(email: &Value) -> &str {
    email["body"].as_str().unwrap_or_default()
}

async fn patch(stack: &Stack, path: &str, account: &str, body: Value) -> Reply {
    stack.call("PATCH", path, Some(account), Some(body)).await
}

#[tokio::test(flavor = "multi_thread")]
async fn a_dry_run_answers_what_the_create_would_make_and_stores_and_emails_nothing() {
    let stack = Stack::start().await;
    let product = stack.cast().await;
    let body = opportunity_body(&product, json!({"netPaymentTermDays": 60}));
    let review = stack.post("/opportunities?dryRun=true", ISV, body.clone()).await;
    assert_eq!(review.status, 200, "{review:?}");
    let previewed = &review.body["items"][0];
    assert!(previewed.get("opportunityId").is_none(), "{previewed}");
    assert_eq!(stack.get("/opportunities", ISV).await.body["items"], json!([]), "nothing stored");
    // The same checks: a bad body is refused the same way.
    let bad = stack.post("/opportunities?dryRun=true", ISV, opportunity_body(&product, json!({"name": "x"}))).await;
    assert_eq!((bad.status, bad.body["error"]["field"].as_str()), (400, Some("name")));
    assert_eq!(stack.post("/opportunities?dryRun=maybe", ISV, body.clone()).await.body["error"]["field"], "dryRun");

    let created = stack.opportunity(body).await;
    for field in ["wholesale", "discount", "duration", "status", "netPaymentTermDays", "notificationEmails", "resellerName"] {
        assert_eq!(previewed[field], created[field], "{field}");
    }
    stack.drain().await;
    assert_eq!(titled(&stack.emails().await, "New resale authorization").len(), 1, "only the real create is announced");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_draft_is_its_isvs_alone_until_released_and_only_then_announced() {
    let stack = Stack::start().await;
    let product = stack.cast().await;
    let draft = stack.opportunity(opportunity_body(&product, json!({"draft": true}))).await;
    let id = id(&draft, "opportunityId");
    let path = format!("/opportunities/{id}");
    assert_eq!(draft["status"], "draft");
    // To its reseller a draft does not exist.
    assert_eq!(stack.get(&path, RESELLER).await.status, 404);
    assert_eq!(stack.get("/opportunities", RESELLER).await.body["items"], json!([]));
    assert_eq!(stack.offer(&id, &product, json!({})).await.status, 404, "a draft takes no offer");
    assert_eq!(stack.post(&format!("{path}/release"), RESELLER, json!({})).await.status, 404);
    let listed = stack.get("/opportunities?status=draft", ISV).await;
    assert_eq!(listed.body["items"].as_array().map(Vec::len), Some(1), "{listed:?}");

    // A draft's PATCH revises its terms, checked as a new create; its resellers stay.
    let revised = patch(&stack, &path, ISV, json!({"name": "ResellQ4Acme", "discount": {"type": "percentage", "percentage": "30"}})).await;
    assert_eq!(revised.status, 200, "{revised:?}");
    assert_eq!(revised.body["wholesale"]["products"][0]["dimensions"][0]["wholesalePrice"], "70");
    assert_eq!((revised.body["name"].as_str(), revised.body["status"].as_str()), (Some("ResellQ4Acme"), Some("draft")));
    let fixed = patch(&stack, &path, ISV, json!({"resellerAccountIds": [RESELLER]})).await;
    assert_eq!((fixed.status, fixed.body["error"]["code"].as_str()), (400, Some("ImmutableField")));
    let bad = patch(&stack, &path, ISV, json!({"duration": {"type": "endDate", "endDate": "2020-01-01"}})).await;
    assert_eq!((bad.status, bad.body["error"]["field"].as_str()), (400, Some("duration.endDate")));
    assert_eq!(patch(&stack, &path, RESELLER, json!({"name": "Mine"})).await.status, 404);
    stack.drain().await;
    assert!(stack.emails().await.is_empty(), "a draft sends no email");
    // Past its end date a draft stays a draft: it never expires by itself.
    stack.set_clock("2027-04-01T00:00:00Z").await;
    assert_eq!(stack.sweep().await["opportunities"], 0);
    assert_eq!(stack.get(&path, ISV).await.body["status"], "draft");
    assert_eq!(stack.post(&format!("{path}/release"), ISV, json!({})).await.status, 409, "its end date has passed");
    stack.set_clock(T0).await;

    let released = stack.post(&format!("{path}/release"), ISV, json!({})).await;
    assert_eq!((released.status, released.body["status"].as_str()), (200, Some("active")), "{released:?}");
    assert_eq!(stack.post(&format!("{path}/release"), ISV, json!({})).await.status, 409, "only a draft is released");
    assert_eq!(stack.get(&path, RESELLER).await.status, 200);
    assert_eq!(stack.get("/opportunities", RESELLER).await.body["items"].as_array().map(Vec::len), Some(1));
    assert_eq!(stack.offer(&id, &product, json!({})).await.status, 201);
    stack.deliver_twice().await;
    let announced = one_to(&stack.emails().await, "New resale authorization", &[PARTNER]).clone();
    assert!(body(&announced).contains(&id));
    assert_eq!(on_bus(&stack, "Resale Authorization Created").await.len(), 1, "announced once, at release");
}

#[tokio::test(flavor = "multi_thread")]
async fn the_reseller_may_end_an_authorization_and_the_isv_hears_who_and_why() {
    let stack = Stack::start().await;
    let product = stack.cast().await;
    let id = id(&stack.opportunity(opportunity_body(&product, json!({}))).await, "opportunityId");
    let offer = stack.offer(&id, &product, json!({})).await;
    let revoke = format!("/opportunities/{id}/revoke");
    let long = stack.post(&revoke, RESELLER, json!({"reason": "x".repeat(257)})).await;
    assert_eq!((long.status, long.body["error"]["field"].as_str()), (400, Some("reason")));
    assert_eq!(stack.post(&revoke, BUYER, json!({})).await.status, 404);
    let ended = stack.post(&revoke, RESELLER, json!({"reason": "we no longer carry this line"})).await;
    assert_eq!(ended.status, 200, "{ended:?}");
    assert_eq!(ended.body["restrictedBy"], "reseller");
    assert_eq!(ended.body["restrictionReason"], "we no longer carry this line");
    assert_eq!(stack.post(&revoke, ISV, json!({})).await.status, 409, "no longer active");
    // Offers already made stay open.
    assert_eq!(stack.post(&format!("/offers/{}/accept", id_of(&offer)), BUYER, json!({})).await.status, 201);
    stack.deliver_twice().await;
    let emails = stack.emails().await;
    let to_isv = one_to(&emails, "Resale authorization revoked", &STAKEHOLDERS);
    assert!(body(to_isv).contains("channel partner ended"), "{}", body(to_isv));
    assert!(body(to_isv).contains("we no longer carry this line"));
    one_to(&emails, "Resale authorization revoked", &[PARTNER]);
    let restricted = on_bus(&stack, "Resale Authorization Restricted").await;
    assert_eq!(restricted.len(), 1);
    assert_eq!(restricted[0]["detail"]["restrictedBy"], "reseller");
}

fn id_of(reply: &Reply) -> String {
    id(&reply.body, "offerId")
}

#[tokio::test(flavor = "multi_thread")]
async fn the_reseller_moves_an_offers_last_day_and_the_sweep_follows_it() {
    let stack = Stack::start().await;
    let product = stack.cast().await;
    let opportunity = id(&stack.opportunity(opportunity_body(&product, json!({}))).await, "opportunityId");
    let offer = id_of(&stack.offer(&opportunity, &product, json!({})).await);
    let path = format!("/offers/{offer}");
    let moved = patch(&stack, &path, RESELLER, json!({"expiresOn": "2027-03-15"})).await;
    assert_eq!((moved.status, moved.body["expiresOn"].as_str()), (200, Some("2027-03-15")), "{moved:?}");
    for (body, code, field) in [
        (json!({"markupPercentage": "5"}), "ImmutableField", "markupPercentage"),
        (json!({"expiresOn": "2028-01-11"}), "ValidationError", "expiresOn"),
        (json!({"expiresOn": "2027-01-09"}), "ValidationError", "expiresOn"),
        (json!({"colour": "red"}), "ValidationError", "colour"),
    ] {
        let r = patch(&stack, &path, RESELLER, body).await;
        assert_eq!((r.status, r.body["error"]["code"].as_str(), r.body["error"]["field"].as_str()), (400, Some(code), Some(field)));
    }
    assert_eq!(patch(&stack, &path, BUYER, json!({"expiresOn": "2027-02-01"})).await.status, 403);
    assert_eq!(patch(&stack, &path, OUTSIDER, json!({"expiresOn": "2027-02-01"})).await.status, 404);
    // Its old last day passes: still extended. Its new one passes: expired.
    stack.set_clock("2027-02-01T00:00:00Z").await;
    assert_eq!(stack.sweep().await["offers"], 0);
    assert_eq!(stack.get(&path, BUYER).await.body["status"], "extended");
    stack.set_clock("2027-03-16T00:00:00Z").await;
    assert_eq!(stack.sweep().await["offers"], 1);
    assert_eq!(patch(&stack, &path, RESELLER, json!({"expiresOn": "2027-04-01"})).await.status, 409, "no longer extended");
}

/// A 12-month agreement accepted at T0 (2027-01-10): it ends 2028-01-09.
async fn agreement(stack: &Stack, opportunity: &str, product: &str, extra: Value) -> Value {
    let offer = stack.offer(opportunity, product, extra).await;
    assert_eq!(offer.status, 201, "{offer:?}");
    stack.accept(&id_of(&offer)).await
}

#[tokio::test(flavor = "multi_thread")]
async fn a_renewal_starts_the_day_after_the_current_agreement_ends() {
    let stack = Stack::start().await;
    let product = stack.cast().await;
    let body = opportunity_body(&product, json!({"duration": {"type": "noEnd"}, "latestAgreementStartDate": "2028-06-30"}));
    let opportunity = id(&stack.opportunity(body).await, "opportunityId");
    let current = agreement(&stack, &opportunity, &product, json!({})).await;
    assert_eq!((current["startDate"].as_str(), current["endDate"].as_str()), (Some("2027-01-10"), Some("2028-01-09")));
    let beyond = stack.offer(&opportunity, &product, json!({"agreementStartDate": "2028-07-01"})).await;
    assert_eq!((beyond.status, beyond.body["error"]["field"].as_str()), (400, Some("agreementStartDate")), "past the latest start");

    // The renewal, accepted now, starts the day after; the current one simply runs out.
    let renewal = agreement(&stack, &opportunity, &product, json!({"agreementStartDate": "2028-01-10"})).await;
    assert_eq!((renewal["startDate"].as_str(), renewal["endDate"].as_str()), (Some("2028-01-10"), Some("2029-01-09")));
    assert_eq!(renewal["status"], "active", "accepted now, active now");
    stack.set_clock("2028-01-10T00:00:00Z").await;
    assert_eq!(stack.sweep().await["agreements"], 1);
    let current = stack.get(&format!("/agreements/{}", id(&current, "agreementId")), BUYER).await.body;
    assert_eq!(current["status"], "expired");
    assert_eq!(stack.get(&format!("/agreements/{}", id(&renewal, "agreementId")), BUYER).await.body["status"], "active");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_future_dated_replacement_takes_over_on_its_first_day() {
    let stack = Stack::start().await;
    let product = stack.cast().await;
    let opportunity = id(&stack.opportunity(opportunity_body(&product, json!({"duration": {"type": "noEnd"}}))).await, "opportunityId");
    let metadata = json!({"crmOpportunityId": "006A000001", "quote": "Q-2027-17"});
    let current = agreement(&stack, &opportunity, &product, json!({"metadata": metadata})).await;
    let current_id = id(&current, "agreementId");
    let amendment =
        agreement(&stack, &opportunity, &product, json!({"replacesAgreementId": current_id, "agreementStartDate": "2027-07-01"})).await;
    assert_eq!((amendment["intent"].as_str(), amendment["startDate"].as_str()), (Some("AMEND"), Some("2027-07-01")));
    let path = format!("/agreements/{current_id}");
    stack.set_clock("2027-06-30T23:59:59Z").await;
    assert_eq!(stack.get(&path, ISV).await.body["status"], "active", "active until the day before");
    stack.sweep().await;
    stack.set_clock("2027-07-01T00:00:00Z").await;
    assert_eq!(stack.get(&path, ISV).await.body["status"], "replaced", "replaced from its successor's first day");
    assert_eq!(stack.sweep().await["agreements"], 0, "replaced, not expired");
    stack.sweep().await;
    stack.deliver_twice().await;

    // The bus hears it ended on the day, once; no email says it expired.
    let ended = on_bus(&stack, "Purchase Agreement Ended - Manufacturer").await;
    assert_eq!(ended.len(), 1, "{ended:#?}");
    assert_eq!(ended[0]["detail"]["agreement"], json!({"id": current_id, "status": "REPLACED"}));
    assert!(ended[0]["time"].as_str().is_some_and(|t| t.starts_with("2027-07-01T00:00:00")), "{}", ended[0]["time"]);
    let emails = stack.emails().await;
    assert!(titled(&emails, "Agreement ended").is_empty());
    // The amendment's new order says it is an order modification and names the agreement it replaces.
    let modification = one_to(&emails, "Private offer accepted, order modification", &STAKEHOLDERS);
    assert!(body(modification).contains(&format!("Order modification of agreement: {current_id}")), "{}", body(modification));
    // The first order carries the sellers' own references; the buyer never sees them.
    let first_order = one_to(&emails, "Private offer accepted, new order", &[PARTNER]);
    assert!(body(first_order).contains("Reference crmOpportunityId: 006A000001"), "{}", body(first_order));
    assert_eq!(current["metadata"], json!(null), "the buyer's view of its agreement has no metadata");
    assert_eq!(stack.get(&path, ISV).await.body["metadata"], metadata);
    assert_eq!(stack.get(&path, RESELLER).await.body["metadata"], metadata);
    assert!(stack.get(&path, BUYER).await.body.get("metadata").is_none());
}

/// The reminders a sweep at `at` sent; a second sweep at once sends none.
async fn sweep_at(stack: &Stack, at: &str) -> u64 {
    stack.set_clock(at).await;
    let first = stack.sweep_report().await["reminders"].as_u64().unwrap_or(99);
    assert_eq!(stack.sweep_report().await["reminders"], 0, "a sweep repeated sends nothing more at {at}");
    first
}

#[tokio::test(flavor = "multi_thread")]
async fn renewal_reminders_go_out_at_ninety_sixty_and_thirty_days_once_each() {
    let stack = Stack::start().await;
    let product = stack.cast().await;
    let opportunity = id(&stack.opportunity(opportunity_body(&product, json!({"duration": {"type": "noEnd"}}))).await, "opportunityId");
    let a = id(&agreement(&stack, &opportunity, &product, json!({})).await, "agreementId");
    // Ends 2028-01-09: the reminders fall due 2027-10-11, 2027-11-10 and 2027-12-10 at 00:00 UTC.
    assert_eq!(sweep_at(&stack, "2027-10-10T23:59:59Z").await, 0, "91 days left");
    assert_eq!(sweep_at(&stack, "2027-10-12T08:00:00Z").await, 1, "89 days left: the 90-day reminder");
    assert_eq!(sweep_at(&stack, "2027-11-09T23:59:59Z").await, 0, "61 days left");
    assert_eq!(sweep_at(&stack, "2027-11-10T00:00:00Z").await, 1, "60 days left");
    assert_eq!(sweep_at(&stack, "2027-12-11T00:00:00Z").await, 1, "29 days left: the 30-day reminder");
    assert_eq!(sweep_at(&stack, "2028-01-09T12:00:00Z").await, 0);
    stack.deliver_twice().await;

    let emails = stack.emails().await;
    let to_isv: Vec<&Value> = titled(&emails, "Agreement ending soon").into_iter().filter(|e| recipients(e) == STAKEHOLDERS).collect();
    let to_partner: Vec<&Value> = titled(&emails, "Agreement ending soon").into_iter().filter(|e| recipients(e) == [PARTNER]).collect();
    assert_eq!((to_isv.len(), to_partner.len()), (3, 3), "{emails:#?}");
    let days: Vec<bool> = ["Days left: 89", "Days left: 60", "Days left: 29"]
        .iter()
        .map(|d| to_isv.iter().any(|e| body(e).contains(d) && body(e).contains(&a)))
        .collect();
    assert_eq!(days, [true, true, true]);
    let ending = on_bus(&stack, "Purchase Agreement Ending - Proposer").await;
    let mut told: Vec<i64> = ending.iter().filter_map(|e| e["detail"]["agreement"]["daysBeforeEndTime"].as_i64()).collect();
    told.sort_unstable();
    assert_eq!(told, [29, 60, 89]);
    assert_eq!(on_bus(&stack, "Purchase Agreement Ending - Manufacturer").await.len(), 3);
    assert_eq!(ending[0]["detail"]["agreement"]["endTime"], "2028-01-09T23:59:59.999Z");
}

#[tokio::test(flavor = "multi_thread")]
async fn when_the_sweep_falls_behind_only_the_nearest_reminder_is_sent() {
    let stack = Stack::start().await;
    let product = stack.cast().await;
    let opportunity = id(&stack.opportunity(opportunity_body(&product, json!({"duration": {"type": "noEnd"}}))).await, "opportunityId");
    agreement(&stack, &opportunity, &product, json!({})).await;
    stack.set_clock("2027-11-20T00:00:00Z").await;
    assert_eq!(stack.sweep_report().await["reminders"], 1);
    assert_eq!(stack.sweep_report().await["reminders"], 0);
    stack.drain().await;
    let reminders = titled(&stack.emails().await, "Agreement ending soon").len();
    assert_eq!(reminders, 2, "the 60-day one alone, to each side");
}

#[tokio::test(flavor = "multi_thread")]
async fn cancelling_an_agreement_takes_the_reseller_and_the_buyer() {
    let stack = Stack::start().await;
    let product = stack.cast().await;
    let opportunity = id(&stack.opportunity(opportunity_body(&product, json!({"duration": {"type": "noEnd"}}))).await, "opportunityId");
    let a = id(&agreement(&stack, &opportunity, &product, json!({})).await, "agreementId");
    let path = format!("/agreements/{a}/cancellation");
    assert_eq!(stack.get(&path, BUYER).await.status, 404, "no request yet");
    let empty = stack.post(&path, RESELLER, json!({"reason": ""})).await;
    assert_eq!((empty.status, empty.body["error"]["field"].as_str()), (400, Some("reason")));
    assert_eq!(stack.post(&path, BUYER, json!({"reason": "mine"})).await.status, 403);

    let asked = stack.post(&path, RESELLER, json!({"reason": "the buyer moved to the enterprise plan"})).await;
    assert_eq!((asked.status, asked.body["status"].as_str()), (201, Some("pendingApproval")), "{asked:?}");
    assert_eq!(stack.post(&path, RESELLER, json!({"reason": "again"})).await.status, 409, "one pending at a time");
    let rejected = stack.post(&format!("{path}/reject"), BUYER, json!({})).await;
    assert_eq!((rejected.status, rejected.body["status"].as_str()), (200, Some("rejected")));
    assert_eq!(stack.get(&format!("/agreements/{a}"), BUYER).await.body["status"], "active", "the agreement stands");
    assert_eq!(stack.call("DELETE", &path, Some(RESELLER), None).await.status, 409, "none pending");

    assert_eq!(stack.post(&path, RESELLER, json!({"reason": "asked by mistake"})).await.status, 201);
    let withdrawn = stack.call("DELETE", &path, Some(RESELLER), None).await;
    assert_eq!((withdrawn.status, withdrawn.body["status"].as_str()), (200, Some("withdrawn")));

    assert_eq!(stack.post(&path, RESELLER, json!({"reason": "the buyer moved to the enterprise plan"})).await.status, 201);
    assert_eq!(stack.post(&format!("{path}/accept"), RESELLER, json!({})).await.status, 403);
    let accepted = stack.post(&format!("{path}/accept"), BUYER, json!({})).await;
    assert_eq!((accepted.status, accepted.body["status"].as_str()), (200, Some("accepted")), "{accepted:?}");
    assert!(accepted.body["answeredAt"].is_string());
    for party in [ISV, RESELLER, BUYER] {
        assert_eq!(stack.get(&format!("/agreements/{a}"), party).await.body["status"], "cancelled");
        assert_eq!(stack.get(&path, party).await.body["status"], "accepted");
    }
    assert_eq!(stack.get(&path, OUTSIDER).await.status, 404);
    assert_eq!(stack.post(&path, RESELLER, json!({"reason": "again"})).await.status, 409, "only an active agreement");
    assert_eq!(stack.post(&format!("{path}/accept"), BUYER, json!({})).await.status, 409);
    // A cancelled agreement neither expires nor is reminded of.
    stack.set_clock("2027-12-11T00:00:00Z").await;
    assert_eq!(stack.sweep_report().await["reminders"], 0);
    stack.set_clock("2028-02-01T00:00:00Z").await;
    assert_eq!(stack.sweep().await["agreements"], 0);
    stack.deliver_twice().await;

    let emails = stack.emails().await;
    for title in [
        "Agreement cancellation requested",
        "Agreement cancellation rejected by the buyer",
        "Agreement cancellation request withdrawn",
        "Agreement cancelled",
    ] {
        let expected = if title == "Agreement cancellation requested" { 3 } else { 1 };
        for to in [&STAKEHOLDERS[..], &[PARTNER]] {
            let want: Vec<String> = to.iter().map(|s| s.to_string()).collect();
            let n = titled(&emails, title).into_iter().filter(|e| recipients(e) == want && body(e).contains(&a)).count();
            assert_eq!(n, expected, "{title} to {to:?}");
        }
    }
    let cancelled = one_to(&emails, "Agreement cancelled", &STAKEHOLDERS);
    assert!(body(cancelled).contains("the buyer moved to the enterprise plan"));
    for (detail_type, n) in [
        ("Agreement Cancellation Request Pending Approval - Proposer", 3),
        ("Agreement Cancellation Request Rejected - Proposer", 1),
        ("Agreement Cancellation Request Cancelled - Proposer", 1),
        ("Agreement Cancellation Request Approved - Manufacturer", 1),
        ("Purchase Agreement Ended - Proposer", 1),
    ] {
        assert_eq!(on_bus(&stack, detail_type).await.len(), n, "{detail_type}");
    }
    let events = stack.events().await;
    let ended = events.iter().find(|e| e["detailType"] == "Purchase Agreement Ended - Manufacturer").expect("ended");
    assert_eq!(ended["detail"]["agreement"], json!({"id": a, "status": "CANCELLED"}));
    let approved = events.iter().find(|e| e["detailType"] == "Agreement Cancellation Request Approved - Manufacturer").expect("approved");
    assert_eq!(approved["detail"]["agreementCancellationRequest"]["statusCode"], "APPROVED");
    assert_eq!(approved["detail"]["agreementCancellationRequest"]["reasonMessage"], "the buyer moved to the enterprise plan");
}

#[tokio::test(flavor = "multi_thread")]
async fn default_stakeholders_and_net_payment_terms_follow_the_seller_and_the_opportunity() {
    let stack = Stack::start().await;
    let product = stack.cast().await;
    let profile = json!({"displayName": "Example ISV", "contactEmail": "isv@isv.example", "notificationEmails": ["deals@isv.example"],
        "publicProfileComplete": true, "taxAndBankingComplete": true});
    let seller = stack.call("PUT", "/sellers/me", Some(ISV), Some(profile)).await;
    assert_eq!(seller.body["notificationEmails"], json!(["deals@isv.example"]), "{seller:?}");
    let mut without = opportunity_body(&product, json!({"netPaymentTermDays": 15}));
    without.as_object_mut().map(|b| b.remove("notificationEmails"));
    let defaulted = stack.opportunity(without).await;
    assert_eq!(defaulted["notificationEmails"], json!(["deals@isv.example"]));
    let own = stack.opportunity(opportunity_body(&product, json!({"netPaymentTermDays": 60}))).await;
    assert_eq!(own["notificationEmails"], json!(["ops@isv.example", "finance@isv.example"]));

    let short = stack.offer(&id(&defaulted, "opportunityId"), &product, json!({})).await;
    assert_eq!(short.body["netPaymentTermDays"], 15, "the opportunity's, shorter than 30");
    let long = id(&own, "opportunityId");
    assert_eq!(stack.offer(&long, &product, json!({})).await.body["netPaymentTermDays"], 30);
    assert_eq!(stack.offer(&long, &product, json!({"netPaymentTermDays": 45})).await.body["netPaymentTermDays"], 45);
    let over = stack.offer(&long, &product, json!({"netPaymentTermDays": 90})).await;
    assert_eq!((over.status, over.body["error"]["field"].as_str()), (400, Some("netPaymentTermDays")));
    let odd = stack.post("/opportunities", ISV, opportunity_body(&product, json!({"netPaymentTermDays": 31}))).await;
    assert_eq!((odd.status, odd.body["error"]["field"].as_str()), (400, Some("netPaymentTermDays")));
    stack.drain().await;
    let extended = titled(&stack.emails().await, "Channel partner private offer extended").into_iter().map(recipients).collect::<Vec<_>>();
    assert!(extended.contains(&vec!["deals@isv.example".to_string()]), "the defaults hear of the offer: {extended:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn an_authorization_carries_exactly_its_dimensions_through_offers_agreements_and_the_change_set() {
    let stack = Stack::start().await;
    stack.cast().await;
    let product = stack.product(ISV, "saas-contract", &[("users", "100.00"), ("admins", "50.00")]).await;
    let discount = json!({"type": "individual", "products": [{"productId": product, "dimensionPrices": [
        {"dimensionKey": "users", "price": "80.00"},
        {"dimensionKey": "premium-support", "name": "Premium support", "price": "250.00"},
    ]}]});
    let o = stack.opportunity(opportunity_body(&product, json!({"discount": discount}))).await;
    let keys: Vec<&str> =
        o["wholesale"]["products"][0]["dimensions"].as_array().unwrap().iter().filter_map(|d| d["dimensionKey"].as_str()).collect();
    assert_eq!(keys, ["users", "premium-support"], "admins is left out");
    let opportunity = id(&o, "opportunityId");

    let left_out = stack.offer(&opportunity, &product, json!({"units": [{"dimensionKey": "admins", "units": 1}]})).await;
    assert_eq!((left_out.status, left_out.body["error"]["field"].as_str()), (400, Some("units[0].dimensionKey")));
    let offer = stack
        .offer(
            &opportunity,
            &product,
            json!({"units": [{"dimensionKey": "users", "units": 2}, {"dimensionKey": "premium-support", "units": 1}]}),
        )
        .await;
    assert_eq!(offer.status, 201, "{offer:?}");
    let lines: Vec<(&str, &str)> = offer.body["pricing"]["lines"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| (l["dimensionKey"].as_str().unwrap(), l["lineTotal"].as_str().unwrap()))
        .collect();
    assert_eq!(lines, [("users", "176.00"), ("premium-support", "275.00")], "80 and 250 with a 10% markup");
    let agreement = stack.post(&format!("/offers/{}/accept", id_of(&offer)), BUYER, json!({})).await;
    assert_eq!(agreement.body["pricing"]["lines"].as_array().map(Vec::len), Some(2));
    assert_eq!(agreement.body["disbursement"]["buyerTotal"], "451.00");

    let export = stack.get(&format!("/opportunities/{opportunity}/changeset"), ISV).await;
    assert_eq!(export.status, 200);
    let set = &export.body["changeSets"][0];
    assert_eq!(set["ChangeSet"][0]["ChangeType"], "AddDimensions");
    assert_eq!(set["ChangeSet"][0]["Entity"]["Type"], "SaaSProduct@1.0");
    let warnings = export.body["warnings"].as_array().unwrap();
    assert!(warnings.iter().any(|w| w.as_str().is_some_and(|w| w.contains("premium-support"))), "{warnings:?}");
    let imported = stack.post("/opportunities/import", ISV, set.clone()).await;
    assert_eq!(imported.status, 201, "{imported:?}");
    assert_eq!(imported.body["items"][0]["wholesale"], o["wholesale"], "an imported export is the same authorization");
    assert_eq!(imported.body["items"][0]["discount"], o["discount"]);
}
