//! What the benchmarks ask of the service: the parties, the request bodies, every route of the
//! contract, and for each function a run of events it can serve (fresh targets for the ones that
//! change state, since an offer is accepted or cancelled only once).

use crate::stack::Stack;
use serde_json::{json, Value};

pub const ISV: &str = "111122223333";
pub const RESELLER: &str = "222233334444";
pub const BUYER: &str = "333344445555";

/// A date `days` from today, as the contract writes dates.
pub fn date_in(days: i64) -> String {
    (chrono::Utc::now().date_naive() + chrono::Days::new(days.unsigned_abs())).format("%Y-%m-%d").to_string()
}

pub fn register_body(name: &str, contact: &str) -> Value {
    json!({"displayName": name, "contactEmail": contact, "publicProfileComplete": true, "taxAndBankingComplete": true})
}

pub fn product_body() -> Value {
    json!({"title": "Analytics Suite", "productType": "saas-contract", "paid": true, "dimensions": [
        {"key": "users", "name": "users seats", "unitPrice": "100.00"},
        {"key": "gb", "name": "data scanned", "unitPrice": "0.0456789", "kind": "usage"},
    ]})
}

/// A percentage-discount authorization for the reseller; `duration` as the contract has it.
pub fn opportunity_body(product_id: &str, duration: Value) -> Value {
    json!({
        "name": "ResellQ3Acme",
        "resellerAccountIds": [RESELLER],
        "productIds": [product_id],
        "discount": {"type": "percentage", "percentage": "20"},
        "duration": duration,
        "notificationEmails": ["ops@isv.example", "finance@isv.example"],
    })
}

pub fn until(days: i64) -> Value {
    json!({"type": "endDate", "endDate": date_in(days)})
}

/// A legal document's text, and its SHA-256.
const DOCUMENT_TEXT: &[u8] = b"Terms of use";
const DOCUMENT_SHA256: &str = "8c45a486e4b1cad8da030648c261c5b4bce2ab95de23010415be98229eeec919";

fn document_body() -> Value {
    json!({"fileName": "terms.txt", "contentType": "text/plain", "sizeBytes": DOCUMENT_TEXT.len(), "sha256": DOCUMENT_SHA256})
}

/// A draft of `product_id`, to be released.
fn draft_body(product_id: &str) -> Value {
    let mut body = opportunity_body(product_id, until(30));
    body["draft"] = json!(true);
    body
}

pub fn offer_body(opportunity_id: &str, product_id: &str) -> Value {
    json!({
        "opportunityId": opportunity_id,
        "productId": product_id,
        "buyerAccountId": BUYER,
        "buyerCompanyName": "Acme Corp",
        "markupPercentage": "10",
        "expiresOn": date_in(20),
    })
}

/// A request as its caller makes it.
#[derive(Debug, Clone)]
pub struct Request {
    pub method: &'static str,
    pub path: String,
    pub caller: &'static str,
    pub body: Option<Value>,
}

fn get(path: String, caller: &'static str) -> Request {
    Request { method: "GET", path, caller, body: None }
}

fn post(path: String, caller: &'static str, body: Value) -> Request {
    Request { method: "POST", path, caller, body: Some(body) }
}

/// The parties and the things every request can refer to.
pub struct Cast {
    pub product: String,
    /// An authorization with no end, for any number of offers.
    pub open: String,
    pub offer: String,
    pub agreement: String,
}

impl Cast {
    pub async fn new(stack: &Stack) -> Result<Cast, String> {
        stack.ok("PUT", "/sellers/me", ISV, Some(&register_body("Example ISV", "isv@isv.example"))).await?;
        stack.ok("PUT", "/sellers/me", RESELLER, Some(&register_body("Example Reseller", "partner@reseller.example"))).await?;
        let product = id(&stack.ok("POST", "/products", ISV, Some(&product_body())).await?, "productId")?;
        let open = create(stack, &product, json!({"type": "noEnd"})).await?;
        let offer = id(&stack.ok("POST", "/offers", RESELLER, Some(&offer_body(&open, &product))).await?, "offerId")?;
        let accepted = stack.ok("POST", &format!("/offers/{offer}/accept"), BUYER, Some(&json!({}))).await?;
        Ok(Cast { agreement: id(&accepted, "agreementId")?, product, open, offer })
    }

    /// Every route of the contract once, each answered 2xx; the state-changing ones on targets
    /// made for them.
    pub async fn every_route(&self, stack: &Stack) -> Result<(), String> {
        // Each function that serves API routes, in the route table's order.
        let mut functions: Vec<&str> = Vec::new();
        for route in cppo_platform::routes::ROUTES {
            if !functions.contains(&route.function) {
                functions.push(route.function);
            }
        }
        for function in functions {
            for request in self.requests(stack, function, routes_of(function)).await? {
                stack.ok(request.method, &request.path, request.caller, request.body.as_ref()).await?;
            }
        }
        Ok(())
    }

    /// `count` requests for `function`, cycling through its routes.
    pub async fn requests(&self, stack: &Stack, function: &str, count: usize) -> Result<Vec<Request>, String> {
        let mut out = Vec::with_capacity(count);
        for i in 0..count {
            out.push(self.request(stack, function, i).await?);
        }
        Ok(out)
    }

    /// The i-th request of `function`'s rotation.
    async fn request(&self, stack: &Stack, function: &str, i: usize) -> Result<Request, String> {
        let (p, opp, offer, agreement) = (&self.product, &self.open, &self.offer, &self.agreement);
        let n = routes_of(function);
        Ok(match (function, i % n) {
            ("sellers", 0) => get("/sellers/me".into(), ISV),
            ("sellers", 1) => Request {
                method: "PUT",
                path: "/sellers/me".into(),
                caller: RESELLER,
                body: Some(register_body("Example Reseller", "partner@reseller.example")),
            },
            ("sellers", 2) => get("/resellers".into(), ISV),
            ("sellers", 3) => post("/products".into(), ISV, product_body()),
            ("sellers", 4) => get("/products".into(), ISV),
            ("sellers", _) => get(format!("/products/{p}"), ISV),
            ("create-opportunity", 0) => post("/opportunities".into(), ISV, opportunity_body(p, until(90))),
            ("create-opportunity", 1) => post(format!("/opportunities/{opp}/clone"), ISV, json!({"duration": until(60)})),
            ("create-opportunity", _) => post("/opportunities/import".into(), ISV, self.change_set(stack).await?),
            ("update-opportunity", 0) => Request {
                method: "PATCH",
                path: format!("/opportunities/{opp}"),
                caller: ISV,
                body: Some(json!({"description": format!("revision {i}")})),
            },
            ("update-opportunity", 1) => post(format!("/opportunities/{}/revoke", create(stack, p, until(30)).await?), ISV, json!({})),
            ("update-opportunity", _) => {
                let draft = stack.ok("POST", "/opportunities", ISV, Some(&draft_body(p))).await?;
                post(format!("/opportunities/{}/release", id(&draft["items"][0], "opportunityId")?), ISV, json!({}))
            }
            ("extend-offer", _) => post("/offers".into(), RESELLER, offer_body(opp, p)),
            ("update-offer", 0) => Request {
                method: "PATCH",
                path: format!("/offers/{}", self.fresh_offer(stack).await?),
                caller: RESELLER,
                body: Some(json!({"expiresOn": date_in(45)})),
            },
            ("update-offer", _) => post(format!("/offers/{}/cancel", self.fresh_offer(stack).await?), RESELLER, json!({})),
            ("meter-usage", _) => {
                // An hour of usage: the first report of the hour is taken, the rest are duplicates.
                let record = json!({"dimensionKey": "gb", "quantity": 250, "timestamp": chrono::Utc::now().to_rfc3339()});
                post(format!("/agreements/{agreement}/usage"), ISV, json!({"records": [record]}))
            }
            ("accept-offer", _) => post(format!("/offers/{}/accept", self.fresh_offer(stack).await?), BUYER, json!({})),
            ("cancel-agreement", 0) => post(self.cancellation(stack, false).await?, RESELLER, json!({"reason": "the buyer asked"})),
            ("cancel-agreement", 1) => {
                Request { method: "DELETE", path: self.cancellation(stack, true).await?, caller: RESELLER, body: None }
            }
            ("cancel-agreement", 2) => post(format!("{}/accept", self.cancellation(stack, true).await?), BUYER, json!({})),
            ("cancel-agreement", _) => post(format!("{}/reject", self.cancellation(stack, true).await?), BUYER, json!({})),
            ("query", 0) => get(format!("/opportunities/{opp}"), ISV),
            ("query", 1) => get("/opportunities".into(), RESELLER),
            ("query", 2) => get(format!("/offers/{offer}"), BUYER),
            ("query", 3) => get("/offers".into(), RESELLER),
            ("query", 4) => get(format!("/agreements/{agreement}"), ISV),
            ("query", 5) => get("/agreements".into(), BUYER),
            ("query", 6) => get(format!("/reports/sales?from={}&to={}", date_in(0), date_in(1)), ISV),
            ("query", 7) => get("/invoices".into(), BUYER),
            ("query", 8) => get(format!("/invoices?agreementId={agreement}"), RESELLER),
            ("query", 9) => get(format!("/invoices/{}", agreement.replace("agr-", "inv-") + "-up"), ISV),
            ("query", 10) => get(format!("/reports/billing?from={}&to={}", date_in(0), date_in(1)), RESELLER),
            ("query", 11) => get(self.cancellation(stack, true).await?, BUYER),
            ("query", 12) => get(format!("/opportunities/{opp}/eula"), RESELLER),
            ("query", 13) => get(format!("/offers/{offer}/eula"), BUYER),
            ("query", 14) => {
                let mut body = opportunity_body(p, until(30));
                body["resellerAgreement"] = json!({"type": "rcmp"});
                let created = stack.ok("POST", "/opportunities", ISV, Some(&body)).await?;
                get(format!("/opportunities/{}/reseller-agreement", id(&created["items"][0], "opportunityId")?), RESELLER)
            }
            ("query", _) => get(format!("/opportunities/{opp}/changeset"), ISV),
            ("documents", 0) => post("/documents".into(), ISV, document_body()),
            ("documents", 1) => post(format!("/documents/{}/complete", self.uploaded(stack).await?), ISV, json!({})),
            ("documents", _) => get(format!("/documents/{}", self.uploaded(stack).await?), ISV),
            (other, _) => return Err(format!("no requests for {other}")),
        })
    }

    /// The cancellation path of a fresh agreement, with a request pending when `pending`.
    async fn cancellation(&self, stack: &Stack, pending: bool) -> Result<String, String> {
        let offer = self.fresh_offer(stack).await?;
        let accepted = stack.ok("POST", &format!("/offers/{offer}/accept"), BUYER, Some(&json!({}))).await?;
        let path = format!("/agreements/{}/cancellation", id(&accepted, "agreementId")?);
        if pending {
            stack.ok("POST", &path, RESELLER, Some(&json!({"reason": "the buyer asked"}))).await?;
        }
        Ok(path)
    }

    /// A document declared and its file uploaded, to be completed: written where its presigned
    /// PUT would have put it.
    async fn uploaded(&self, stack: &Stack) -> Result<String, String> {
        let document = id(&stack.ok("POST", "/documents", ISV, Some(&document_body())).await?, "documentId")?;
        let bucket = stack.app.bucket().map_err(|_| "the bench's app has no document bucket".to_string())?;
        let key = cppo_domain::document::upload_key(&document);
        bucket.put_pdf(&key, DOCUMENT_TEXT.to_vec(), DOCUMENT_SHA256).await.map_err(|e| e.to_string())?;
        Ok(document)
    }

    async fn fresh_offer(&self, stack: &Stack) -> Result<String, String> {
        id(&stack.ok("POST", "/offers", RESELLER, Some(&offer_body(&self.open, &self.product))).await?, "offerId")
    }

    /// The Catalog change set of a fresh authorization, as the export gives it: an import's body.
    async fn change_set(&self, stack: &Stack) -> Result<Value, String> {
        let source = create(stack, &self.product, until(45)).await?;
        let export = stack.ok("GET", &format!("/opportunities/{source}/changeset"), ISV, None).await?;
        Ok(export["changeSets"][0].clone())
    }
}

/// How many routes each API function serves (its rotation's length).
pub fn routes_of(function: &str) -> usize {
    cppo_platform::routes::ROUTES.iter().filter(|r| r.function == function).count()
}

async fn create(stack: &Stack, product: &str, duration: Value) -> Result<String, String> {
    let created = stack.ok("POST", "/opportunities", ISV, Some(&opportunity_body(product, duration))).await?;
    id(&created["items"][0], "opportunityId")
}

pub fn id(v: &Value, key: &str) -> Result<String, String> {
    v[key].as_str().map(str::to_string).ok_or_else(|| format!("no {key} in {v}"))
}
