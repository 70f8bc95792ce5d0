//! Every read of opportunities, offers, agreements and invoices: one read-only function, each party seeing
//! only what is theirs (404 to outsiders) and the buyer never a wholesale figure.

use aws_lambda_events::apigw::{ApiGatewayV2httpRequest, ApiGatewayV2httpResponse};
use chrono::{DateTime, Utc};
use cppo_domain::agreement::Agreement;
use cppo_domain::ids::IdKind;
use cppo_domain::invoice::{self, InvoiceStatus};
use cppo_domain::offer::Offer;
use cppo_domain::opportunity::{Opportunity, OpportunityStatus};
use cppo_domain::AccountId;
use cppo_domain::{catalog, report};
use cppo_platform::api::{expanded_body, page_body, page_request, path_id};
use cppo_platform::http::{serve, unknown_route, ApiError, ApiRequest};
use cppo_platform::store::{
    agreements_accepted, invoices_issued, party_streams, Index, Position, StoredInvoice, AGREEMENT, OFFER, OPPORTUNITY,
};
use cppo_platform::App;
use serde_json::Value;

type Answer = Result<(u16, Value), ApiError>;

pub async fn handle(app: &App, event: ApiGatewayV2httpRequest) -> ApiGatewayV2httpResponse {
    serve(&event, &app.config.account_claim, |req| async move {
        match req.route_key() {
            "GET /opportunities" => list_opportunities(app, &req).await,
            "GET /opportunities/{id}" => get_opportunity(app, &req).await,
            "GET /offers" => list_offers(app, &req).await,
            "GET /offers/{id}" => get_offer(app, &req).await,
            "GET /agreements" => list_agreements(app, &req).await,
            "GET /agreements/{id}" => get_agreement(app, &req).await,
            "GET /agreements/{id}/cancellation" => get_cancellation(app, &req).await,
            "GET /invoices" => list_invoices(app, &req).await,
            "GET /invoices/{id}" => get_invoice(app, &req).await,
            "GET /reports/sales" => sales_report(app, &req).await,
            "GET /reports/billing" => billing_report(app, &req).await,
            "GET /opportunities/{id}/changeset" => export_change_sets(app, &req).await,
            _ => unknown_route(&req),
        }
    })
    .await
}

const ALL_SIDES: &[Index] = &[Index::ByIsv, Index::ByReseller, Index::ByBuyer];

async fn list_opportunities(app: &App, req: &ApiRequest<'_>) -> Answer {
    let status = match req.query("status") {
        None => None,
        Some(raw) => Some(
            OpportunityStatus::parse(raw)
                .ok_or_else(|| ApiError::validation("status", "status must be draft, active, expired, restricted or complete"))?,
        ),
    };
    let streams = party_streams(&req.caller, OPPORTUNITY, &[Index::ByIsv, Index::ByReseller]);
    let list = page_request(req, &app.config, &streams)?;
    let now = app.now();
    let page =
        app.store.list(&streams, list.positions.clone(), list.limit, |o: &Opportunity| status.is_none_or(|s| o.status(now) == s)).await?;
    Ok((200, page_body(page, &list, |o| o.view(now))))
}

async fn get_opportunity(app: &App, req: &ApiRequest<'_>) -> Answer {
    let id = path_id(req, "id", IdKind::Opportunity, "opportunity")?;
    match app.store.load::<Opportunity>(OPPORTUNITY, id).await? {
        Some(o) if o.value.is_party(&req.caller) => Ok((200, o.value.view(app.now()))),
        _ => Err(ApiError::NotFound(format!("no opportunity {id}"))),
    }
}

async fn list_offers(app: &App, req: &ApiRequest<'_>) -> Answer {
    let streams = party_streams(&req.caller, OFFER, ALL_SIDES);
    let list = page_request(req, &app.config, &streams)?;
    let now = app.now();
    let page = app.store.list(&streams, list.positions.clone(), list.limit, |_: &Offer| true).await?;
    Ok((200, page_body(page, &list, |o| o.view(&req.caller, now))))
}

async fn get_offer(app: &App, req: &ApiRequest<'_>) -> Answer {
    let id = path_id(req, "id", IdKind::Offer, "offer")?;
    match app.store.load::<Offer>(OFFER, id).await? {
        Some(o) if o.value.party(&req.caller).is_some() => Ok((200, o.value.view(&req.caller, app.now()))),
        _ => Err(ApiError::NotFound(format!("no offer {id}"))),
    }
}

async fn list_agreements(app: &App, req: &ApiRequest<'_>) -> Answer {
    let streams = party_streams(&req.caller, AGREEMENT, ALL_SIDES);
    let list = page_request(req, &app.config, &streams)?;
    let now = app.now();
    let page = app.store.list(&streams, list.positions.clone(), list.limit, |_: &Agreement| true).await?;
    Ok((200, page_body(page, &list, |a| a.view(&req.caller, now))))
}

async fn get_agreement(app: &App, req: &ApiRequest<'_>) -> Answer {
    let id = path_id(req, "id", IdKind::Agreement, "agreement")?;
    match app.store.load::<Agreement>(AGREEMENT, id).await? {
        Some(a) if a.value.party(&req.caller).is_some() => Ok((200, a.value.view(&req.caller, app.now()))),
        _ => Err(ApiError::NotFound(format!("no agreement {id}"))),
    }
}

/// The agreement's latest cancellation request, to any party of it.
async fn get_cancellation(app: &App, req: &ApiRequest<'_>) -> Answer {
    let id = path_id(req, "id", IdKind::Agreement, "agreement")?;
    let a = app.store.load::<Agreement>(AGREEMENT, id).await?.ok_or_else(|| ApiError::NotFound(format!("no agreement {id}")))?;
    let cancellation = a.value.latest_cancellation(&req.caller)?;
    Ok((200, a.value.cancellation_view(cancellation)))
}

/// The caller's agreements accepted in `from..=to`, as ISV or reseller, newest first and paged.
async fn sales_report(app: &App, req: &ApiRequest<'_>) -> Answer {
    let (from, to) = report::period(req.query("from"), req.query("to"))?;
    let streams = agreements_accepted(&req.caller, &[Index::ByIsv, Index::ByReseller], from, to);
    let list = page_request(req, &app.config, &streams)?;
    let page = app.store.list(&streams, list.positions.clone(), list.limit, |_: &Agreement| true).await?;
    Ok((200, page_body(page, &list, |a| serde_json::to_value(report::row(a, &req.caller)).unwrap_or(Value::Null))))
}

/// The caller's invoices: its agreements' (newest first, as `GET /agreements` lists them), each
/// agreement's in issue order, upcoming ones included; or one agreement's alone.
async fn list_invoices(app: &App, req: &ApiRequest<'_>) -> Answer {
    let status = match req.query("status") {
        None => None,
        Some(raw) => {
            Some(InvoiceStatus::parse(raw).ok_or_else(|| ApiError::validation("status", "status must be scheduled, issued or cancelled"))?)
        }
    };
    let now = app.now();
    let expand = Expand { caller: &req.caller, now, status };
    if let Some(agreement_id) = req.query("agreementId") {
        if !IdKind::Agreement.is_valid(agreement_id) {
            return Err(ApiError::validation("agreementId", "agreementId is not an agreement id"));
        }
        let list = page_request(req, &app.config, &[])?;
        // Another party's agreement, or none: an empty list, as for any filter that matches nothing.
        let found = app.store.load::<Agreement>(AGREEMENT, agreement_id).await?.map(|a| a.value).filter(|a| a.party(&req.caller).is_some());
        let (items, next) = expand.page(found.as_slice(), &[Vec::new()], list.skip, list.limit, None);
        return Ok((200, expanded_body(items, next, &list)));
    }
    let streams = party_streams(&req.caller, AGREEMENT, ALL_SIDES);
    let list = page_request(req, &app.config, &streams)?;
    let page = app.store.list(&streams, list.positions.clone(), list.limit, |_: &Agreement| true).await?;
    // Where each agreement of the page starts: the request's positions, then after each one.
    let starts: Vec<Vec<Position>> = std::iter::once(list.positions.clone()).chain(page.marks.iter().cloned()).collect();
    let (items, next) = expand.page(&page.items, &starts, list.skip, list.limit, page.next.map(|n| (n, 0)));
    Ok((200, expanded_body(items, next, &list)))
}

/// Turns a page of agreements into a page of their invoices.
struct Expand<'a> {
    caller: &'a AccountId,
    now: DateTime<Utc>,
    status: Option<InvoiceStatus>,
}

type Resume = Option<(Vec<Position>, u32)>;

impl Expand<'_> {
    /// Up to `limit` invoices of `agreements`, passing over the first one's first `skip`; when
    /// the page fills inside an agreement, the next page resumes there (`starts[j]`, and how many
    /// of its invoices were given), else at `after`.
    fn page(&self, agreements: &[Agreement], starts: &[Vec<Position>], skip: u32, limit: usize, after: Resume) -> (Vec<Value>, Resume) {
        let mut items = Vec::new();
        for (j, a) in agreements.iter().enumerate() {
            let from = if j == 0 { skip as usize } else { 0 };
            for (k, i) in invoice::invoices(a, self.now).iter().enumerate().skip(from) {
                if self.status.is_some_and(|s| i.status != s) {
                    continue;
                }
                if items.len() == limit {
                    let resume = starts.get(j).cloned().unwrap_or_default();
                    return (items, Some((resume, u32::try_from(k).unwrap_or(u32::MAX))));
                }
                items.push(i.view(self.caller));
            }
        }
        (items, after)
    }
}

async fn get_invoice(app: &App, req: &ApiRequest<'_>) -> Answer {
    let id = req.path_param("id");
    let missing = || ApiError::NotFound(format!("no invoice {id}"));
    let agreement_id = invoice::agreement_of(id).ok_or_else(missing)?;
    let a = app.store.load::<Agreement>(AGREEMENT, &agreement_id).await?.ok_or_else(missing)?.value;
    if a.party(&req.caller).is_none() {
        return Err(missing());
    }
    let found = invoice::invoices(&a, app.now()).into_iter().find(|i| i.invoice_id == id).ok_or_else(missing)?;
    Ok((200, found.view(&req.caller)))
}

/// The caller's invoices issued in `from..=to`, as ISV or reseller, one row each, newest first.
async fn billing_report(app: &App, req: &ApiRequest<'_>) -> Answer {
    let (from, to) = report::period(req.query("from"), req.query("to"))?;
    let streams = invoices_issued(&req.caller, &[Index::ByIsv, Index::ByReseller], from, to);
    let list = page_request(req, &app.config, &streams)?;
    let page = app.store.list(&streams, list.positions.clone(), list.limit, |_: &StoredInvoice| true).await?;
    Ok((200, page_body(page, &list, |i| serde_json::to_value(report::billing_row(&i.invoice, &req.caller)).unwrap_or(Value::Null))))
}

/// The Catalog API change sets that would publish the opportunity, one per product (ISV only).
async fn export_change_sets(app: &App, req: &ApiRequest<'_>) -> Answer {
    let id = path_id(req, "id", IdKind::Opportunity, "opportunity")?;
    let source = app.store.load::<Opportunity>(OPPORTUNITY, id).await?.ok_or_else(|| ApiError::NotFound(format!("no opportunity {id}")))?;
    // Outsiders get 404 and the reseller 403, from the same rule that guards revoke and clone.
    let export = catalog::export(source.value.for_isv(&req.caller, "export")?);
    Ok((200, serde_json::json!({"changeSets": export.change_sets, "warnings": export.warnings})))
}
