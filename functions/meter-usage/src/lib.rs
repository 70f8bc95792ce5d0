//! `POST /agreements/{id}/usage`: the ISV's software reports metered usage, as it would to AWS
//! Marketplace's `BatchMeterUsage`. Each record gets its own result, in order; the records taken
//! go in one transaction with the agreement still active, so a report is taken whole or not at
//! all, and a second report of the same dimension and hour (a retry) counts nothing twice.

use aws_lambda_events::apigw::{ApiGatewayV2httpRequest, ApiGatewayV2httpResponse};
use cppo_domain::agreement::Agreement;
use cppo_domain::ids::IdKind;
use cppo_domain::usage::{meter, Metering, UsageInput};
use cppo_platform::api::{commit_or_refused, path_id, until_committed, Step};
use cppo_platform::http::{unknown_route, ApiError, ApiRequest};
use cppo_platform::idempotent::serve;
use cppo_platform::store::{metering_writes, Outcome, StoreError, AGREEMENT};
use cppo_platform::App;
use serde_json::{json, Value};

pub async fn handle(app: &App, event: ApiGatewayV2httpRequest) -> ApiGatewayV2httpResponse {
    serve(app, &event, |req| async move {
        match req.route_key() {
            "POST /agreements/{id}/usage" => report(app, &req).await,
            _ => unknown_route(&req),
        }
    })
    .await
}

async fn report(app: &App, req: &ApiRequest<'_>) -> Result<(u16, Value), ApiError> {
    let input: UsageInput = req.body()?;
    let id = path_id(req, "id", IdKind::Agreement, "agreement")?;
    let body = until_committed(|| async {
        let read = app.store.load::<Agreement>(AGREEMENT, id).await?.ok_or_else(|| ApiError::NotFound(format!("no agreement {id}")))?;
        let now = app.now();
        let mut results = meter(&read.value, &req.caller, &input, now)?;
        take(app, req, &read.value, &mut results, now).await?;
        Ok(json!({"results": results.iter().map(Metering::result).collect::<Vec<_>>()}))
    })
    .await?;
    Ok((200, body))
}

/// Writes the records `results` takes. A record whose dimension and hour were already taken
/// becomes a `DuplicateRecord` and the rest are written again; the agreement no longer active
/// is a lost race, decided afresh.
async fn take(
    app: &App,
    req: &ApiRequest<'_>,
    a: &Agreement,
    results: &mut [Metering],
    now: chrono::DateTime<chrono::Utc>,
) -> Result<(), Step> {
    loop {
        let taken: Vec<usize> = (0..results.len()).filter(|i| matches!(results[*i], Metering::Take(_))).collect();
        if taken.is_empty() {
            return Ok(());
        }
        let records: Vec<_> =
            taken.iter().filter_map(|i| if let Metering::Take(u) = &results[*i] { Some(u.clone()) } else { None }).collect();
        let writes = metering_writes(a, &records, now)?;
        let check = writes.len() - 1;
        let body = json!({"results": results.iter().map(Metering::result).collect::<Vec<_>>()});
        match commit_or_refused(app, req, writes, 200, &body).await? {
            Outcome::Written => return Ok(()),
            Outcome::Refused(at) if at.contains(&check) => return Err(StoreError::Conflict.into()),
            Outcome::Refused(at) => {
                let duplicates: Vec<usize> = at.into_iter().filter(|p| *p < taken.len()).collect();
                if duplicates.is_empty() {
                    return Err(StoreError::Conflict.into());
                }
                for position in duplicates {
                    results[taken[position]] = Metering::Duplicate;
                }
            }
        }
    }
}
