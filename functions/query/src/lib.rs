//! Every read of opportunities, offers, agreements and invoices: one read-only function, each party seeing
//! only what is theirs (404 to outsiders) and the buyer never a wholesale figure.

use aws_lambda_events::apigw::{ApiGatewayV2httpRequest, ApiGatewayV2httpResponse};
use chrono::{DateTime, Utc};
use cppo_domain::agreement::Agreement;
use cppo_domain::ids::IdKind;
use cppo_domain::invoice::{self, InvoiceStatus};
use cppo_domain::offer::Offer;
use cppo_domain::opportunity::{LegalFile, Opportunity, OpportunityStatus};
use cppo_domain::AccountId;
use cppo_domain::DomainResult;
use cppo_domain::{catalog, report};
use cppo_platform::api::{expanded_body, page_body, page_request, path_id, ListRequest};
use cppo_platform::http::{serve, unknown_route, ApiError, ApiRequest};
use cppo_platform::store::{
    agreements_accepted, invoices_issued, party_streams, Index, Position, StoredInvoice, AGREEMENT, OFFER, OPPORTUNITY,
};
use cppo_platform::token::Within;
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
            "GET /opportunities/{id}/eula" => opportunity_legal(app, &req, Opportunity::eula_file).await,
            "GET /opportunities/{id}/reseller-agreement" => opportunity_legal(app, &req, Opportunity::reseller_agreement_file).await,
            "GET /offers/{id}/eula" => offer_eula(app, &req).await,
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

/// A legal term of an opportunity, to its ISV and reseller alone: to a buyer, even the offer's,
/// it does not exist.
async fn opportunity_legal(app: &App, req: &ApiRequest<'_>, file: fn(&Opportunity) -> DomainResult<LegalFile<'_>>) -> Answer {
    let id = path_id(req, "id", IdKind::Opportunity, "opportunity")?;
    match app.store.load::<Opportunity>(OPPORTUNITY, id).await? {
        Some(o) if o.value.is_party(&req.caller) => legal_answer(app, file(&o.value)?, &format!("{id}.pdf")).await,
        _ => Err(ApiError::NotFound(format!("no opportunity {id}"))),
    }
}

/// The EULA an offer's buyer accepts: its authorization's, to the offer's three parties.
async fn offer_eula(app: &App, req: &ApiRequest<'_>) -> Answer {
    let id = path_id(req, "id", IdKind::Offer, "offer")?;
    let offer = match app.store.load::<Offer>(OFFER, id).await? {
        Some(o) if o.value.party(&req.caller).is_some() => o.value,
        _ => return Err(ApiError::NotFound(format!("no offer {id}"))),
    };
    let opportunity = app.store.load::<Opportunity>(OPPORTUNITY, &offer.opportunity_id).await?.ok_or_else(|| {
        tracing::error!(offer = id, "an offer's opportunity is missing");
        ApiError::Internal
    })?;
    legal_answer(app, opportunity.value.eula_file()?, &format!("eula-{id}.pdf")).await
}

/// `{url, sha256?, expiresAt?, documents?}`: a compiled file by a presigned GET, good 5 minutes.
async fn legal_answer(app: &App, file: LegalFile<'_>, file_name: &str) -> Answer {
    let body = match file {
        LegalFile::Public(url) => serde_json::json!({ "url": url }),
        LegalFile::Hosted(urls) => serde_json::json!({
            "url": urls[0],
            "documents": urls.iter().map(|u| serde_json::json!({ "url": u })).collect::<Vec<_>>(),
        }),
        LegalFile::Compiled(compiled) => {
            let download = app.bucket()?.presign_download(compiled, file_name).await?;
            serde_json::json!({
                "url": download.url,
                "sha256": compiled.sha256,
                "expiresAt": cppo_domain::time::stamp(download.expires_at),
            })
        }
    };
    Ok((200, body))
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
/// agreement's in its own order, upcoming ones included; or one agreement's alone. A page may stop
/// inside an agreement: the next resumes there, by the agreement's id.
async fn list_invoices(app: &App, req: &ApiRequest<'_>) -> Answer {
    let status = match req.query("status") {
        None => None,
        Some(raw) => {
            Some(InvoiceStatus::parse(raw).ok_or_else(|| ApiError::validation("status", "status must be scheduled, issued or cancelled"))?)
        }
    };
    if let Some(agreement_id) = req.query("agreementId") {
        if !IdKind::Agreement.is_valid(agreement_id) {
            return Err(ApiError::validation("agreementId", "agreementId is not an agreement id"));
        }
        let list = page_request(req, &app.config, &[])?;
        let mut page = InvoicePage::new(app, req, status, list.limit);
        // Another party's agreement, or none: an empty list, as for any filter that matches nothing.
        if let Some(a) = party_agreement(app, req, agreement_id).await? {
            page.take(&a, skip_of(&list, agreement_id), &[]);
        }
        return Ok((200, expanded_body(page.items, page.next, &list)));
    }
    let streams = party_streams(&req.caller, AGREEMENT, ALL_SIDES);
    let list = page_request(req, &app.config, &streams)?;
    let mut page = InvoicePage::new(app, req, status, list.limit);
    if let Some((id, skip)) = &list.within {
        if let Some(a) = party_agreement(app, req, id).await? {
            page.take(&a, *skip as usize, &list.positions);
        }
        if page.items.len() == page.limit && page.next.is_none() {
            page.next = Some((list.positions.clone(), None));
        }
    }
    if page.next.is_none() {
        let agreements = app.store.list(&streams, list.positions.clone(), list.limit, |_: &Agreement| true).await?;
        let whole = agreements.items.iter().zip(&agreements.marks).all(|(a, after)| page.take(a, 0, after));
        if whole {
            page.next = agreements.next.map(|positions| (positions, None));
        }
    }
    Ok((200, expanded_body(page.items, page.next, &list)))
}

/// An agreement by id, when the caller is a party to it.
async fn party_agreement(app: &App, req: &ApiRequest<'_>, id: &str) -> Result<Option<Agreement>, ApiError> {
    if !IdKind::Agreement.is_valid(id) {
        return Ok(None);
    }
    Ok(app.store.load::<Agreement>(AGREEMENT, id).await?.map(|a| a.value).filter(|a| a.party(&req.caller).is_some()))
}

fn skip_of(list: &ListRequest<'_>, agreement_id: &str) -> usize {
    list.within.as_ref().filter(|(id, _)| id == agreement_id).map_or(0, |(_, skip)| *skip as usize)
}

/// A page of invoices filled from agreements, one at a time.
struct InvoicePage<'a> {
    caller: &'a AccountId,
    now: DateTime<Utc>,
    status: Option<InvoiceStatus>,
    limit: usize,
    items: Vec<Value>,
    next: Option<(Vec<Position>, Option<Within>)>,
}

impl<'a> InvoicePage<'a> {
    fn new(app: &App, req: &'a ApiRequest<'_>, status: Option<InvoiceStatus>, limit: usize) -> Self {
        InvoicePage { caller: &req.caller, now: app.now(), status, limit, items: Vec::new(), next: None }
    }

    /// Takes `a`'s invoices from its `skip`-th. When the page fills before the last, the next
    /// page resumes inside `a` (then at `after`, the list's positions after `a`): false.
    fn take(&mut self, a: &Agreement, skip: usize, after: &[Position]) -> bool {
        for (k, i) in invoice::invoices(a, self.now).iter().enumerate().skip(skip) {
            if self.status.is_some_and(|s| i.status != s) {
                continue;
            }
            if self.items.len() == self.limit {
                self.next = Some((after.to_vec(), Some((a.agreement_id.clone(), u32::try_from(k).unwrap_or(u32::MAX)))));
                return false;
            }
            self.items.push(i.view(self.caller));
        }
        true
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
