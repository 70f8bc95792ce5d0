//! Hands an API Gateway event to the function the route table names, exactly as Lambda would.

use aws_lambda_events::apigw::{ApiGatewayV2httpRequest, ApiGatewayV2httpResponse};
use cppo_platform::App;

pub async fn invoke(function: &str, app: &App, event: ApiGatewayV2httpRequest) -> Option<ApiGatewayV2httpResponse> {
    Some(match function {
        "sellers" => Box::pin(fn_sellers::handle(app, event)).await,
        "create-opportunity" => Box::pin(fn_create_opportunity::handle(app, event)).await,
        "update-opportunity" => Box::pin(fn_update_opportunity::handle(app, event)).await,
        "extend-offer" => Box::pin(fn_extend_offer::handle(app, event)).await,
        "update-offer" => Box::pin(fn_update_offer::handle(app, event)).await,
        "accept-offer" => Box::pin(fn_accept_offer::handle(app, event)).await,
        "cancel-agreement" => Box::pin(fn_cancel_agreement::handle(app, event)).await,
        "meter-usage" => Box::pin(fn_meter_usage::handle(app, event)).await,
        "documents" => Box::pin(fn_documents::handle(app, event)).await,
        "query" => Box::pin(fn_query::handle(app, event)).await,
        _ => return None,
    })
}
