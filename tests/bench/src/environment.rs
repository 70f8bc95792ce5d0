//! A function's environment as the SAM template sets it, with a local stack's values.

use cppo_platform::config::{
    ACCOUNT_CLAIM, DEAD_LETTER_QUEUE_URL, DOCUMENT_BUCKET, FEE_SCHEDULE, QUEUE_URL, SENDER_EMAIL, TABLE_NAME, TOKEN_KEY,
};
use cppo_platform::App;
use serde_yaml::Value;

pub const TEMPLATE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../infra/template.yaml");

pub fn template() -> Result<Value, String> {
    let text = std::fs::read_to_string(TEMPLATE).map_err(|e| format!("{TEMPLATE}: {e}"))?;
    serde_yaml::from_str(&text).map_err(|e| format!("{TEMPLATE}: {e}"))
}

/// Every variable the template gives `function`, valued from the local stack's `app`; a variable
/// this does not know is an error, so a new one cannot silently go unset here.
pub fn template_environment(template: &Value, function: &str, app: &App) -> Result<Vec<(String, String)>, String> {
    let config = &app.config;
    local_gateway::provision::function_variables(template, function)?
        .into_iter()
        .map(|name| {
            let value = match name.as_str() {
                TABLE_NAME => config.table_name.clone(),
                QUEUE_URL => config.queue_url.clone().unwrap_or_default(),
                DEAD_LETTER_QUEUE_URL => config.dead_letter_queue_url.clone().unwrap_or_default(),
                ACCOUNT_CLAIM => config.account_claim.clone(),
                FEE_SCHEDULE => String::new(),
                SENDER_EMAIL => config.sender_email.clone().unwrap_or_default(),
                TOKEN_KEY => config.token_key.clone().unwrap_or_default(),
                DOCUMENT_BUCKET => app.bucket.as_ref().map(|b| b.name().to_string()).unwrap_or_default(),
                other => return Err(format!("the template sets {other} for {function}; give it a value in {}", file!())),
            };
            Ok((name, value))
        })
        .collect()
}

/// All a function's process gets: Lambda's variables, then the template's valued from `config`.
pub fn function_environment(function: &str, endpoint_url: &str, app: &App) -> Result<Vec<(String, String)>, String> {
    let mut env = crate::runtime_api::lambda_environment(function, endpoint_url);
    env.extend(template_environment(&template()?, function, app)?);
    Ok(env)
}

/// The function binaries: every crate under functions/, named after its folder.
pub fn functions(root: &std::path::Path) -> Result<Vec<String>, String> {
    let mut names: Vec<String> = std::fs::read_dir(root.join("functions"))
        .map_err(|e| e.to_string())?
        .filter_map(|entry| entry.ok())
        .filter(|entry| entry.path().is_dir())
        .filter_map(|entry| entry.file_name().into_string().ok())
        .collect();
    names.sort();
    Ok(names)
}
